// SPDX-License-Identifier: MIT
#include "devices/outbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/core/nonblock.h"

enum outbuf_way {
    OUT_PLAIN,    /* a regular file, /dev/null or anything epoll refuses: write() does not block */
    OUT_REOPENED, /* our own O_NONBLOCK file description of a pipe, FIFO or terminal */
    OUT_SOCKET,   /* send() with MSG_DONTWAIT */
};

struct outbuf {
    struct evloop *loop;
    int fd; /* what is written to: the caller's fd, or our reopened one */
    bool own_fd;
    enum outbuf_way way;
    void (*room)(void *ctx);
    void *room_ctx;

    pthread_mutex_t lock; /* everything below */
    bool dead;            /* the reader is gone (EPIPE, ...): what comes is dropped */
    bool refused;         /* a write took fewer bytes than offered: room() is owed */
    size_t head, len;     /* the ring: len bytes from head, wrapping */
    uint8_t ring[OUTBUF_CAP];
};

/*
 * Writes as much of buf as the fd takes without blocking: all of it, or until it would block
 * (then the fd is known full, so the edge-triggered watch reports the next change). The number
 * written, or -errno when the reader is gone or the fd broken.
 */
static ssize_t write_some(struct outbuf *o, const uint8_t *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = o->way == OUT_SOCKET
                        ? send(o->fd, buf + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL)
                        : write(o->fd, buf + done, len - done);

        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            return n < 0 ? -errno : -EIO;
        }
    }
    return (ssize_t)done;
}

/* Writes from the ring until it is empty or the fd is full. Lock held. */
static void drain_locked(struct outbuf *o)
{
    while (o->len && !o->dead) {
        size_t chunk = o->len < OUTBUF_CAP - o->head ? o->len : OUTBUF_CAP - o->head;
        ssize_t n = write_some(o, o->ring + o->head, chunk);

        if (n < 0) {
            o->dead = true;
            o->len = 0;
        } else {
            o->head = (o->head + (size_t)n) % OUTBUF_CAP;
            o->len -= (size_t)n;
            if ((size_t)n < chunk)
                break;
        }
    }
    if (!o->len)
        o->head = 0;
}

/* The fd became writable (edge-triggered), or broke: write what waits, then owe room() maybe. */
static void on_writable(void *opaque, uint32_t events)
{
    struct outbuf *o = opaque;
    bool owe_room;

    (void)events; /* an error or hang-up shows in the write itself */
    pthread_mutex_lock(&o->lock);
    drain_locked(o);
    owe_room = o->refused && (o->dead || o->len <= OUTBUF_CAP / 2);
    if (owe_room)
        o->refused = false;
    pthread_mutex_unlock(&o->lock);
    if (owe_room && o->room)
        o->room(o->room_ctx);
}

/* Chooses how to write fd without blocking and without touching its flags; see outbuf.h. */
static int choose_way(struct outbuf *o, int fd)
{
    struct stat st;
    int nfd, rc;

    o->fd = fd;
    o->way = OUT_PLAIN;
    if (fd < 0 || fstat(fd, &st) < 0 || S_ISREG(st.st_mode))
        return 0;
    if (S_ISSOCK(st.st_mode)) {
        o->way = OUT_SOCKET;
    } else {
        nfd = reopen_nonblocking(fd);
        /* Fails for a pipe nobody reads (then writes fail at once) or with no /proc. */
        if (nfd < 0)
            return 0;
        o->fd = nfd;
        o->own_fd = true;
        o->way = OUT_REOPENED;
    }
    rc = evloop_add(o->loop, o->fd, EPOLLOUT | EPOLLET, on_writable, o);
    if (rc == -EPERM) {
        o->way = OUT_PLAIN; /* epoll refuses what never blocks: /dev/null, ... */
        return 0;
    }
    return rc;
}

int outbuf_create(struct outbuf **out, struct evloop *loop, int fd, void (*room)(void *ctx),
                  void *room_ctx)
{
    struct outbuf *o = calloc(1, sizeof(*o));
    int rc;

    if (!o)
        return -ENOMEM;
    o->loop = loop;
    o->room = room;
    o->room_ctx = room_ctx;
    if ((rc = -pthread_mutex_init(&o->lock, NULL)))
        goto err_free;
    if ((rc = choose_way(o, fd)))
        goto err_close;
    *out = o;
    return 0;

err_close:
    if (o->own_fd)
        close(o->fd);
    pthread_mutex_destroy(&o->lock);
err_free:
    free(o);
    return rc;
}

size_t outbuf_write(struct outbuf *o, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    size_t taken = 0;
    ssize_t n;

    pthread_mutex_lock(&o->lock);
    if (o->way == OUT_PLAIN && !o->dead) {
        /* A file does not block; one that fails (a full disk) takes nothing more. */
        n = write_some(o, p, len);
        o->dead = n < 0 || (size_t)n < len;
        taken = len;
    } else if (o->dead) {
        taken = len; /* nobody reads: the bytes go nowhere, as on a line with no far end */
    } else {
        if (!o->len) { /* nothing waits before these bytes: straight to the fd */
            n = write_some(o, p, len);
            if (n < 0)
                o->dead = true;
            taken = n < 0 ? len : (size_t)n;
        }
        /* The rest waits in the ring, as much as fits: at most two pieces (before the wrap). */
        while (taken < len && o->len < OUTBUF_CAP) {
            size_t tail = (o->head + o->len) % OUTBUF_CAP;
            size_t free_run = tail >= o->head ? OUTBUF_CAP - tail : o->head - tail;
            size_t chunk = len - taken < free_run ? len - taken : free_run;

            memcpy(o->ring + tail, p + taken, chunk);
            o->len += chunk;
            taken += chunk;
        }
        if (taken < len)
            o->refused = true;
    }
    pthread_mutex_unlock(&o->lock);
    return taken;
}

size_t outbuf_room(struct outbuf *o)
{
    size_t room;

    pthread_mutex_lock(&o->lock);
    room = o->way == OUT_PLAIN || o->dead ? OUTBUF_CAP : OUTBUF_CAP - o->len;
    pthread_mutex_unlock(&o->lock);
    return room;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void outbuf_destroy(struct outbuf *o, unsigned int flush_ms)
{
    int64_t deadline = now_ms() + flush_ms;

    if (!o)
        return;
    if (o->way != OUT_PLAIN)
        evloop_del(o->loop, o->fd);
    pthread_mutex_lock(&o->lock);
    for (;;) {
        struct pollfd pfd = { .fd = o->fd, .events = POLLOUT };
        int64_t left;

        drain_locked(o);
        left = deadline - now_ms();
        if (!o->len || o->dead || left <= 0)
            break;
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
            break;
    }
    pthread_mutex_unlock(&o->lock);
    if (o->own_fd)
        close(o->fd);
    pthread_mutex_destroy(&o->lock);
    free(o);
}
