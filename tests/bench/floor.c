// SPDX-License-Identifier: MIT
/*
 * kvm-floor: the cheapest VMM that can still run kvmini's tiny guests, as a baseline for the
 * benchmarks. One thread, one vCPU, one memslot, no irqchip, no event loop, no device buses: the
 * few ports the guests use are answered inline in the KVM_RUN loop. Whatever kvmini costs on top
 * of this program is the price of its design.
 *
 *   kvm-floor [--mem-report] KERNEL.elf [CMDLINE]
 *
 * Exit status: the byte the guest wrote to the debug-exit port, 1 on any failure, 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware/boot.h"
#include "firmware/elf_load.h"
#include "firmware/layout.h"
#include "vmm/mem/gmem.h"
#include "vmm/core/stats.h"

#define FLOOR_RAM_SIZE   (128ULL << 20)
#define FLOOR_CPUID_MAX  256
#define HV_LEAF_BASE     0x40000000u
#define HV_LEAF_TIMING   0x40000010u /* EAX: TSC kHz, EBX: APIC bus kHz, as kvmini sets them */
#define KVM_APIC_BUS_KHZ 1000000u
#define UART_LSR         5
#define UART_LSR_IDLE    0x60 /* THR empty, transmitter empty */

struct floor {
    int kvm_fd;
    int vm_fd;
    int vcpu_fd;
    struct kvm_run *run;
    size_t run_size;
    struct gmem mem;
    void *file;
    size_t file_size;
};

static int map_file(struct floor *f, const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
    } else if (st.st_size <= 0) {
        rc = -ENOEXEC;
    } else {
        f->file = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (f->file == MAP_FAILED) {
            rc = -errno;
            f->file = NULL;
        } else {
            f->file_size = (size_t)st.st_size;
        }
    }
    close(fd);
    return rc;
}

