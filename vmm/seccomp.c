// SPDX-License-Identifier: MIT
/* Loading the filters that vmm/seccomp_gen.c compiled at build time from vmm/seccomp_policy.c. */
#include "vmm/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/core/fatal.h"
#include "vmm/core/log.h"

/* What a report calls each system call, by number (vmm/gen-syscall-names). */
static const char *const syscall_names[] = {
#include "vmm/syscall_names.inc"
};

/* seccomp_filters[class], and seccomp_filter_loop_user_net: BPF, from seccomp-gen. */
#include "vmm/seccomp_filters.inc"

struct sandbox {
    struct sock_fprog prog[THREAD_CLASSES];
    enum thread_class selftest;
};

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

    (void)len;
    if (!sb) {
        snprintf(err, len, "out of memory for the seccomp filters");
        return -ENOMEM;
    }
    sb->selftest = selftest;
    for (int c = 0; c < THREAD_CLASSES; c++)
        sb->prog[c] = seccomp_filters[c];
    if (needs->user_net)
        sb->prog[THREAD_LOOP] = seccomp_filter_loop_user_net;
    /* Filters need it without CAP_SYS_ADMIN; and no exec can ever gain privileges after. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        rc = -errno;
        snprintf(err, len, "cannot set no_new_privs: %s; --seccomp off runs without filters",
                 strerror(-rc));
        goto fail;
    }
    fatal_name_syscalls(syscall_names, sizeof(syscall_names) / sizeof(syscall_names[0]));
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
    /* The filters and names are static: the main thread's filter outlives the sandbox. */
    free(sb);
}
