// SPDX-License-Identifier: MIT
#include "vmm/core/evloop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

int evloop_init(struct evloop *loop)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    int rc;

    memset(loop, 0, sizeof(*loop));
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        return -errno;
    loop->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->stop_fd < 0) {
        rc = -errno;
        goto err_close_ep;
    }
    /* data.ptr NULL marks the stop eventfd. */
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stop_fd, &ev) < 0) {
        rc = -errno;
        goto err_close_stop;
    }
    return 0;

err_close_stop:
    close(loop->stop_fd);
err_close_ep:
    close(loop->epfd);
    loop->epfd = loop->stop_fd = -1;
    return rc;
}

int evloop_add(struct evloop *loop, int fd, uint32_t events, ev_fn fn, void *opaque)
{
    struct epoll_event ev = { .events = events };

    for (int i = 0; i < EVLOOP_MAX_SOURCES; i++) {
        struct ev_source *src = &loop->sources[i];

        if (src->in_use)
            continue;
        *src = (struct ev_source){ .fd = fd, .fn = fn, .opaque = opaque, .in_use = 1 };
        ev.data.ptr = src;
        if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            int rc = -errno;

            src->in_use = 0;
            return rc;
        }
        return 0;
    }
    return -ENOSPC;
}

int evloop_del(struct evloop *loop, int fd)
{
    for (int i = 0; i < EVLOOP_MAX_SOURCES; i++) {
        struct ev_source *src = &loop->sources[i];

        if (!src->in_use || src->fd != fd)
            continue;
        src->in_use = 0;
        if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
            return -errno;
        return 0;
    }
    return -ENOENT;
}

static void *evloop_thread(void *arg)
{
    struct evloop *loop = arg;
    struct epoll_event evs[16];

    for (;;) {
        int n = epoll_wait(loop->epfd, evs, 16, -1);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        for (int i = 0; i < n; i++) {
            struct ev_source *src = evs[i].data.ptr;

            if (!src)
                return NULL;
            /* A callback earlier in this batch may have removed this source. */
            if (src->in_use)
                src->fn(src->opaque, evs[i].events);
        }
    }
    return NULL;
}

int evloop_start(struct evloop *loop)
{
    const struct thread_id id = { .cls = THREAD_LOOP };
    int rc = threads_start(loop->threads, &loop->thread, &id, "kvmini-loop", evloop_thread, loop);

    if (rc)
        return rc;
    loop->running = 1;
    return 0;
}

void evloop_stop(struct evloop *loop)
{
    uint64_t one = 1;

    if (!loop->running)
        return;
    if (write(loop->stop_fd, &one, sizeof(one)) < 0) {
        /* Only fails if the counter would overflow, i.e. a stop is already pending. */
    }
    pthread_join(loop->thread, NULL);
    loop->running = 0;
}

void evloop_fini(struct evloop *loop)
{
    evloop_stop(loop);
    if (loop->stop_fd >= 0)
        close(loop->stop_fd);
    if (loop->epfd >= 0)
        close(loop->epfd);
    loop->epfd = loop->stop_fd = -1;
}