static int create_vm(struct floor *f)
{
    struct kvm_userspace_memory_region slot;
    int rc;

    f->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (f->kvm_fd < 0)
        return -errno;
    if (ioctl(f->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
        return -ENOTSUP;
    f->vm_fd = ioctl(f->kvm_fd, KVM_CREATE_VM, 0UL);
    if (f->vm_fd < 0)
        return -errno;
    rc = gmem_init(&f->mem, FLOOR_RAM_SIZE);
    if (rc)
        return rc;
    slot = (struct kvm_userspace_memory_region){
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = FLOOR_RAM_SIZE,
        .userspace_addr = (uint64_t)(uintptr_t)f->mem.mapping,
    };
    if (ioctl(f->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
        return -errno;
    if (ioctl(f->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_TSS_ADDR) < 0)
        return -errno;
    return 0;
}

static struct kvm_cpuid_entry2 *find_leaf(struct kvm_cpuid2 *c, uint32_t fn)
{
    for (uint32_t i = 0; i < c->nent; i++)
        if (c->entries[i].function == fn)
            return &c->entries[i];
    return NULL;
}

/* KVM's supported CPUID, adjusted as kvmini adjusts it for a one-vCPU VM. */
static int set_cpuid(struct floor *f, uint32_t tsc_khz)
{
    size_t size = sizeof(struct kvm_cpuid2) + FLOOR_CPUID_MAX * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *c = calloc(1, size);
    struct kvm_cpuid_entry2 *e;
    int rc = 0;

    if (!c)
        return -ENOMEM;
    c->nent = FLOOR_CPUID_MAX - 1; /* one spare for the timing leaf */
    if (ioctl(f->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
        rc = -errno;
        free(c);
        return rc;
    }
    for (uint32_t i = 0; i < c->nent; i++) {
        e = &c->entries[i];
        if (e->function == 1) {
            /* APIC id 0, one logical processor, running under a hypervisor. */
            e->ebx = (e->ebx & 0x0000ffffu) | (1u << 16);
            e->ecx |= 1u << 31;
        } else if (e->function == 0xb || e->function == 0x1f) {
            e->edx = 0;
        } else if (e->function == HV_LEAF_BASE && e->eax < HV_LEAF_TIMING && tsc_khz) {
            e->eax = HV_LEAF_TIMING;
        }
    }
    if (tsc_khz && !find_leaf(c, HV_LEAF_TIMING) && find_leaf(c, HV_LEAF_BASE)) {
        c->entries[c->nent++] = (struct kvm_cpuid_entry2){
            .function = HV_LEAF_TIMING,
            .eax = tsc_khz,
            .ebx = KVM_APIC_BUS_KHZ,
        };
    }
    if (ioctl(f->vcpu_fd, KVM_SET_CPUID2, c) < 0)
        rc = -errno;
    free(c);
    return rc;
}

static int create_vcpu(struct floor *f, uint64_t entry)
{
    struct kvm_regs regs;
    struct kvm_sregs boot, sregs;
    int n, khz, rc;

    n = ioctl(f->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (n <= 0)
        return n < 0 ? -errno : -EINVAL;
    f->run_size = (size_t)n;
    f->vcpu_fd = ioctl(f->vm_fd, KVM_CREATE_VCPU, 0UL);
    if (f->vcpu_fd < 0)
        return -errno;
    f->run = mmap(NULL, f->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, f->vcpu_fd, 0);
    if (f->run == MAP_FAILED) {
        f->run = NULL;
        return -errno;
    }
    khz = ioctl(f->vcpu_fd, KVM_GET_TSC_KHZ, 0);
    rc = set_cpuid(f, khz > 0 ? (uint32_t)khz : 0);
    if (rc)
        return rc;

    /* Start from KVM's sregs (APIC base and the like keep their defaults), as kvmini does. */
    memset(&boot, 0, sizeof(boot));
    boot_state_entry64(&regs, &boot, entry);
    if (ioctl(f->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
        return -errno;
    sregs.cs = boot.cs;
    sregs.ds = boot.ds;
    sregs.es = boot.es;
    sregs.fs = boot.fs;
    sregs.gs = boot.gs;
    sregs.ss = boot.ss;
    sregs.tr = boot.tr;
    sregs.ldt = boot.ldt;
    sregs.gdt = boot.gdt;
    sregs.idt = boot.idt;
    sregs.cr0 = boot.cr0;
    sregs.cr3 = boot.cr3;
    sregs.cr4 = boot.cr4;
    sregs.efer = boot.efer;
    if (ioctl(f->vcpu_fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(f->vcpu_fd, KVM_SET_REGS, &regs) < 0)
        return -errno;
    return 0;
}

/* One port access of one item. Returns 1 when the guest asked to exit (status in *status). */
static int port_access(uint16_t port, uint8_t *data, uint8_t size, int is_out, int *status)
{
    if (is_out) {
        if (port == PORT_COM1) {
            putchar(data[0]);
        } else if (port == PORT_DEBUG_EXIT) {
            *status = data[0];
            return 1;
        }
        return 0; /* port 0x80 and everything else: ignored */
    }
    memset(data, port == PORT_COM1 + UART_LSR ? UART_LSR_IDLE : 0xff, size);
    return 0;
}

/* KVM_RUN until the guest exits. 0 with the guest's status, or -errno; -EPROTO: unexpected exit. */
static int run_loop(struct floor *f, int *status)
{
    struct kvm_run *run = f->run;

    for (;;) {
        if (ioctl(f->vcpu_fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -errno;
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO: {
            uint8_t *data = (uint8_t *)run + run->io.data_offset;

            for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
                if (port_access(run->io.port, data, run->io.size,
                                run->io.direction == KVM_EXIT_IO_OUT, status))
                    return 0;
            break;
        }
        case KVM_EXIT_MMIO:
            if (run->mmio.phys_addr < LAYOUT_DEBUG_MMIO ||
                run->mmio.phys_addr >= LAYOUT_DEBUG_MMIO + LAYOUT_DEBUG_MMIO_SIZE) {
                fprintf(stderr, "kvm-floor: MMIO %s at 0x%llx outside the debug page\n",
                        run->mmio.is_write ? "write" : "read",
                        (unsigned long long)run->mmio.phys_addr);
                return -EPROTO;
            }
            if (!run->mmio.is_write)
                memset(run->mmio.data, 0, sizeof(run->mmio.data));
            break;
        default:
            fprintf(stderr, "kvm-floor: unexpected exit reason %u\n", run->exit_reason);
            if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
                fprintf(stderr, "kvm-floor: hardware entry failure reason 0x%llx\n",
                        (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
            else if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
                fprintf(stderr, "kvm-floor: internal error suberror %u\n", run->internal.suberror);
            return -EPROTO;
        }
    }
}

static void floor_close(struct floor *f)
{
    if (f->run)
        munmap(f->run, f->run_size);
    if (f->vcpu_fd >= 0)
        close(f->vcpu_fd);
    gmem_fini(&f->mem);
    if (f->vm_fd >= 0)
        close(f->vm_fd);
    if (f->kvm_fd >= 0)
        close(f->kvm_fd);
    if (f->file)
        munmap(f->file, f->file_size);
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "kvm-floor: %s: %s\n", what, strerror(-rc));
    return 1;
}

static int boot_and_run(struct floor *f, const char *kernel, const char *cmdline, int mem_report)
{
    struct boot_info info = { .cmdline = cmdline };
    struct kernel_plan plan;
    char err[256] = "";
    int rc, status = 1;

    rc = map_file(f, kernel);
    if (rc)
        return fail(kernel, rc);
    rc = elf_probe(f->file, f->file_size, FLOOR_RAM_SIZE, &plan, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "kvm-floor: %s: %s\n", kernel, err[0] ? err : strerror(-rc));
        return 1;
    }
    if (plan.kind != ENTRY_64) {
        fprintf(stderr, "kvm-floor: %s: only a 64-bit entry (KVMINI note) is supported\n", kernel);
        return 1;
    }
    rc = create_vm(f);
    if (rc)
        return fail("creating the VM", rc);
    rc = kernel_plan_load(&plan, f->file, &f->mem);
    if (rc)
        return fail("loading the kernel", rc);
    rc = boot_write_tables(&f->mem, &info);
    if (rc)
        return fail("writing the boot tables", rc);
    rc = create_vcpu(f, plan.entry);
    if (rc)
        return fail("creating the vCPU", rc);
    rc = run_loop(f, &status);
    fflush(stdout);
    if (mem_report) /* the same line as kvmini --stats, computed by the same code */
        stats_print_memory(stderr, f->mem.mapping, f->mem.mapping_size);
    if (rc == -EPROTO)
        return 1;
    if (rc)
        return fail("KVM_RUN", rc);
    return status;
}

int main(int argc, char **argv)
{
    struct floor f = { .kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1 };
    int mem_report = 0, argi = 1, status;

    if (argi < argc && !strcmp(argv[argi], "--mem-report")) {
        mem_report = 1;
        argi++;
    }
    if (argc - argi < 1 || argc - argi > 2 || argv[argi][0] == '-') {
        fprintf(stderr, "usage: kvm-floor [--mem-report] KERNEL.elf [CMDLINE]\n");
        return 2;
    }
    status = boot_and_run(&f, argv[argi], argi + 1 < argc ? argv[argi + 1] : NULL, mem_report);
    floor_close(&f);
    return status;
}
