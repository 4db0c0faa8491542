// SPDX-License-Identifier: MIT
/*
 * One thread per vCPU: KVM_RUN, then dispatch the exit. Nothing slow happens here; anything that
 * may block (disk, network, the terminal) belongs on the event loop.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "firmware/layout.h"
#include "vmm/core/log.h"
#include "vmm/core/pvm.h"
#include "vmm/core/vm.h"

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int index)
{
    int rc;

    memset(vcpu, 0, sizeof(*vcpu));
    vcpu->vm = vm;
    vcpu->index = index;
    vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (vcpu->fd < 0) {
        rc = -errno;
        log_error("KVM_CREATE_VCPU %u failed: %s", index, strerror(-rc));
        return rc;
    }
    vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
    if (vcpu->run == MAP_FAILED) {
        rc = -errno;
        vcpu->run = NULL;
        close(vcpu->fd);
        vcpu->fd = -1;
        log_error("cannot map vCPU %u's run area: %s", index, strerror(-rc));
        return rc;
    }
    if (!vm->tsc_khz) {
        int khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);

        vm->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
    }
    return cpuid_apply(vm, vcpu);
}

int vcpu_set_boot_state(struct vcpu *vcpu)
{
    struct kvm_sregs sregs;

    if (vcpu->wait_for_sipi) {
        struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_UNINITIALIZED };

        return ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0 ? -errno : 0;
    }
    /* Start from KVM's sregs so fields kvmini does not set (APIC base, ...) keep their defaults. */
    if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
        return -errno;
    sregs.cs = vcpu->boot_sregs.cs;
    sregs.ds = vcpu->boot_sregs.ds;
    sregs.es = vcpu->boot_sregs.es;
    sregs.fs = vcpu->boot_sregs.fs;
    sregs.gs = vcpu->boot_sregs.gs;
    sregs.ss = vcpu->boot_sregs.ss;
    sregs.tr = vcpu->boot_sregs.tr;
    sregs.ldt = vcpu->boot_sregs.ldt;
    sregs.gdt = vcpu->boot_sregs.gdt;
    sregs.idt = vcpu->boot_sregs.idt;
    sregs.cr0 = vcpu->boot_sregs.cr0;
    sregs.cr3 = vcpu->boot_sregs.cr3;
    sregs.cr4 = vcpu->boot_sregs.cr4;
    sregs.efer = vcpu->boot_sregs.efer;
    if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0 ||
        ioctl(vcpu->fd, KVM_SET_REGS, &vcpu->boot_regs) < 0)
        return -errno;
    /* KVM creates APs waiting for INIT/SIPI; one started directly must be made runnable. */
    if (vcpu->index > 0) {
        struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

        if (ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0)
            return -errno;
    }
    return 0;
}

static void handle_pio(struct vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
    bool handled = true;

    /* String I/O (rep outsb ...) arrives as count items of size bytes each. */
    for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
        if (bus_access(&vcpu->vm->pio, run->io.port, data, run->io.size, is_write))
            handled = false;
    if (vcpu->vm->stats_enabled)
        stats_count_access(&vcpu->stats, STATS_PIO, run->io.port, is_write, handled);
}

static void warn_unhandled_mmio(struct vcpu *vcpu, uint64_t addr, uint32_t len, bool is_write)
{
    if (!log_budget_take(&vcpu->vm->unmapped_warnings))
        return;
    if (is_write && addr >= LAYOUT_ROM_START && addr < LAYOUT_ROM_END) {
        log_warn("vCPU %u wrote to read-only memory at %#llx; the write was dropped", vcpu->index,
                 (unsigned long long)addr);
    } else {
        log_warn("vCPU %u %s %u bytes at %#llx, where nothing is mapped; %s", vcpu->index,
                 is_write ? "wrote" : "read", len, (unsigned long long)addr,
                 is_write ? "the write was dropped" : "it reads all ones");
    }
}

