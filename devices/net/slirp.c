// SPDX-License-Identifier: MIT
/*
 * The user-mode network backend (slirp.h) on libslirp. A "tick" is one round of libslirp's poll
 * protocol: fill, poll(0), hand back the results, then fill again to learn what to watch next.
 * The event loop watches one epoll set, holding slirp's sockets and the timerfd, and runs a tick
 * when it fires.
 */
#include "devices/net/slirp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/net/epoll_set.h"
#include "devices/net/slirp_lib.h"
#include "vmm/core/log.h"

/* A NIC's ring, roughly: past this the guest is not reading, and TCP will retransmit. */
#define RXQ_MAX_FRAMES 256
#define RXQ_MAX_BYTES  (1u << 20)

struct rx_frame {
    struct rx_frame *next;
    size_t len;
    uint8_t data[];
};

struct nu_timer {
    struct nu_timer *next;
    int64_t expire_ms; /* -1: not armed */
    SlirpTimerId id;
    void *cb_opaque;
};

struct net_user {
    struct net_backend be;
    struct slirp_lib lib;
    Slirp *slirp;
    struct evloop *loop; /* once started */
    struct net_backend_events ev;
    /* slirp's sockets as the last fill asked, and tfd: the one fd the loop watches */
    struct epoll_set watch;
    int tfd; /* slirp's timers, its poll timeout, and kicks */
    bool in_tick;
    bool in_send;      /* inside nu_send: the device reads what slirp_input queued right after */
    bool kicked;       /* a tick is wanted now */
    bool rx_pending;   /* frames were queued since rx_ready was last called */
    bool warned;       /* guest_error already logged */
    int64_t poll_due;  /* CLOCK_MONOTONIC ns: when slirp's TCP timers next want a poll */
    int64_t armed_due; /* when the timerfd fires as last set; 0: it has fired since */
    struct pollfd *pfd;
    size_t nr_pfd, cap_pfd;
    struct nu_timer *timers;
    struct rx_frame *head, **tail;
    size_t nr_frames, bytes;
    uint64_t dropped;
    uint8_t *txbuf; /* NET_FRAME_MAX: a gathered frame for slirp_input */
};

static int64_t cb_clock_get_ns(void *opaque)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One timerfd serves all: the earliest of a kick, slirp's poll timeout and its timers. */
static void nu_arm(struct net_user *u)
{
    int64_t due = u->kicked ? 1 : u->poll_due;
    struct itimerspec its = { 0 };

    for (struct nu_timer *t = u->timers; t; t = t->next)
        if (t->expire_ms >= 0 && t->expire_ms * 1000000 < due)
            due = t->expire_ms * 1000000;
    due = due < 1 ? 1 : due; /* 0 would disarm it; a time in the past fires at once */
    /*
     * Set already for that time or sooner and not yet fired: leave it. A tick that comes early
     * finds little to do, and costs less than a system call on every frame.
     */
    if (u->armed_due && u->armed_due <= due && u->armed_due > cb_clock_get_ns(NULL))
        return;
    u->armed_due = due;
    its.it_value.tv_sec = due / 1000000000;
    its.it_value.tv_nsec = due % 1000000000;
    timerfd_settime(u->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void nu_kick(struct net_user *u)
{
    if (u->kicked)
        return;
    u->kicked = true;
    if (!u->in_tick)
        nu_arm(u);
}

/* ---- SlirpCb ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct net_user *u = opaque;
    struct rx_frame *f;

    /* len even for a drop: a negative return makes libslirp print a g_critical. */
    if (u->nr_frames >= RXQ_MAX_FRAMES || u->bytes + len > RXQ_MAX_BYTES || len > NET_FRAME_MAX ||
        !(f = malloc(sizeof(*f) + len))) {
        u->dropped++;
        return (ssize_t)len;
    }
    f->next = NULL;
    f->len = len;
    memcpy(f->data, buf, len);
    *u->tail = f;
    u->tail = &f->next;
    u->nr_frames++;
    u->bytes += len;
    /*
     * rx_ready waits for the end of the tick: we are inside libslirp, which the device calls.
     * Frames that a send makes (an ACK, data the guest's window now lets through) need not even
     * that: the device reads after every send (backend.h).
     */
    u->rx_pending = true;
    if (!u->in_tick && !u->in_send)
        nu_kick(u);
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    struct net_user *u = opaque;

    if (u->warned)
        return;
    u->warned = true;
    log_warn("--net user: libslirp rejects a frame of the guest (%s); no more will be reported",
             msg);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    struct net_user *u = opaque;
    struct nu_timer *t = calloc(1, sizeof(*t));

    /* libslirp cannot hear of a failure: a NULL timer is one that never fires. */
    if (!t)
        return NULL;
    *t = (struct nu_timer){ .next = u->timers, .expire_ms = -1, .id = id, .cb_opaque = cb_opaque };
    u->timers = t;
    return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
    struct net_user *u = opaque;

    for (struct nu_timer **p = &u->timers; *p; p = &(*p)->next) {
        if (*p == timer) {
            *p = (*p)->next;
            free(timer);
            return;
        }
    }
}

/* expire_ms: milliseconds of cb_clock_get_ns's clock. */
static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    struct net_user *u = opaque;
    struct nu_timer *t = timer;

    if (!t)
        return;
    t->expire_ms = expire_ms < 0 ? 0 : expire_ms;
    if (!u->in_tick)
        nu_arm(u);
}

