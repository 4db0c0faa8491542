/* SPDX-License-Identifier: MIT */
/*
 * The code that runs at CPL0: both boot entries, the switch to the runtime's own descriptor and
 * page tables, the iretq to CPL3, kcalls, and the exception path. On PVM hosts every CPL0
 * instruction is emulated, so the way in stays a few dozen instructions and the work lives at CPL3;
 * only the exception path, which ends the guest, takes longer there.
 */
#include "firmware/layout.h"
#include "guests/tiny/abi.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC          0x336ec578
#define HVM_START_CMDLINE        24    /* hvm_start_info.cmdline_paddr */
#define BP_EXT_CMD_LINE_PTR      0x0c8 /* boot_params.ext_cmd_line_ptr */
#define BP_CMD_LINE_PTR          0x228 /* boot_params.hdr.cmd_line_ptr */
#define MSR_EFER                 0xc0000080
#define EFER_LME                 (1 << 8)
#define CR4_PAE                  (1 << 5)
#define CR0_PE_PG                0x80000001

/* --- ELF notes: both go into the PT_NOTE segment (see tiny.ld.S) ------------------------- */
    .section .note.tiny, "a", @note
    .balign 4
    .long 2f - 1f
    .long 4f - 3f
    .long XEN_ELFNOTE_PHYS32_ENTRY
1:  .asciz "Xen"
2:  .balign 4
    /* 8 bytes like Linux's note: QEMU reads a whole word from ELF64 PVH notes */
3:  .quad tiny_entry_pvh
4:  .balign 4

    .long 2f - 1f
    .long 4f - 3f
    .long KVMINI_NOTE_ENTRY64
1:  .asciz KVMINI_NOTE_NAME
2:  .balign 4
3:  .quad tiny_entry64
    .quad KVMINI_NOTE_F_ALL_VCPUS
4:  .balign 4

    .section .text.entry, "ax", @progbits

/*
 * PVH entry (QEMU, BSP only): 32-bit protected mode, paging off, EBX = hvm_start_info.
 * The runtime's page tables are static and identity-mapped, so they can go straight into CR3.
 */
    .code32
    .globl tiny_entry_pvh
tiny_entry_pvh:
    cli
    cld
    xorl    %esi, %esi
    cmpl    $HVM_START_MAGIC, (%ebx)
    jne     1f
    movl    HVM_START_CMDLINE(%ebx), %esi
1:  lgdt    tiny_gdt_ptr
    movl    %cr4, %eax
    orl     $CR4_PAE, %eax
    movl    %eax, %cr4
    movl    $tiny_pml4, %eax
    movl    %eax, %cr3
    movl    $MSR_EFER, %ecx
    rdmsr
    orl     $EFER_LME, %eax
    wrmsr
    movl    %cr0, %eax
    orl     $CR0_PE_PG, %eax
    movl    %eax, %cr0
    ljmp    $SEL_KCODE, $1f
    .code64
1:  movl    %esi, %r12d
    jmp     common64

/*
 * KVMINI-note entry: long mode on kvmini's supervisor-only tables, RSP undefined, every vCPU at
 * once with RSI = boot_params. The cmdline pointer is read before anything clobbers RSI.
 */
    .globl tiny_entry64
tiny_entry64:
    cli
    cld
    xorl    %r12d, %r12d
    testq   %rsi, %rsi
    jz      1f
    movl    BP_CMD_LINE_PTR(%rsi), %r12d
    movl    BP_EXT_CMD_LINE_PTR(%rsi), %eax
    shlq    $32, %rax
    orq     %rax, %r12
1:  lgdt    tiny_gdt_ptr(%rip)

