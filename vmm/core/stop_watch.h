/* SPDX-License-Identifier: MIT */
/*
 * A stop that always completes. Once a stop is requested, the VM's threads have a few seconds to
 * finish; a thread stuck where kvmini cannot reach it (a disk worker in a read from a host disk
 * that hangs, a vCPU writing to a terminal nobody reads) would otherwise keep kvmini alive for
 * ever. The watchdog then names every thread still running and where it is, gives the terminal
 * back, and ends the process with EXIT_STOP_STUCK.
 */
#ifndef KVMINI_STOP_WATCH_H
#define KVMINI_STOP_WATCH_H

#include <pthread.h>
#include <stdbool.h>

#include "vmm/core/threads.h"

#define STOP_WATCH_SECONDS     5 /* KVMINI_STOP_SECONDS overrides it */
#define STOP_WATCH_MAX_SECONDS 3600

struct stop_watch {
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool armed; /* a stop was requested: the clock runs */
    bool ended; /* the stop completed: the watchdog leaves */
    unsigned int seconds;
    int report_fd; /* stderr, reopened non-blocking where it could block */
    struct threads *threads;
};

/* Starts the watchdog thread, idle until stop_watch_arm(). 0 or -errno. */
int stop_watch_start(struct stop_watch *w, struct threads *threads, unsigned int seconds);

/* A stop was requested: the threads have w->seconds to finish. Safe from any thread, repeatable. */
void stop_watch_arm(struct stop_watch *w);

/* The stop completed: ends and joins the watchdog. Safe if it never started. */
void stop_watch_end(struct stop_watch *w);

#endif