static void cb_register_poll_fd(int fd, void *opaque)
{
    /* Nothing: the next fill says how to watch it. */
}

/*
 * libslirp calls this just before it closes fd. Unwatching it now matters: the number may come
 * back for a new socket, which a diff by fd number would take for the old one, gone from epoll.
 */
static void cb_unregister_poll_fd(int fd, void *opaque)
{
    epoll_set_forget(&((struct net_user *)opaque)->watch, fd);
}

static void cb_notify(void *opaque)
{
    nu_kick(opaque);
}

static const SlirpCb nu_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* ---- The tick ---- */

/* Makes room for index i in *arr (of *nr elements, zeroed when new). */
static bool grow(void *arr, size_t *nr, size_t size, size_t i)
{
    size_t n = 2 * i + 64;
    void *p;

    if (i < *nr)
        return true;
    if (!(p = realloc(*(void **)arr, n * size)))
        return false;
    memset((char *)p + *nr * size, 0, (n - *nr) * size);
    *(void **)arr = p;
    *nr = n;
    return true;
}

static int cb_add_poll(int fd, int events, void *opaque)
{
    struct net_user *u = opaque;
    short pe = (events & SLIRP_POLL_IN ? POLLIN : 0) | (events & SLIRP_POLL_OUT ? POLLOUT : 0) |
               (events & SLIRP_POLL_PRI ? POLLPRI : 0);

    if (!grow(&u->pfd, &u->cap_pfd, sizeof(*u->pfd), u->nr_pfd))
        return -1; /* libslirp skips this socket for one round */
    u->pfd[u->nr_pfd] = (struct pollfd){ .fd = fd, .events = pe };
    return (int)u->nr_pfd++;
}

static int cb_get_revents(int idx, void *opaque)
{
    short re = ((struct net_user *)opaque)->pfd[idx].revents;

    return (re & POLLIN ? SLIRP_POLL_IN : 0) | (re & POLLOUT ? SLIRP_POLL_OUT : 0) |
           (re & POLLPRI ? SLIRP_POLL_PRI : 0) | (re & (POLLERR | POLLNVAL) ? SLIRP_POLL_ERR : 0) |
           (re & POLLHUP ? SLIRP_POLL_HUP : 0);
}

/* Brings the epoll set to what the last fill (u->pfd) asked for. */
static void nu_sync(struct net_user *u)
{
    /* One it cannot watch is still polled by every tick, which comes at least every 1 s. */
    for (size_t i = 0; i < u->nr_pfd; i++) {
        short pe = u->pfd[i].events;

        epoll_set_want(&u->watch, u->pfd[i].fd,
                       (pe & POLLIN ? EPOLLIN : 0) | (pe & POLLOUT ? EPOLLOUT : 0) |
                           (pe & POLLPRI ? EPOLLPRI : 0));
    }
    epoll_set_apply(&u->watch);
}

static void nu_run_timers(struct net_user *u)
{
    int64_t now_ms = cb_clock_get_ns(NULL) / 1000000;

    /* After each handler, from the top: it may have freed timers. It re-arms only forward. */
    for (struct nu_timer *t = u->timers; t;) {
        if (t->expire_ms < 0 || t->expire_ms > now_ms) {
            t = t->next;
            continue;
        }
        t->expire_ms = -1;
        u->lib.handle_timer(u->slirp, t->id, t->cb_opaque);
        t = u->timers;
    }
}

