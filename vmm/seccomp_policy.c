// SPDX-License-Identifier: MIT
/* The lists themselves (seccomp_policy.h); libseccomp's header only, for the SCMP_SYS numbers. */
#include "vmm/seccomp_policy.h"

#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "vmm/seccomp.h"

/*
 * Every thread: memory for malloc and thread exit (never executable), locks, signal returns,
 * clocks and sleeps, writing a log line to stderr, and dying (exit_group, tgkill for raise()).
 */
static const int common_calls[] = {
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(futex),
    SCMP_SYS(brk),
    SCMP_SYS(madvise),
    SCMP_SYS(munmap),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(sigaltstack),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),
    SCMP_SYS(sched_yield),
    SCMP_SYS(gettid),
    SCMP_SYS(getpid),
    SCMP_SYS(tgkill),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(getrandom),
    SCMP_SYS(newfstatat),
    SCMP_SYS(fstat),
    SCMP_SYS(sched_getaffinity),
};

/* The vCPU: KVM_RUN, and what emulating an exit needs (doorbells, interrupts, a disk reset). */
static const int vcpu_calls[] = {
    SCMP_SYS(ioctl),     SCMP_SYS(eventfd2),       SCMP_SYS(close),
    SCMP_SYS(epoll_ctl), SCMP_SYS(io_uring_enter), SCMP_SYS(poll),
};
static const unsigned long vcpu_ioctls[] = {
    KVM_RUN,       KVM_GET_REGS,     KVM_SET_REGS,     KVM_GET_SREGS,       KVM_SET_SREGS,
    KVM_TRANSLATE, KVM_IRQ_LINE,     KVM_SIGNAL_MSI,   KVM_SET_GSI_ROUTING, KVM_IRQFD,
    KVM_IOEVENTFD, KVM_GET_MP_STATE, KVM_SET_MP_STATE,
};

/* The event loop: epoll, completions, interrupts, the console in and out, timers, signals,
 * frames to and from a TAP (TUNSETOFFLOAD once the guest has said what it takes). */
static const int loop_calls[] = {
    SCMP_SYS(epoll_wait),     SCMP_SYS(epoll_pwait),     SCMP_SYS(epoll_ctl), SCMP_SYS(ioctl),
    SCMP_SYS(io_uring_enter), SCMP_SYS(timerfd_settime), SCMP_SYS(poll),      SCMP_SYS(sendto),
    SCMP_SYS(eventfd2),       SCMP_SYS(close),           SCMP_SYS(readv),     SCMP_SYS(writev),
};
static const unsigned long loop_ioctls[] = {
    KVM_IRQ_LINE,  KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING, KVM_IRQFD,
    KVM_IOEVENTFD, TCGETS,         TIOCGWINSZ,          TUNSETOFFLOAD,
};

/*
 * The event loop again, with --net user: libslirp makes the guest's connections with sockets of
 * kvmini's own, so the loop may create and use sockets; its DNS forwarder reads
 * /etc/resolv.conf when the guest first asks, and again when the file changes (read-only).
 */
static const int user_net_calls[] = {
    SCMP_SYS(socket),      SCMP_SYS(connect),    SCMP_SYS(bind),       SCMP_SYS(listen),
    SCMP_SYS(accept),      SCMP_SYS(accept4),    SCMP_SYS(recvfrom),   SCMP_SYS(sendmsg),
    SCMP_SYS(recvmsg),     SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(getsockname),
    SCMP_SYS(getpeername), SCMP_SYS(shutdown),   SCMP_SYS(fcntl),
};
static const unsigned long user_net_ioctls[] = { FIONREAD, FIONBIO };

/* A disk worker: the disk's data, nothing else. */
static const int worker_calls[] = {
    SCMP_SYS(preadv),    SCMP_SYS(pwritev), SCMP_SYS(pread64),   SCMP_SYS(pwrite64),
    SCMP_SYS(fdatasync), SCMP_SYS(fsync),   SCMP_SYS(fallocate),
};

/*
 * The main thread once the VM runs: waiting for the stop, then tearing down (joins, unmapping,
 * closing, unbinding interrupts and doorbells, --stats from /proc, the terminal back).
 */
static const int main_calls[] = {
    SCMP_SYS(ioctl), SCMP_SYS(close),          SCMP_SYS(epoll_ctl), SCMP_SYS(openat),
    SCMP_SYS(poll),  SCMP_SYS(io_uring_enter), SCMP_SYS(sysinfo),   SCMP_SYS(lseek),
};
static const unsigned long main_ioctls[] = {
    KVM_GET_REGS,        KVM_GET_SREGS, KVM_TRANSLATE, KVM_IRQFD, KVM_IOEVENTFD,
    KVM_SET_GSI_ROUTING, TCGETS,        TCSETS,        TCSETSW,   TCSETSF,
};

/* The stop watchdog: /proc's view of stuck threads, the report, the terminal, the exit. */
static const int watchdog_calls[] = { SCMP_SYS(openat), SCMP_SYS(close), SCMP_SYS(ioctl) };
static const unsigned long watchdog_ioctls[] = { TCSETS };

#define LIST(a) a, sizeof(a) / sizeof(a[0])

const struct class_policy seccomp_classes[THREAD_CLASSES] = {
    [THREAD_MAIN] = { LIST(main_calls), LIST(main_ioctls) },
    [THREAD_VCPU] = { LIST(vcpu_calls), LIST(vcpu_ioctls) },
    [THREAD_LOOP] = { LIST(loop_calls), LIST(loop_ioctls) },
    [THREAD_WORKER] = { LIST(worker_calls), NULL, 0 },
    [THREAD_WATCHDOG] = { LIST(watchdog_calls), LIST(watchdog_ioctls) },
};

const struct class_policy seccomp_user_net = { LIST(user_net_calls), LIST(user_net_ioctls) };
const struct class_policy seccomp_common = { LIST(common_calls), NULL, 0 };

size_t sandbox_user_net_calls(int *calls, size_t max)
{
    for (size_t i = 0; i < seccomp_user_net.nr_calls && i < max; i++)
        calls[i] = seccomp_user_net.calls[i];
    return seccomp_user_net.nr_calls;
}

size_t sandbox_calls(enum thread_class cls, int *calls, size_t max)
{
    const struct class_policy *p = &seccomp_classes[cls];
    const size_t nr_common = seccomp_common.nr_calls;
    size_t n = 0;

    for (size_t i = 0; i < nr_common + p->nr_calls + 2; i++, n++) {
        int nr = i < nr_common                  ? seccomp_common.calls[i]
                 : i < nr_common + p->nr_calls  ? p->calls[i - nr_common]
                 : i == nr_common + p->nr_calls ? SCMP_SYS(mmap)
                                                : SCMP_SYS(mprotect);

        if (n < max)
            calls[n] = nr;
    }
    return n;
}
