// SPDX-License-Identifier: MIT
#include "vmm/core/pvm.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vmm/core/log.h"
#include "vmm/core/vm.h"

bool pvm_host_detect(bool assume_pvm)
{
    return assume_pvm || access("/sys/module/kvm_pvm", F_OK) == 0;
}

void pvm_explain(void)
{
    log_error("this host's KVM is PVM (software virtualization): it emulates guest code at CPL0 "
              "slowly and incompletely, so it runs only PVM-enabled kernels and guests that run "
              "at CPL3; use a host with hardware KVM (VMX/SVM) or the nested rig "
              "(docs/testing.md)");
}

/* Runs on the event loop thread, once. */
static void on_no_exit_timer(void *opaque, uint32_t events)
{
    struct vm *vm = opaque;
    uint64_t expirations;

    (void)events;
    if (read(vm->no_exit_timer_fd, &expirations, sizeof(expirations)) != sizeof(expirations))
        return;
    if (!__atomic_load_n(&vm->any_exit, __ATOMIC_RELAXED))
        vm_request_stop(vm, STOP_NO_EXITS, 0);
}

int pvm_watch_start(struct vm *vm)
{
    struct itimerspec when = { .it_value = { .tv_sec = 0 } };
    int fd, rc;

    if (!vm->is_pvm)
        return 0;
    when.it_value.tv_sec = vm->no_exit_seconds;
    fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (fd < 0)
        return -errno;
    if (timerfd_settime(fd, 0, &when, NULL) < 0) {
        rc = -errno;
        goto err_close;
    }
    vm->no_exit_timer_fd = fd;
    if ((rc = evloop_add(&vm->loop, fd, EPOLLIN, on_no_exit_timer, vm)))
        goto err_forget;
    return 0;

err_forget:
    vm->no_exit_timer_fd = -1;
err_close:
    close(fd);
    return rc;
}

void pvm_watch_fini(struct vm *vm)
{
    if (vm->no_exit_timer_fd >= 0)
        close(vm->no_exit_timer_fd);
    vm->no_exit_timer_fd = -1;
}

void pvm_report_no_exits(struct vm *vm)
{
    for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
        struct kvm_regs regs;
        struct kvm_sregs sregs;

        if (ioctl(vm->vcpus[i].fd, KVM_GET_REGS, &regs) < 0 ||
            ioctl(vm->vcpus[i].fd, KVM_GET_SREGS, &sregs) < 0) {
            log_error("vCPU %u made no VM exit in %u s (its registers cannot be read: %s)", i,
                      vm->no_exit_seconds, strerror(errno));
            continue;
        }
        log_error("vCPU %u made no VM exit in %u s; it is at RIP %#llx (CPL %u)", i,
                  vm->no_exit_seconds, (unsigned long long)regs.rip, sregs.cs.dpl);
    }
    pvm_explain();
}