/* Asks libslirp what to watch, and when it next wants a poll (poll_due). */
static void nu_refresh(struct net_user *u)
{
    uint32_t timeout = UINT32_MAX;

    u->nr_pfd = 0;
    u->lib.pollfds_fill(u->slirp, &timeout, cb_add_poll, u);
    nu_sync(u);
    /* At most 1 s, even when idle: libslirp's TCP timers and UDP expiry run from the polls. */
    u->poll_due = cb_clock_get_ns(NULL) + (int64_t)timeout * 1000000;
}

static void nu_tick(void *opaque, uint32_t events)
{
    struct net_user *u = opaque;
    uint32_t timeout = UINT32_MAX;
    uint64_t expirations;
    int rc;

    if (read(u->tfd, &expirations, sizeof(expirations)) == sizeof(expirations))
        u->armed_due = 0;
    /* else EAGAIN: a socket woke us, not the timer. */
    u->in_tick = true;
    u->kicked = false;
    nu_run_timers(u);
    u->nr_pfd = 0;
    u->lib.pollfds_fill(u->slirp, &timeout, cb_add_poll, u);
    rc = poll(u->pfd, u->nr_pfd, 0);
    u->lib.pollfds_poll(u->slirp, rc < 0, cb_get_revents, u);

    /* That may have opened or closed sockets and changed what the others wait for. */
    nu_refresh(u);
    u->in_tick = false;
    nu_arm(u);

    if (u->rx_pending && u->nr_frames) {
        u->rx_pending = false;
        u->ev.rx_ready(u->ev.ctx);
    }
}

/* ---- struct net_backend_ops ---- */

static int nu_start(struct net_backend *be, struct evloop *loop,
                    const struct net_backend_events *ev)
{
    struct net_user *u = (struct net_user *)be;
    int rc;

    if (u->loop)
        return -EBUSY;
    u->ev = *ev;
    /* One source, so that a socket and the timer ready at once make one tick, not two. */
    if ((rc = evloop_add(loop, u->watch.epfd, EPOLLIN, nu_tick, u)) < 0)
        return rc;
    u->loop = loop;
    /* The first tick puts the forwarded ports' listening sockets in the epoll set. */
    nu_kick(u);
    return 0;
}

static ssize_t nu_recv(struct net_backend *be, void *buf, size_t len)
{
    struct net_user *u = (struct net_user *)be;
    struct rx_frame *f = u->head;
    ssize_t rc = -EMSGSIZE;

    if (!f)
        return -EAGAIN;
    if (!(u->head = f->next))
        u->tail = &u->head;
    u->nr_frames--;
    u->bytes -= f->len;
    if (f->len <= len) {
        memcpy(buf, f->data, f->len);
        rc = (ssize_t)f->len;
    }
    free(f);
    return rc;
}

static int nu_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
    struct net_user *u = (struct net_user *)be;
    size_t len = 0;

    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len > NET_FRAME_MAX - len)
            return -EMSGSIZE;
        memcpy(u->txbuf + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    u->in_send = true;
    u->lib.input(u->slirp, u->txbuf, (int)len);
    u->in_send = false;
    /*
     * No tick for it: libslirp has written what it could to the host's socket already, and the
     * device reads the replies it made after this send. What is left is to watch the sockets the
     * frame opened or changed, and to poll when a timer it started (a delayed ACK) is due.
     */
    nu_refresh(u);
    if (!u->kicked)
        nu_arm(u);
    return 0;
}

static void nu_destroy(struct net_backend *be)
{
    struct net_user *u = (struct net_user *)be;

    if (u->loop)
        evloop_del(u->loop, u->watch.epfd);
    /* Before the closes: its unregister_poll_fd and timer_free callbacks use watch and timers. */
    u->lib.cleanup(u->slirp);
    close(u->tfd);
    epoll_set_fini(&u->watch);
    while (u->timers)
        cb_timer_free(u->timers, u);
    while (u->head) {
        struct rx_frame *f = u->head;

        u->head = f->next;
        free(f);
    }
    free(u->pfd);
    free(u->txbuf);
    slirp_lib_close(&u->lib);
    free(u);
}

static const struct net_backend_ops nu_ops = {
    .start = nu_start,
    .recv = nu_recv,
    .send = nu_send,
    .destroy = nu_destroy,
};

size_t net_user_queued(struct net_backend *be)
{
    return ((struct net_user *)be)->nr_frames;
}

