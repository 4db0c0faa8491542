/* SPDX-License-Identifier: MIT */
/*
 * The threads a VM runs, by class. Every thread kvmini starts calls threads_enter() first thing:
 * that records it, so a stop that does not complete can name the threads still running and what
 * they are doing, and puts on the confinement the program chose for its class (vmm/seccomp.c's
 * filter), before the thread touches anything a guest controls.
 */
#ifndef KVMINI_THREADS_H
#define KVMINI_THREADS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum thread_class {
    THREAD_MAIN,     /* sets the VM up, waits for a stop, tears it down */
    THREAD_VCPU,     /* runs KVM_RUN and emulates what the guest exits for */
    THREAD_LOOP,     /* the event loop: doorbells, completions, the console, signals */
    THREAD_WORKER,   /* a device's helper: the disk's thread-pool engine */
    THREAD_WATCHDOG, /* watches that a stop completes */
    THREAD_CLASSES
};

/* "vCPU", "event loop", ... for reports. */
const char *thread_class_name(enum thread_class cls);

/* The class a short name ("main", "vcpu", "loop", "worker", "watchdog") names, or -EINVAL. */
int thread_class_parse(const char *name);

/* What is put on each thread as it enters (a seccomp filter), or nothing when enter is NULL. */
struct thread_guard {
    int (*enter)(void *ctx, enum thread_class cls);
    void *ctx;
};

/* Fills buf with what the thread is doing in kvmini's terms ("running the guest"). */
typedef void (*thread_describe_fn)(void *ctx, char *buf, size_t len);

#define THREADS_MAX       64
#define THREAD_INDEX_NEXT (~0u) /* number it after the others of its class */

struct thread_slot {
    pid_t tid;
    enum thread_class cls;
    unsigned int index;
    bool running; /* atomic: cleared by threads_leave() */
    thread_describe_fn describe;
    void *describe_ctx;
};

struct threads {
    pthread_mutex_t lock;
    struct thread_guard guard;
    unsigned int n;
    unsigned int next_index[THREAD_CLASSES];
    struct thread_slot slot[THREADS_MAX];
};

void threads_init(struct threads *ts);
void threads_fini(struct threads *ts);

/* Sets what threads entering from now on are guarded with. Before any thread enters. */
void threads_set_guard(struct threads *ts, const struct thread_guard *guard);

/* Who a thread is, as it enters. describe (may be NULL) tells what it is doing, in reports. */
struct thread_id {
    enum thread_class cls;
    unsigned int index; /* or THREAD_INDEX_NEXT */
    thread_describe_fn describe;
    void *describe_ctx;
};

/*
 * The calling thread joins ts as id says, and is guarded. 0 or -errno; on failure the thread must
 * not go on to do guest work. ts may be NULL (a device under test, with no VM around it): then
 * nothing is recorded or guarded. *slot (slot may be NULL) is the record, for threads_leave().
 */
int threads_enter(struct threads *ts, const struct thread_id *id, struct thread_slot **slot);

/*
 * Starts fn(arg) on a new thread, named name (15 characters at most), with every signal but the
 * fatal ones blocked (a thread that wants one unblocks it), which enters ts as id says before fn
 * runs and leaves when fn returns. Returns once the thread has entered: 0, or -errno if it could
 * not be created or guarded (it then never runs fn, and is joined).
 */
int threads_start(struct threads *ts, pthread_t *thread, const struct thread_id *id,
                  const char *name, void *(*fn)(void *), void *arg);

/* The thread is done with everything it could be stuck in. slot may be NULL. */
void threads_leave(struct thread_slot *slot);

/*
 * Writes one line to fd per thread still running but the caller: its class, number and tid, what it
 * is doing, and the system call and kernel function it waits in (from /proc). Returns how many.
 */
unsigned int threads_report_running(struct threads *ts, int fd);

#endif
