/* SPDX-License-Identifier: MIT */
/*
 * What each class of kvmini thread may call (docs/security.md gives the lists and why): the one
 * place the lists live. vmm/seccomp_gen.c compiles them into BPF at build time, vmm/seccomp.c
 * loads that BPF, and sandbox_calls() (seccomp.h) shows the lists to the tests and the docs.
 */
#ifndef KVMINI_SECCOMP_POLICY_H
#define KVMINI_SECCOMP_POLICY_H

#include <stddef.h>

#include "vmm/core/threads.h"

/* A list of calls, and the ioctl requests allowed when the list has ioctl. */
struct class_policy {
    const int *calls;
    size_t nr_calls;
    const unsigned long *ioctls;
    size_t nr_ioctls;
};

/*
 * Every thread's calls. Beyond these, every class may mmap and mprotect, never executable memory;
 * openat is read-only where a class has it, and EACCES (not death) where it does not.
 */
extern const struct class_policy seccomp_common;
/* Each class's own. */
extern const struct class_policy seccomp_classes[THREAD_CLASSES];
/* What --net user adds to the event loop's. */
extern const struct class_policy seccomp_user_net;

#endif