/* Both entries: our GDT is loaded, CS = SEL_KCODE, R12 = cmdline (or 0), no stack yet. */
common64:
    movl    $1, %eax
    cpuid
    shrl    $24, %ebx                   /* EBX = initial APIC id, for the rest of this path */
    cmpl    $TINY_MAX_CPUS, %ebx
    jae     park

    movl    $SEL_KDATA, %eax
    movl    %eax, %ss
    movl    %eax, %ds
    movl    %eax, %es
    xorl    %eax, %eax
    movl    %eax, %fs
    movl    %eax, %gs
    leal    1(%rbx), %eax
    shlq    $TINY_KSTACK_SHIFT, %rax
    leaq    tiny_kstacks(%rip), %rsp
    addq    %rax, %rsp
    /*
     * No far return to reload CS: both entries already run on selector SEL_KCODE with a 64-bit
     * descriptor, and the iretq below loads the only CS that matters from here on.
     */
    leaq    tiny_pml4(%rip), %rax
    movq    %rax, %cr3

    /*
     * This CPU's TSS descriptor. Its base is split across the descriptor, which static
     * relocations cannot express, so each CPU writes its own slot (no two CPUs share one).
     */
    movl    %ebx, %eax
    shll    $TINY_TSS_STRIDE_SHIFT, %eax
    leaq    tiny_tss(%rip), %rdx
    addq    %rax, %rdx                  /* RDX = TSS base */
    movq    %rdx, %rax
    andl    $0xffffff, %eax
    shlq    $16, %rax
    movq    %rdx, %rcx
    shrq    $24, %rcx
    movzbl  %cl, %ecx
    shlq    $56, %rcx
    orq     %rcx, %rax
    movl    $TINY_MAX_CPUS, %ecx        /* limit: this TSS's I/O map base (tables.S) ... */
    subl    %ebx, %ecx
    shll    $TINY_TSS_STRIDE_SHIFT, %ecx
    addl    $TINY_IOMAP_BYTES, %ecx     /* ... plus the bitmap: its closing 0xff byte is the last */
    orq     %rcx, %rax
    movabsq $0x0000890000000000, %rcx   /* present, available 64-bit TSS */
    orq     %rcx, %rax
    shrq    $32, %rdx
    movl    %ebx, %ecx
    shll    $4, %ecx
    leaq    tiny_gdt + SEL_TSS0(%rip), %rdi
    addq    %rcx, %rdi
    movq    %rax, (%rdi)
    movq    %rdx, 8(%rdi)
    addl    $SEL_TSS0, %ecx
    ltr     %cx
    lidt    tiny_idt_ptr(%rip)

    /* iretq frame for CPL3: main's stack is 16-aligned minus the return slot a call leaves */
    leal    1(%rbx), %eax
    shlq    $TINY_USTACK_SHIFT, %rax
    leaq    tiny_ustacks - 8(%rip), %rcx
    addq    %rcx, %rax
    pushq   $(SEL_UDATA | 3)
    pushq   %rax
    pushq   $TINY_USER_RFLAGS
    pushq   $(SEL_UCODE | 3)
    leaq    tiny_user_start(%rip), %rax
    pushq   %rax
    movl    $(SEL_UDATA | 3), %eax
    movl    %eax, %ds
    movl    %eax, %es
    movl    %ebx, %edi
    movq    %r12, %rsi
    iretq

park:
    cli
    hlt
    jmp     park

/*
 * Exception stubs: CPU frame (plus error code where the CPU pushes none), then the vector.
 * Reporting happens here at CPL0, where port I/O needs no permission, so a guest whose CPL3 port
 * I/O faults still says why. It is emulated on PVM hosts, but only runs once, at the end.
 */
    .text
.macro EXC_STUB vec
    .balign 16
tiny_exc\vec:
    .if !(\vec == 8 || \vec == 10 || \vec == 11 || \vec == 12 || \vec == 13 || \vec == 14 || \
          \vec == 17 || \vec == 21 || \vec == 29 || \vec == 30)
    pushq   $0
    .endif
    pushq   $\vec
    jmp     exc_common
.endm

.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    EXC_STUB \v
.endr

exc_common:
    popq    %rdi                        /* vector */
    popq    %rdx                        /* error code */
    movq    (%rsp), %rsi                /* faulting RIP */
    /* The CPU index comes from TR: it is the one per-CPU thing every CPL0 path has set. */
    xorl    %ecx, %ecx
    str     %cx
    subl    $SEL_TSS0, %ecx
    shrl    $4, %ecx
    andl    $(TINY_MAX_CPUS - 1), %ecx  /* CPU index */
    /*
     * An exception while this CPU is already in here means the runtime's own CPL0 path is broken:
     * end the VM now, with as few instructions as possible, rather than fault in a loop.
     */
    movb    $1, %al
    leaq    tiny_exc_busy(%rip), %r8
    xchgb   %al, (%r8,%rcx)
    testb   %al, %al
    jnz     nested_fault
    andq    $-16, %rsp
    call    tiny_exception_report       /* does not return */
nested_fault:
    movl    $PORT_DEBUG_EXIT, %edx
    movl    $TINY_EXIT_NESTED_FAULT, %eax
    outb    %al, %dx
1:  hlt                                 /* IF is clear: a halt for good, if the exit failed */
    jmp     1b

/* kcall: RAX = function, RDI = its argument; the CPU pushed 5 words, so realign for the call. */
    .globl tiny_kcall_entry
tiny_kcall_entry:
    subq    $8, %rsp
    call    *%rax
    addq    $8, %rsp
    iretq

    .section .rodata
    .balign 8
    .globl tiny_exc_stubs
tiny_exc_stubs:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad   tiny_exc\v
.endr

    .section .note.GNU-stack, "", @progbits