/* ---- Creation ---- */

static int nu_add_fwds(struct net_user *u, const struct net_user_options *o, char *err, size_t len)
{
    for (unsigned int i = 0; i < o->nr_fwd; i++) {
        const struct net_user_fwd *f = &o->fwd[i];
        struct in_addr guest = { .s_addr = htonl(0x0a00020f) }; /* 10.0.2.15 */
        char addr[INET_ADDRSTRLEN];
        const char *why;
        int e;

        if (f->guest_addr.s_addr)
            guest = f->guest_addr;
        errno = 0;
        if (!u->lib.add_hostfwd(u->slirp, f->udp, f->host_addr, f->host_port, guest, f->guest_port))
            continue;
        e = errno ? errno : EADDRINUSE; /* libslirp keeps bind()'s errno */
        why = e == EADDRINUSE      ? "the port is in use; pick another HOSTPORT"
              : e == EACCES        ? "the port needs privilege (below 1024); pick another HOSTPORT"
              : e == EADDRNOTAVAIL ? "HOSTADDR is not this host's; give one that is, or none"
                                   : strerror(e);
        inet_ntop(AF_INET, &f->host_addr, addr, sizeof(addr));
        snprintf(err, len, "--net user: cannot forward host port %s:%u (%s): %s", addr,
                 f->host_port, f->udp ? "udp" : "tcp", why);
        return -e;
    }
    return 0;
}

static int setup_error(char *err, size_t len, const char *what, int rc)
{
    snprintf(err, len, "--net user: %s: %s", what, strerror(-rc));
    return rc;
}

int net_user_create(struct net_backend **out, const struct net_user_options *o, char *err,
                    size_t len)
{
    /* restricted, in6_enabled and disable_host_loopback stay false. */
    const SlirpConfig cfg = {
        .version = 4,
        .in_enabled = true,
        .vnetwork.s_addr = htonl(0x0a000200), /* 10.0.2.0/24 */
        .vnetmask.s_addr = htonl(0xffffff00),
        .vhost.s_addr = htonl(0x0a000202),       /* 10.0.2.2, also the host's loopback */
        .vdhcp_start.s_addr = htonl(0x0a00020f), /* 10.0.2.15 */
        .vnameserver.s_addr = htonl(0x0a000203), /* 10.0.2.3 */
        .if_mtu = 1500,
        .if_mru = 1500,
    };
    struct net_user *u;
    int rc;

    *out = NULL;
    if (o->nr_fwd > NET_USER_MAX_FWD)
        return setup_error(err, len, "too many hostfwd rules", -EINVAL);
    u = calloc(1, sizeof(*u));
    if (!u || !(u->txbuf = malloc(NET_FRAME_MAX))) {
        rc = setup_error(err, len, "allocating", -ENOMEM);
        goto err_free;
    }
    u->be = (struct net_backend){ .ops = &nu_ops, .name = "user" };
    u->tail = &u->head;
    if ((rc = epoll_set_init(&u->watch)) < 0) {
        rc = setup_error(err, len, "epoll_create1", rc);
        goto err_free;
    }
    if ((u->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0) {
        rc = setup_error(err, len, "timerfd_create", -errno);
        goto err_close_ep;
    }
    /* Beside the set's own fds: slirp does not know it, so no round ever drops it. */
    if (epoll_ctl(u->watch.epfd, EPOLL_CTL_ADD, u->tfd,
                  &(struct epoll_event){ .events = EPOLLIN, .data.fd = u->tfd }) < 0) {
        rc = setup_error(err, len, "epoll_ctl", -errno);
        goto err_close_timer;
    }
    if ((rc = slirp_lib_open(&u->lib, err, len)) < 0)
        goto err_close_timer;
    if (!(u->slirp = u->lib.new_instance(&cfg, &nu_callbacks, u))) {
        rc = setup_error(err, len, "libslirp refused the configuration", -EINVAL);
        goto err_close_lib;
    }
    if ((rc = nu_add_fwds(u, o, err, len)) < 0)
        goto err_cleanup;
    *out = &u->be;
    return 0;

err_cleanup:
    u->lib.cleanup(u->slirp); /* with the forwards already made, and any timers */
err_close_lib:
    slirp_lib_close(&u->lib);
err_close_timer:
    close(u->tfd);
err_close_ep:
    epoll_set_fini(&u->watch);
err_free:
    if (u)
        free(u->txbuf);
    free(u);
    return rc;
}
