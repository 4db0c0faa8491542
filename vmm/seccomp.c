// SPDX-License-Identifier: MIT
#include "vmm/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/core/fatal.h"
#include "vmm/core/log.h"

/* Highest x86-64 system call number a report names (io_uring and later are in the 400s). */
#define SYSCALL_NAMES 512

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

struct class_policy {
    const int *calls;
    size_t nr_calls;
    const unsigned long *ioctls;
    size_t nr_ioctls;
};

#define LIST(a) a, sizeof(a) / sizeof(a[0])

static const struct class_policy policies[THREAD_CLASSES] = {
    [THREAD_MAIN] = { LIST(main_calls), LIST(main_ioctls) },
    [THREAD_VCPU] = { LIST(vcpu_calls), LIST(vcpu_ioctls) },
    [THREAD_LOOP] = { LIST(loop_calls), LIST(loop_ioctls) },
    [THREAD_WORKER] = { LIST(worker_calls), NULL, 0 },
    [THREAD_WATCHDOG] = { LIST(watchdog_calls), LIST(watchdog_ioctls) },
};

static const struct class_policy user_net_policy = { LIST(user_net_calls), LIST(user_net_ioctls) };

struct sandbox {
    struct sock_fprog prog[THREAD_CLASSES];
    enum thread_class selftest;
    char *names[SYSCALL_NAMES];
};

static bool in_list(const int *list, size_t n, int nr)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == nr)
            return true;
    return false;
}

size_t sandbox_user_net_calls(int *calls, size_t max)
{
    for (size_t i = 0; i < user_net_policy.nr_calls && i < max; i++)
        calls[i] = user_net_policy.calls[i];
    return user_net_policy.nr_calls;
}

size_t sandbox_calls(enum thread_class cls, int *calls, size_t max)
{
    const struct class_policy *p = &policies[cls];
    const size_t nr_common = sizeof(common_calls) / sizeof(common_calls[0]);
    size_t n = 0;

    for (size_t i = 0; i < nr_common + p->nr_calls + 2; i++, n++) {
        int nr = i < nr_common                  ? common_calls[i]
                 : i < nr_common + p->nr_calls  ? p->calls[i - nr_common]
                 : i == nr_common + p->nr_calls ? SCMP_SYS(mmap)
                                                : SCMP_SYS(mprotect);

        if (n < max)
            calls[n] = nr;
    }
    return n;
}

/* A class's own calls: ioctl by request number, openat read-only. */
static int add_policy(scmp_filter_ctx ctx, const struct class_policy *p)
{
    int rc = 0;

    for (size_t i = 0; !rc && i < p->nr_calls; i++) {
        if (p->calls[i] == SCMP_SYS(ioctl))
            continue;                        /* by request number, below */
        if (p->calls[i] == SCMP_SYS(openat)) /* reading /proc only: nothing opened for writing */
            rc = seccomp_rule_add(
                ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
                SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND, O_RDONLY));
        else
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, p->calls[i], 0);
    }
    for (size_t i = 0; !rc && i < p->nr_ioctls; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_EQ, p->ioctls[i]));
    return rc;
}

/* Every thread's calls, the class's own, and extra (what a configuration adds), or NULL. */
static int add_rules(scmp_filter_ctx ctx, const struct class_policy *p,
                     const struct class_policy *extra)
{
    int rc = 0;

    for (size_t i = 0; !rc && i < sizeof(common_calls) / sizeof(common_calls[0]); i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, common_calls[i], 0);
    /* Memory, but never executable memory: code arrives from nowhere once the guest runs. */
    if (!rc)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                              SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    if (!rc)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                              SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    /*
     * glibc's malloc opens /proc/sys/vm/overcommit_memory (and, making an arena, may read
     * /sys/devices/system/cpu/online) lazily, in whichever thread gets there first, and copes
     * with a refusal: threads that may open nothing get EACCES, not death, for openat.
     */
    if (!rc && !in_list(p->calls, p->nr_calls, SCMP_SYS(openat)) &&
        !(extra && in_list(extra->calls, extra->nr_calls, SCMP_SYS(openat))))
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
    if (!rc)
        rc = add_policy(ctx, p);
    if (!rc && extra)
        rc = add_policy(ctx, extra);
    return rc;
}

