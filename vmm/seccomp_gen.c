// SPDX-License-Identifier: MIT
/*
 * seccomp-gen (run by the build): compiles the lists of vmm/seccomp_policy.c into BPF with
 * libseccomp and writes them as C, which vmm/seccomp.c includes. Compiled at every start, the
 * filters took a noticeable part of kvmini's cold start (make bench); now kvmini only loads them,
 * and does not link libseccomp at all.
 *
 *   seccomp-gen OUTPUT
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/seccomp_policy.h"

static bool in_list(const int *list, size_t n, int nr)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == nr)
            return true;
    return false;
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

    for (size_t i = 0; !rc && i < seccomp_common.nr_calls; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, seccomp_common.calls[i], 0);
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

/* libseccomp writes BPF only to an fd: through a memfd, into memory. */
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

/* One program as a C array, NAME's, and its sock_fprog. */
static void emit(FILE *out, const char *name, const struct sock_fprog *prog)
{
    fprintf(out, "static const struct sock_filter filter_%s[] = {\n", name);
    for (unsigned int i = 0; i < prog->len; i++) {
        const struct sock_filter *f = &prog->filter[i];

        fprintf(out, "    { 0x%02x, %u, %u, 0x%08x },\n", f->code, f->jt, f->jf, f->k);
    }
    fprintf(out, "};\n\n");
}

int main(int argc, char **argv)
{
    static const char *const names[THREAD_CLASSES] = {
        [THREAD_MAIN] = "main",     [THREAD_VCPU] = "vcpu",         [THREAD_LOOP] = "loop",
        [THREAD_WORKER] = "worker", [THREAD_WATCHDOG] = "watchdog",
    };
    static const char *const enums[THREAD_CLASSES] = {
        [THREAD_MAIN] = "THREAD_MAIN",         [THREAD_VCPU] = "THREAD_VCPU",
        [THREAD_LOOP] = "THREAD_LOOP",         [THREAD_WORKER] = "THREAD_WORKER",
        [THREAD_WATCHDOG] = "THREAD_WATCHDOG",
    };
    struct sock_fprog progs[THREAD_CLASSES + 1];
    FILE *out;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: seccomp-gen OUTPUT\n");
        return 2;
    }
    for (int c = 0; c <= THREAD_CLASSES; c++) {
        /* The last one: the event loop's with what --net user adds. */
        const struct class_policy *p = &seccomp_classes[c < THREAD_CLASSES ? c : THREAD_LOOP];

        rc = compile(p, c < THREAD_CLASSES ? NULL : &seccomp_user_net, &progs[c]);
        if (rc) {
            fprintf(stderr, "seccomp-gen: cannot compile filter %d: %s\n", c, strerror(-rc));
            return 1;
        }
    }
    out = fopen(argv[1], "w");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    fprintf(out,
            "/* Generated by vmm/seccomp_gen.c from vmm/seccomp_policy.c: do not edit. */\n\n");
    for (int c = 0; c < THREAD_CLASSES; c++)
        emit(out, names[c], &progs[c]);
    emit(out, "loop_user_net", &progs[THREAD_CLASSES]);
    /* The kernel only reads a filter: the casts drop a const the ABI does not spell. */
    fprintf(out, "static const struct sock_fprog seccomp_filters[THREAD_CLASSES] = {\n");
    for (int c = 0; c < THREAD_CLASSES; c++)
        fprintf(out, "    [%s] = { %u, (struct sock_filter *)filter_%s },\n", enums[c],
                progs[c].len, names[c]);
    fprintf(out,
            "};\n\nstatic const struct sock_fprog seccomp_filter_loop_user_net = {\n"
            "    %u, (struct sock_filter *)filter_loop_user_net\n};\n",
            progs[THREAD_CLASSES].len);
    for (int c = 0; c <= THREAD_CLASSES; c++)
        free(progs[c].filter);
    if (fclose(out)) {
        perror(argv[1]);
        return 1;
    }
    return 0;
}
