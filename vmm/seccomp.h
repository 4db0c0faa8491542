/* SPDX-License-Identifier: MIT */
/*
 * The system calls each class of kvmini thread may make (docs/security.md gives the lists and
 * why). Each thread puts its class's filter on itself as it enters (vmm/core/threads.h), before it
 * touches anything a guest controls; a call outside the list raises SIGSYS, which
 * vmm/core/fatal.c turns into a one-line report naming the thread and the call.
 */
#ifndef KVMINI_SECCOMP_H
#define KVMINI_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/core/threads.h"

struct sandbox;

/* What the configuration adds to the lists. */
struct sandbox_needs {
    bool user_net; /* --net user: the event loop makes sockets (libslirp) */
};

/*
 * Builds the filters of every class and sets no_new_privs on the calling thread (inherited by the
 * threads it starts). selftest: a class whose threads make one forbidden call right after their
 * filter goes on (a test proves the filter is in place), or THREAD_CLASSES for none.
 * 0 or -errno, with err filled.
 */
int sandbox_create(struct sandbox **out, const struct sandbox_needs *needs,
                   enum thread_class selftest, char *err, size_t len);

/* What threads_set_guard() takes. */
struct thread_guard sandbox_guard(struct sandbox *sb);

void sandbox_destroy(struct sandbox *sb);

/*
 * The system calls threads of class cls may make (some only with certain arguments: ioctl by
 * request, mmap and mprotect never executable, openat read-only), into calls[max]; returns how
 * many there are. For tests and the docs.
 */
size_t sandbox_calls(enum thread_class cls, int *calls, size_t max);

/* What --net user adds to the event loop's calls, the same way. */
size_t sandbox_user_net_calls(int *calls, size_t max);

#endif