/* libseccomp writes BPF only to an fd: through a memfd, into memory the threads load from. */
static int compile(const struct class_policy *p, const struct class_policy *extra,
                   struct sock_fprog *prog)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    off_t size;
    int fd = -1, rc;

    if (!ctx)
        return -ENOMEM;
    if ((rc = add_rules(ctx, p, extra)))
        goto out;
    fd = memfd_create("kvmini-seccomp", MFD_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if ((rc = seccomp_export_bpf(ctx, fd)))
        goto out;
    size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || size % sizeof(struct sock_filter) ||
        size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
        rc = -E2BIG;
        goto out;
    }
    prog->filter = malloc((size_t)size);
    if (!prog->filter) {
        rc = -ENOMEM;
        goto out;
    }
    if (pread(fd, prog->filter, (size_t)size, 0) != size) {
        rc = -EIO;
        goto out;
    }
    prog->len = (unsigned short)(size / sizeof(struct sock_filter));
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    seccomp_release(ctx);
    return rc;
}

/* The thread_guard: the class's filter on the calling thread; loading allocates nothing. */
static int sandbox_enter(void *ctx, enum thread_class cls)
{
    struct sandbox *sb = ctx;
    char *const none[] = { NULL };

    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &sb->prog[cls]) < 0) {
        int rc = -errno;

        log_error("cannot put the seccomp filter on the %s thread: %s; --seccomp off runs "
                  "without filters",
                  thread_class_name(cls), strerror(-rc));
        return rc;
    }
    if (cls == sb->selftest) {
        /* A call no kvmini thread may make: the filter must stop it here, with a report. */
        syscall(SYS_execve, "/nonexistent/kvmini-seccomp-selftest", none, none);
        log_error("seccomp self-test: the %s thread's filter let execve through",
                  thread_class_name(cls));
        return -EPERM;
    }
    return 0;
}

struct thread_guard sandbox_guard(struct sandbox *sb)
{
    return (struct thread_guard){ .enter = sb ? sandbox_enter : NULL, .ctx = sb };
}

int sandbox_create(struct sandbox **out, const struct sandbox_needs *needs,
                   enum thread_class selftest, char *err, size_t len)
{
    struct sandbox *sb = calloc(1, sizeof(*sb));
    int rc;

    if (!sb) {
        snprintf(err, len, "out of memory for the seccomp filters");
        return -ENOMEM;
    }
    sb->selftest = selftest;
    for (int c = 0; c < THREAD_CLASSES; c++) {
        const struct class_policy *extra =
            c == THREAD_LOOP && needs->user_net ? &user_net_policy : NULL;

        if ((rc = compile(&policies[c], extra, &sb->prog[c]))) {
            snprintf(err, len,
                     "cannot build the seccomp filter of the %s thread: %s; --seccomp "
                     "off runs without filters",
                     thread_class_name(c), strerror(-rc));
            goto fail;
        }
    }
    /* Filters need it without CAP_SYS_ADMIN; and no exec can ever gain privileges after. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        rc = -errno;
        snprintf(err, len, "cannot set no_new_privs: %s; --seccomp off runs without filters",
                 strerror(-rc));
        goto fail;
    }
    for (int nr = 0; nr < SYSCALL_NAMES; nr++)
        sb->names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    fatal_name_syscalls((const char *const *)sb->names, SYSCALL_NAMES);
    *out = sb;
    return 0;
fail:
    sandbox_destroy(sb);
    return rc;
}

void sandbox_destroy(struct sandbox *sb)
{
    if (!sb)
        return;
    /* Reports after this (the main thread's filter stays) name numbers only. */
    fatal_name_syscalls(NULL, 0);
    for (int c = 0; c < THREAD_CLASSES; c++)
        free(sb->prog[c].filter);
    for (int nr = 0; nr < SYSCALL_NAMES; nr++)
        free(sb->names[nr]);
    free(sb);
}