static void handle_mmio(struct vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    uint32_t len = run->mmio.len <= sizeof(run->mmio.data) ? run->mmio.len : 8;
    bool handled =
        !bus_access(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len, run->mmio.is_write);

    if (!handled)
        warn_unhandled_mmio(vcpu, run->mmio.phys_addr, len, run->mmio.is_write);
    if (vcpu->vm->stats_enabled)
        stats_count_access(&vcpu->stats, STATS_MMIO, run->mmio.phys_addr, run->mmio.is_write,
                           handled);
}

/* Up to 15 bytes at the guest's RIP, for an error report; 0 when they cannot be read. */
static size_t read_insn_bytes(struct vcpu *vcpu, uint64_t rip, uint8_t *buf)
{
    struct kvm_translation tr = { .linear_address = rip };
    const uint8_t *p;

    if (ioctl(vcpu->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
        return 0;
    for (size_t n = 15; n; n--) {
        p = gmem_ptr(&vcpu->vm->mem, tr.physical_address, n);
        if (p) {
            memcpy(buf, p, n);
            return n;
        }
    }
    return 0;
}

static void report_internal_error(struct vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    struct kvm_regs regs = { 0 };
    struct kvm_sregs sregs = { 0 };
    uint8_t insn[15];
    size_t n = 0;
    char hex[15 * 3 + 1] = "unreadable";

    ioctl(vcpu->fd, KVM_GET_REGS, &regs);
    ioctl(vcpu->fd, KVM_GET_SREGS, &sregs);
    if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
        (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
        n = run->emulation_failure.insn_size <= 15 ? run->emulation_failure.insn_size : 15;
        memcpy(insn, run->emulation_failure.insn_bytes, n);
    } else {
        n = read_insn_bytes(vcpu, regs.rip, insn);
    }
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02x%s", insn[i], i + 1 < n ? " " : "");

    log_error("KVM could not run vCPU %u: internal error, suberror %u%s, at RIP %#llx (CPL %u), "
              "instruction bytes: %s",
              vcpu->index, run->internal.suberror,
              run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? " (emulation failure)" : "",
              (unsigned long long)regs.rip, sregs.cs.dpl, hex);
    if (vcpu->vm->is_pvm && sregs.cs.dpl == 0)
        pvm_explain();
}

/* Handles one exit; returns true while the vCPU should keep running. */
static bool handle_exit(struct vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    struct vm *vm = vcpu->vm;

    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        handle_pio(vcpu);
        return true;
    case KVM_EXIT_MMIO:
        handle_mmio(vcpu);
        return true;
    case KVM_EXIT_INTR:
        return true; /* a kick: the loop re-checks whether to stop */
    case KVM_EXIT_IOAPIC_EOI:
        if (vm->eoi.eoi)
            vm->eoi.eoi(vm->eoi.ctx, run->eoi.vector);
        return true;
    case KVM_EXIT_HLT:
        /* With the LAPIC in KVM a halt never exits unless nothing can ever wake the vCPU. */
        log_info("vCPU %u halted for good; stopping the VM", vcpu->index);
        vm_request_stop(vm, STOP_POWEROFF, 0);
        return false;
    case KVM_EXIT_SHUTDOWN:
        /* KVM has already reset the vCPU here, so its registers no longer tell where it died. */
        log_error("guest triple fault on vCPU %u: the guest could not handle an exception and "
                  "the CPU shut down",
                  vcpu->index);
        vm_request_stop(vm, STOP_TRIPLE_FAULT, 0);
        return false;
    case KVM_EXIT_SYSTEM_EVENT:
        switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_RESET:
            vm_request_stop(vm, STOP_RESET, 0);
            break;
        case KVM_SYSTEM_EVENT_CRASH:
            vm_request_stop(vm, STOP_GUEST_PANIC, 0);
            break;
        default:
            vm_request_stop(vm, STOP_POWEROFF, 0);
        }
        return false;
    case KVM_EXIT_INTERNAL_ERROR:
        report_internal_error(vcpu);
        vm_request_stop(vm, STOP_GUEST_ERROR, 0);
        return false;
    case KVM_EXIT_FAIL_ENTRY:
        log_error("KVM refused to enter vCPU %u (hardware entry failure reason %#llx): the "
                  "guest CPU state is invalid",
                  vcpu->index, (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        vm_request_stop(vm, STOP_ENTRY_FAILED, 0);
        return false;
    default:
        log_error("vCPU %u: unexpected KVM exit %u (%s)", vcpu->index, run->exit_reason,
                  stats_exit_name(run->exit_reason));
        vm_request_stop(vm, STOP_VMM_ERROR, 0);
        return false;
    }
}

/* For a stop that does not complete: what this vCPU is doing (vmm/core/threads.h). */
static void vcpu_describe(void *ctx, char *buf, size_t len)
{
    const struct vcpu *vcpu = ctx;
    unsigned int in_hand = __atomic_load_n(&vcpu->in_hand, __ATOMIC_RELAXED);

    if (!in_hand)
        snprintf(buf, len, "running the guest");
    else if (in_hand - 1 == KVM_EXIT_IO)
        snprintf(buf, len, "emulating port 0x%x", vcpu->run->io.port);
    else if (in_hand - 1 == KVM_EXIT_MMIO)
        snprintf(buf, len, "emulating MMIO at 0x%llx",
                 (unsigned long long)vcpu->run->mmio.phys_addr);
    else
        snprintf(buf, len, "handling a %s exit", stats_exit_name(in_hand - 1));
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *vcpu = arg;
    struct vm *vm = vcpu->vm;
    bool timed = vm->stats_enabled;
    bool exited = false;
    uint64_t start;
    sigset_t kick;

    /* Every thread's filter goes on before any vCPU runs the guest. */
    if (!vm_wait_go(vm))
        return NULL;
    start = stats_now_ns();
    vcpu->stats.first_run_ns = start;
    sigemptyset(&kick);
    sigaddset(&kick, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

    while (!__atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE)) {
        int rc, err;
        uint64_t exited_at;

        __atomic_store_n(&vcpu->in_hand, 0, __ATOMIC_RELAXED);
        rc = ioctl(vcpu->fd, KVM_RUN, 0);
        err = errno;
        exited_at = timed ? stats_now_ns() : 0;
        if (rc == 0)
            __atomic_store_n(&vcpu->in_hand, vcpu->run->exit_reason + 1, __ATOMIC_RELAXED);

        if (rc < 0) {
            /*
             * Only a stop kicks a vCPU, after setting vm->stopping: the loop condition ends it.
             * immediate_exit stays set, so the thread cannot re-enter the guest meanwhile.
             */
            if (err == EINTR || err == EAGAIN)
                continue;
            log_error("KVM_RUN failed on vCPU %u: %s", vcpu->index, strerror(err));
            vm_request_stop(vm, STOP_VMM_ERROR, 0);
            break;
        }
        if (!exited) {
            exited = true; /* one store per thread: the PVM no-exit watch reads it */
            __atomic_store_n(&vm->any_exit, true, __ATOMIC_RELAXED);
        }
        if (timed)
            stats_count_exit(&vcpu->stats, vcpu->run->exit_reason);
        if (!handle_exit(vcpu))
            break;
        if (timed)
            vcpu->stats.vmm_ns += stats_now_ns() - exited_at;
    }
    vcpu->stats.run_ns = stats_now_ns() - start;
    return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
    const struct thread_id id = {
        .cls = THREAD_VCPU,
        .index = vcpu->index,
        .describe = vcpu_describe,
        .describe_ctx = vcpu,
    };
    int rc =
        threads_start(&vcpu->vm->threads, &vcpu->thread, &id, "kvmini-vcpu", vcpu_thread, vcpu);

    if (rc)
        return rc;
    vcpu->started = true;
    return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
    /* immediate_exit covers a thread about to enter KVM_RUN, the signal one already inside. */
    __atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_RELEASE);
    if (vcpu->started)
        pthread_kill(vcpu->thread, SIGUSR1);
}

void vcpu_destroy(struct vcpu *vcpu)
{
    if (vcpu->run)
        munmap(vcpu->run, vcpu->vm->run_size);
    if (vcpu->fd >= 0)
        close(vcpu->fd);
    vcpu->run = NULL;
    vcpu->fd = -1;
}
