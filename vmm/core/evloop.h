/* SPDX-License-Identifier: MIT */
/*
 * The event loop: one thread waiting in epoll on every file descriptor a device cares about
 * (stdin, eventfds, timers, signals). Callbacks run on that thread only, one at a time.
 */
#ifndef KVMINI_EVLOOP_H
#define KVMINI_EVLOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/core/threads.h"

/* events is the epoll event mask that fired (EPOLLIN, EPOLLHUP, ...). */
typedef void (*ev_fn)(void *opaque, uint32_t events);

#define EVLOOP_MAX_SOURCES 64

struct ev_source {
    int fd;
    ev_fn fn;
    void *opaque;
    int in_use;
};

struct evloop {
    int epfd;
    int stop_fd; /* eventfd: a write ends the loop */
    pthread_t thread;
    int running;
    struct threads
        *threads; /* where the loop thread and devices' helper threads enter; may be NULL */
    struct ev_source sources[EVLOOP_MAX_SOURCES];
};

/* 0 or -errno. */
int evloop_init(struct evloop *loop);

/*
 * Watches fd for events (EPOLLIN, ...). The caller keeps ownership of fd. May be called from a
 * callback of this loop or before evloop_start(). 0, -ENOSPC when full, -errno from epoll.
 */
int evloop_add(struct evloop *loop, int fd, uint32_t events, ev_fn fn, void *opaque);
int evloop_del(struct evloop *loop, int fd);

/* Runs the loop on a new thread. */
int evloop_start(struct evloop *loop);

/* Ends the loop and joins its thread; safe to call when not started or twice. */
void evloop_stop(struct evloop *loop);

/* Closes the loop's own fds (not the watched ones). */
void evloop_fini(struct evloop *loop);

#endif
