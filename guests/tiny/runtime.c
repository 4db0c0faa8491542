// SPDX-License-Identifier: MIT
/*
 * The C half of the runtime. tiny_user_start runs at CPL3: start.S drops there as soon as the
 * descriptor tables are loaded, so even the IDT is filled in at native speed on PVM hosts. The
 * exception report runs at CPL0, where port I/O works whatever the host does with IOPL.
 */
#include "guests/tiny/abi.h"
#include "guests/tiny/tiny.h"

struct idt_gate {
    uint16_t off_lo;
    uint16_t sel;
    uint8_t ist;
    uint8_t type;
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t reserved;
};

/* What `int` from CPL3 pushes at the top of the kernel stack, which is where a kcall finds it. */
struct iret_frame {
    uint64_t rip, cs, rflags, rsp, ss;
};

#define GATE_INTR64 0x8e /* present 64-bit interrupt gate: IF stays clear in handlers */

extern struct idt_gate tiny_idt[TINY_IDT_ENTRIES];
extern const uint64_t tiny_exc_stubs[32];
extern char tiny_kcall_entry[];
extern char tiny_kstacks[];

/* Set by start.S's exception path on entry (one byte per CPU), so it can tell a nested fault. */
unsigned char tiny_exc_busy[TINY_MAX_CPUS];
void (*tiny_exception_hook)(unsigned int vec, uint64_t rip);

/* Entered from start.S: the first by iretq at CPL3, the second by a call at CPL0. */
__attribute__((noreturn)) void tiny_user_start(unsigned int cpu, const char *cmdline);
__attribute__((noreturn)) void tiny_exception_report(unsigned int vec, uint64_t rip, uint64_t err);

static void set_gate(unsigned int vec, uint64_t handler, unsigned int dpl)
{
    volatile struct idt_gate *g = &tiny_idt[vec];

    g->off_lo = (uint16_t)handler;
    g->sel = SEL_KCODE;
    g->ist = 0;
    g->type = (uint8_t)(GATE_INTR64 | dpl << 5);
    g->off_mid = (uint16_t)(handler >> 16);
    g->off_hi = (uint32_t)(handler >> 32);
    g->reserved = 0;
}

/* A kcall: its own iretq then returns to CPL3 with IOPL 0, as some PVM hosts run CPL3 anyway. */
static void drop_iopl(void *cpu)
{
    char *kstack_top = tiny_kstacks + (((uintptr_t)cpu + 1) << TINY_KSTACK_SHIFT);
    struct iret_frame *frame = (struct iret_frame *)kstack_top - 1;

    frame->rflags &= ~(uint64_t)TINY_RFLAGS_IOPL;
}

void tiny_user_start(unsigned int cpu, const char *cmdline)
{
    char iopl[4];

    /*
     * Every vCPU writes the same gates: the stores are identical, so a vCPU that is already
     * done sees no change, and none of them can fault before its own copy is complete.
     */
    for (unsigned int v = 0; v < 32; v++)
        set_gate(v, tiny_exc_stubs[v], v == 3 ? 3 : 0);
    set_gate(TINY_VEC_KCALL, (uintptr_t)tiny_kcall_entry, 3);

    if (!cmdline)
        cmdline = "";
    if (cmdline_get(cmdline, "tiny.iopl", iopl, sizeof(iopl)) && iopl[0] == '0' && !iopl[1])
        tiny_kcall(drop_iopl, (void *)(uintptr_t)cpu);
    exit(main(cpu, cmdline));
}

void tiny_exception_report(unsigned int vec, uint64_t rip, uint64_t err)
{
    /*
     * The faulting vCPU may hold the lock itself, so wait for it only so long: the wait is
     * emulated on PVM hosts, and a line printed by another vCPU takes a few milliseconds at most.
     */
    for (int i = 0; i < 20000 && !spin_trylock(&print_lock); i++)
        cpu_relax();
    printf_unlocked("tiny: exception %u at 0x%lx err 0x%lx\n", vec, rip, err);
    if (tiny_exception_hook)
        tiny_exception_hook(vec, rip);
    exit(TINY_EXIT_EXCEPTION + (int)vec);
}

void tiny_kcall(void (*fn)(void *), void *arg)
{
    __asm__ volatile("int %[vec]"
                     : "+a"(fn), "+D"(arg)
                     : [vec] "i"(TINY_VEC_KCALL)
                     : "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory", "cc");
}
