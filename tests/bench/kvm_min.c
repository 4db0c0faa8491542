// SPDX-License-Identifier: MIT
/*
 * kvm-min: the smallest possible VMM, the cold-start benchmark's lower bound (make bench). It opens
 * /dev/kvm, makes a VM with 2 MiB of RAM and one vCPU, and runs a 4-byte guest, `out %al, $0x80;
 * jmp .`, to its first exit. The guest starts in 64-bit mode at CPL3, as kvmini's tiny guests run
 * their code, so that it runs on every KVM this project meets: PVM emulates CPL0 code and some PVMs
 * ignore IOPL at CPL3, hence a TSS whose I/O bitmap allows every port. No ELF, no threads, no
 * devices: everything kvmini does on top of this, the exit-only tiny guest's runtime included, is
 * what the benchmark calls kvmini's own cost.
 *
 * Exit status: 0 when the guest's port write arrived, 1 on any failure.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define RAM_SIZE   (2u << 20)
#define PML4       0x1000u
#define PDPT       0x2000u
#define PD         0x3000u
#define TSS        0x4000u
#define TSS_IOMAP  0x68u                   /* the I/O bitmap follows the 104-byte TSS */
#define TSS_LIMIT  (TSS_IOMAP + 65536 / 8) /* 8 KiB of zero bits and a final 0xff */
#define CODE       0x8000u
#define PTE_P_RW_U 0x7u
#define PDE_2M     0x80u
#define EXIT_PORT  0x80

static int fail(const char *what)
{
    perror(what);
    return 1;
}

static struct kvm_segment user_segment(uint16_t selector, uint8_t type, int code)
{
    return (struct kvm_segment){ .base = 0,
                                 .limit = 0xffffffff,
                                 .selector = selector,
                                 .type = type,
                                 .present = 1,
                                 .dpl = 3,
                                 .s = 1,
                                 .l = code,
                                 .db = !code,
                                 .g = 1 };
}

int main(void)
{
    static const uint8_t guest[] = { 0xe6, EXIT_PORT, 0xeb, 0xfe }; /* out %al,$0x80; jmp . */
    struct kvm_sregs sregs;
    struct kvm_regs regs = { .rip = CODE, .rflags = 0x3002 }; /* IOPL 3 */
    struct kvm_run *run;
    uint8_t *ram;
    int kvm, vm, vcpu, run_size;

    kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        return fail("/dev/kvm");
    vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        return fail("KVM_CREATE_VM");
    ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ram == MAP_FAILED)
        return fail("mmap");
    struct kvm_userspace_memory_region slot = { .memory_size = RAM_SIZE,
                                                .userspace_addr = (uintptr_t)ram };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
        return fail("KVM_SET_USER_MEMORY_REGION");

    /* One 2 MiB user page maps all of RAM at address 0. */
    *(uint64_t *)(ram + PML4) = PDPT | PTE_P_RW_U;
    *(uint64_t *)(ram + PDPT) = PD | PTE_P_RW_U;
    *(uint64_t *)(ram + PD) = PDE_2M | PTE_P_RW_U;
    *(uint16_t *)(ram + TSS + 0x66) = TSS_IOMAP;
    ram[TSS + TSS_LIMIT] = 0xff;
    memcpy(ram + CODE, guest, sizeof(guest));

    vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vcpu < 0 || run_size < 0)
        return fail("KVM_CREATE_VCPU");
    run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        return fail("mmap kvm_run");
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
        return fail("KVM_GET_SREGS");
    sregs.cr3 = PML4;
    sregs.cr4 = 1u << 5;             /* PAE */
    sregs.cr0 = 0x80000001u | 0x10u; /* PG, PE, ET */
    sregs.efer = 0x500;              /* LME, LMA */
    sregs.cs = user_segment(0x1b, 0xb, 1);
    sregs.ss = user_segment(0x23, 0x3, 0);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss;
    sregs.tr = (struct kvm_segment){
        .base = TSS, .limit = TSS_LIMIT, .selector = 0x28, .type = 0xb, .present = 1
    }; /* busy 64-bit TSS */
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        return fail("KVM_SET_SREGS/REGS");
    if (ioctl(vcpu, KVM_RUN, 0) < 0)
        return fail("KVM_RUN");
    if (run->exit_reason != KVM_EXIT_IO || run->io.port != EXIT_PORT) {
        fprintf(stderr, "kvm-min: unexpected exit %u\n", run->exit_reason);
        return 1;
    }
    return 0;
}
