/* SPDX-License-Identifier: MIT */
/*
 * Why a VM stops, and the process exit status each reason gives. Devices and vCPU threads ask
 * for a stop through a struct stopper; the first request wins, later ones are ignored.
 */
#ifndef KVMINI_STOP_H
#define KVMINI_STOP_H

enum stop_cause {
    STOP_NONE = 0,
    STOP_GUEST_EXIT,   /* guest wrote V to the debug-exit port: status is V */
    STOP_POWEROFF,     /* guest asked to power off */
    STOP_RESET,        /* guest asked for a reset (i8042 0xFE, ACPI reset) */
    STOP_USER_QUIT,    /* Ctrl-A x on the console */
    STOP_SIGNAL,       /* SIGINT/SIGTERM/SIGHUP: status is the signal number */
    STOP_TRIPLE_FAULT, /* KVM_EXIT_SHUTDOWN */
    STOP_GUEST_ERROR,  /* KVM_EXIT_INTERNAL_ERROR: KVM could not run or emulate the guest */
    STOP_ENTRY_FAILED, /* KVM_EXIT_FAIL_ENTRY: invalid guest state */
    STOP_GUEST_PANIC,  /* guest kernel reported a panic */
    STOP_VMM_ERROR,    /* kvmini itself failed while the guest ran */
    STOP_NO_EXITS,     /* PVM host: no vCPU made a VM exit in the first seconds (vmm/core/pvm.h) */
};

/* Process exit statuses kvmini itself uses (documented in README.md). */
#define EXIT_OK           0
#define EXIT_USAGE        64 /* bad command line */
#define EXIT_BAD_IMAGE    65 /* kernel/initrd file is not something kvmini can boot */
#define EXIT_NO_FILE      66 /* a file named on the command line cannot be opened */
#define EXIT_NO_NET       68 /* a --net backend cannot be set up */
#define EXIT_NO_KVM       69 /* /dev/kvm missing, not permitted, or lacking a capability */
#define EXIT_VMM_ERROR    70 /* kvmini failed (an ioctl, out of memory, ...) */
#define EXIT_TRIPLE_FAULT 80
#define EXIT_GUEST_ERROR  81
#define EXIT_ENTRY_FAILED 82
#define EXIT_GUEST_PANIC  83
#define EXIT_NO_EXITS     84
#define EXIT_STOP_STUCK   86  /* a stop did not complete in time (vmm/core/stop_watch.h) */
#define EXIT_SIGNAL_BASE  128 /* + signal number, as shells report it */

struct stopper {
    void (*request)(void *ctx, enum stop_cause cause, int status);
    void *ctx;
};

static inline void stopper_request(const struct stopper *s, enum stop_cause cause, int status)
{
    if (s && s->request)
        s->request(s->ctx, cause, status);
}

/* The process exit status for a stop. */
int stop_exit_status(enum stop_cause cause, int status);

/* A short human description ("guest triple fault"), for the last line kvmini prints. */
const char *stop_cause_name(enum stop_cause cause);

#endif
