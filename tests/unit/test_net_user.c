// SPDX-License-Identifier: MIT
/*
 * The user-mode network backend (devices/net/slirp.c) against real libslirp and a real event
 * loop: a fake guest sends hand-built frames, a fake device collects what comes back. No KVM.
 * Backend calls happen on the loop thread, as in kvmini: sends go through on_loop(), and the
 * fake device's rx_ready reads frames there and hands them to the test under a lock.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "devices/net/slirp.h"
#include "tests/unit/unit.h"
#include "vmm/core/evloop.h"

#define GUEST_IP 0x0a00020fu /* 10.0.2.15 */
#define HOST_IP  0x0a000202u /* 10.0.2.2 */
#define WAIT_MS  5000

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t slirp_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct frame {
    struct frame *next;
    size_t len;
    uint8_t data[];
};

struct tb;
typedef void (*job_fn)(struct tb *t, void *arg);

struct tb {
    struct evloop loop;
    struct net_backend *be;
    int jobfd;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* Under lock. */
    struct frame *frames, **tail;
    unsigned int rx_ready_calls, tx_room_calls, bad_recvs;
    job_fn job;
    void *job_arg;
    bool job_done;
    /* Loop thread only. */
    bool paused;
    uint8_t rxbuf[NET_FRAME_MAX];
};

/* ---- The fake device, on the loop thread ---- */

static void dev_rx_ready(void *ctx)
{
    struct tb *t = ctx;
    ssize_t n;

    pthread_mutex_lock(&t->lock);
    t->rx_ready_calls++;
    pthread_mutex_unlock(&t->lock);
    while (!t->paused && (n = t->be->ops->recv(t->be, t->rxbuf, sizeof(t->rxbuf))) != -EAGAIN) {
        struct frame *f = n > 0 ? malloc(sizeof(*f) + (size_t)n) : NULL;

        pthread_mutex_lock(&t->lock);
        if (f) {
            f->next = NULL;
            f->len = (size_t)n;
            memcpy(f->data, t->rxbuf, (size_t)n);
            *t->tail = f;
            t->tail = &f->next;
        } else {
            t->bad_recvs++;
        }
        pthread_cond_broadcast(&t->cond);
        pthread_mutex_unlock(&t->lock);
    }
}

static void dev_tx_room(void *ctx)
{
    struct tb *t = ctx;

    pthread_mutex_lock(&t->lock);
    t->tx_room_calls++;
    pthread_mutex_unlock(&t->lock);
}

static void job_ready(void *opaque, uint32_t events)
{
    struct tb *t = opaque;
    uint64_t v;
    job_fn fn;
    void *arg;

    if (read(t->jobfd, &v, sizeof(v)) < 0)
        return;
    pthread_mutex_lock(&t->lock);
    fn = t->job;
    arg = t->job_arg;
    pthread_mutex_unlock(&t->lock);
    fn(t, arg);
    pthread_mutex_lock(&t->lock);
    t->job_done = true;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

/* ---- The test's side ---- */

static void deadline_in(struct timespec *ts, unsigned int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static long ms_since(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static long ms_since_us(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t0->tv_sec) * 1000000 + (now.tv_nsec - t0->tv_nsec) / 1000;
}

/* Runs fn(t, arg) on the loop thread and waits for it. */
static void on_loop(struct tb *t, job_fn fn, void *arg)
{
    const uint64_t one = 1;
    struct timespec dl;
    int rc = 0;

    pthread_mutex_lock(&t->lock);
    t->job = fn;
    t->job_arg = arg;
    t->job_done = false;
    pthread_mutex_unlock(&t->lock);
    ck_assert_int_eq(write(t->jobfd, &one, sizeof(one)), (ssize_t)sizeof(one));
    deadline_in(&dl, WAIT_MS);
    pthread_mutex_lock(&t->lock);
    while (!t->job_done && rc == 0)
        rc = pthread_cond_timedwait(&t->cond, &t->lock, &dl);
    pthread_mutex_unlock(&t->lock);
    ck_assert_msg(rc == 0, "the loop thread did not run the job");
}

static struct tb *tb_new(const struct net_user_options *o)
{
    struct tb *t = calloc(1, sizeof(*t));
    struct net_backend_events ev = { .rx_ready = dev_rx_ready, .tx_room = dev_tx_room };
    pthread_condattr_t ca;
    char err[256] = "";
    int rc;

    ck_assert_ptr_nonnull(t);
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    t->tail = &t->frames;
    rc = net_user_create(&t->be, o, err, sizeof(err));
    ck_assert_msg(rc == 0, "net_user_create: %d (%s)", rc, err);
    ck_assert_int_eq(evloop_init(&t->loop), 0);
    t->jobfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ck_assert_int_ge(t->jobfd, 0);
    ck_assert_int_eq(evloop_add(&t->loop, t->jobfd, EPOLLIN, job_ready, t), 0);
    ev.ctx = t;
    ck_assert_int_eq(t->be->ops->start(t->be, &t->loop, &ev), 0);
    ck_assert_int_eq(evloop_start(&t->loop), 0);
    return t;
}

static void tb_free(struct tb *t)
{
    evloop_stop(&t->loop);
    /* This backend never refuses a frame, so it never has room to announce. */
    ck_assert_uint_eq(t->tx_room_calls, 0);
    t->be->ops->destroy(t->be);
    evloop_del(&t->loop, t->jobfd);
    close(t->jobfd);
    evloop_fini(&t->loop);
    while (t->frames) {
        struct frame *f = t->frames;

        t->frames = f->next;
        free(f);
    }
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* The first frame received that pred accepts, taken off the list (free it); NULL after ms. */
static struct frame *tb_wait(struct tb *t, bool (*pred)(const struct frame *, const void *),
                             const void *arg, unsigned int ms)
{
    struct timespec dl;
    struct frame *f = NULL;
    int rc = 0;

    deadline_in(&dl, ms);
    pthread_mutex_lock(&t->lock);
    while (!f && rc == 0) {
        for (struct frame **p = &t->frames; *p; p = &(*p)->next) {
            if (pred(*p, arg)) {
                f = *p;
                if (!(*p = f->next))
                    t->tail = p;
                break;
            }
        }
        if (!f)
            rc = pthread_cond_timedwait(&t->cond, &t->lock, &dl);
    }
    pthread_mutex_unlock(&t->lock);
    return f;
}

struct send_job {
    const uint8_t *buf;
    size_t len;
    unsigned int times;
    int rc;
};

static void send_on_loop(struct tb *t, void *arg)
{
    struct send_job *j = arg;
    /* Two pieces, to exercise the gather. */
    size_t cut = j->len > 10 ? 10 : j->len;
    struct iovec iov[2] = { { (void *)j->buf, cut }, { (void *)(j->buf + cut), j->len - cut } };

    for (unsigned int i = 0; i < j->times && j->rc == 0; i++)
        j->rc = t->be->ops->send(t->be, iov, 2);
}

static void guest_send(struct tb *t, const uint8_t *buf, size_t len)
{
    struct send_job j = { .buf = buf, .len = len, .times = 1 };

    on_loop(t, send_on_loop, &j);
    ck_assert_int_eq(j.rc, 0);
}

/* ---- Frames by hand ---- */

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += be16(p + i);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static size_t put_eth(uint8_t *p, const uint8_t *dst, uint16_t type)
{
    memcpy(p, dst, 6);
    memcpy(p + 6, guest_mac, 6);
    put16(p + 12, type);
    return 14;
}

/* An IPv4 header (20 bytes, DF) for plen bytes of payload, checksummed. */
static size_t put_ip(uint8_t *p, uint8_t proto, uint32_t src, uint32_t dst, size_t plen)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    put16(p + 2, (uint16_t)(20 + plen));
    put16(p + 4, 0x1234);
    put16(p + 6, 0x4000);
    p[8] = 64;
    p[9] = proto;
    put32(p + 12, src);
    put32(p + 16, dst);
    put16(p + 10, fold(sum16(p, 20, 0)));
    return 20;
}

static size_t arp_frame(uint8_t *p, uint16_t op, const uint8_t *tha, uint32_t tpa)
{
    size_t n = put_eth(p, op == 1 ? bcast_mac : tha, 0x0806);

    memset(p + n, 0, 60 - n); /* padded to Ethernet's minimum, as a NIC sends it */
    put16(p + n, 1);
    put16(p + n + 2, 0x0800);
    p[n + 4] = 6;
    p[n + 5] = 4;
    put16(p + n + 6, op);
    memcpy(p + n + 8, guest_mac, 6);
    put32(p + n + 14, GUEST_IP);
    if (op == 2)
        memcpy(p + n + 18, tha, 6);
    put32(p + n + 24, tpa);
    return 60;
}

/* A TCP segment with an MSS option from the guest; checksummed. */
/* A TCP segment from the guest, with an MSS option and len bytes of payload. */
static size_t tcp_segment(uint8_t *p, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq,
                          uint32_t ack, uint8_t flags, const void *data, size_t len)
{
    size_t n = put_eth(p, slirp_mac, 0x0800);
    uint8_t *tcp = p + n + 20;
    uint32_t sum;

    put_ip(p + n, 6, GUEST_IP, dst, 24 + len);
    memset(tcp, 0, 24);
    put16(tcp, sport);
    put16(tcp + 2, dport);
    put32(tcp + 4, seq);
    put32(tcp + 8, ack);
    tcp[12] = 6 << 4;
    tcp[13] = flags;
    put16(tcp + 14, 64240);
    tcp[20] = 2; /* MSS 1460 */
    tcp[21] = 4;
    put16(tcp + 22, 1460);
    if (len)
        memcpy(tcp + 24, data, len);
    /* The pseudo-header: addresses, protocol, TCP length. */
    sum = sum16(p + n + 12, 8, 6 + 24 + (uint32_t)len);
    put16(tcp + 16, fold(sum16(tcp, 24 + len, sum)));
    return n + 20 + 24 + len;
}

static size_t tcp_frame(uint8_t *p, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq,
                        uint32_t ack, uint8_t flags)
{
    return tcp_segment(p, dst, sport, dport, seq, ack, flags, NULL, 0);
}

static bool is_ipv4(const struct frame *f, uint8_t proto)
{
    return f->len >= 14 + 20 && be16(f->data + 12) == 0x0800 && (f->data[14] >> 4) == 4 &&
           f->data[14 + 9] == proto &&
           f->len >= 14 + (size_t)(f->data[14] & 15) * 4 + (proto == 6 ? 20 : 8);
}

static const uint8_t *l4(const struct frame *f)
{
    return f->data + 14 + (f->data[14] & 15) * 4;
}

static bool is_arp(const struct frame *f, uint16_t op, uint32_t tpa)
{
    return f->len >= 42 && be16(f->data + 12) == 0x0806 && be16(f->data + 20) == op &&
           be32(f->data + 38) == tpa;
}

static bool pred_dhcp_reply(const struct frame *f, const void *arg)
{
    return is_ipv4(f, 17) && be16(l4(f)) == 67 && be16(l4(f) + 2) == 68;
}

static bool pred_arp_reply_to_guest(const struct frame *f, const void *arg)
{
    return is_arp(f, 2, GUEST_IP);
}

struct tcp_match {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint8_t flags; /* SYN|ACK bits it must have exactly */
};

/* A TCP segment as described, or slirp's ARP request for the guest (which the caller answers). */
static bool pred_tcp_or_arp(const struct frame *f, const void *arg)
{
    const struct tcp_match *m = arg;

    if (is_arp(f, 1, GUEST_IP))
        return true;
    return is_ipv4(f, 6) && be32(f->data + 26) == m->src && be32(f->data + 30) == m->dst &&
           be16(l4(f)) == m->sport && be16(l4(f) + 2) == m->dport && (l4(f)[13] & 0x12) == m->flags;
}

/* Waits for the segment m describes, answering slirp's ARP requests for the guest meanwhile. */
static struct frame *wait_tcp(struct tb *t, const struct tcp_match *m)
{
    uint8_t buf[64];
    struct frame *f;

    while ((f = tb_wait(t, pred_tcp_or_arp, m, WAIT_MS)) && is_arp(f, 1, GUEST_IP)) {
        guest_send(t, buf, arp_frame(buf, 2, f->data + 22, be32(f->data + 28)));
        free(f);
    }
    return f;
}

/*
 * The guest asks for the gateway's MAC and gets it. Afterwards slirp knows the guest's MAC (no
 * ARP before its next frames), and the backend has just finished a tick: with nothing to do, the
 * next one would come only from its timeout (about 500 ms with a TCP socket or a UDP flow open),
 * so a frame that comes much sooner proves the epoll set of slirp's sockets woke the loop.
 */
#define EPOLL_WAKE_MS 400
static void settle(struct tb *t)
{
    uint8_t p[64];
    struct frame *f;

    guest_send(t, p, arp_frame(p, 1, NULL, HOST_IP));
    f = tb_wait(t, pred_arp_reply_to_guest, NULL, WAIT_MS);
    ck_assert_msg(f, "no ARP reply");
    free(f);
}

/* A TCP socket on 127.0.0.1, listening (or just bound), and its port. */
static int host_socket(int type, bool listening, uint16_t *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);
    int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    if (listening)
        ck_assert_int_eq(listen(s, 4), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return s;
}

/* ---- Tests ---- */

static const struct net_user_options no_fwd;

START_TEST(dhcp_discover_gets_offer)
{
    struct tb *t = tb_new(&no_fwd);
    uint8_t p[14 + 20 + 8 + 300] = { 0 };
    uint8_t *udp = p + 14 + 20, *bp = udp + 8;
    const uint8_t *opt, *end;
    struct frame *f;
    bool offer = false;

    put_eth(p, bcast_mac, 0x0800);
    put_ip(p + 14, 17, 0, 0xffffffffu, 8 + 300);
    put16(udp, 68);
    put16(udp + 2, 67);
    put16(udp + 4, 8 + 300); /* checksum 0: none, as IPv4 allows */
    bp[0] = 1;               /* BOOTREQUEST, Ethernet, 6-byte address */
    bp[1] = 1;
    bp[2] = 6;
    put32(bp + 4, 0xdeadbeef);
    put16(bp + 10, 0x8000); /* reply by broadcast */
    memcpy(bp + 28, guest_mac, 6);
    memcpy(bp + 236, (const uint8_t[]){ 99, 130, 83, 99, 53, 1, 1, 255 }, 8);
    guest_send(t, p, sizeof(p));

    f = tb_wait(t, pred_dhcp_reply, NULL, WAIT_MS);
    ck_assert_msg(f, "no DHCP reply");
    bp = f->data + 14 + 20 + 8;
    ck_assert_uint_ge(f->len, 14 + 20 + 8 + 240);
    ck_assert_int_eq(bp[0], 2);
    ck_assert_uint_eq(be32(bp + 4), 0xdeadbeef);
    ck_assert_uint_eq(be32(bp + 16), GUEST_IP);
    ck_assert_mem_eq(bp + 236, ((const uint8_t[]){ 99, 130, 83, 99 }), 4);
    end = f->data + f->len;
    for (opt = bp + 240; opt + 1 < end && *opt != 255; opt += *opt ? 2 + opt[1] : 1)
        if (opt[0] == 53 && opt[1] == 1 && opt + 2 < end)
            offer = opt[2] == 2;
    ck_assert_msg(offer, "the reply is not a DHCPOFFER");
    free(f);
    pthread_mutex_lock(&t->lock);
    ck_assert_uint_ge(t->rx_ready_calls, 1);
    ck_assert_uint_eq(t->bad_recvs, 0);
    pthread_mutex_unlock(&t->lock);
    tb_free(t);
}
END_TEST

START_TEST(arp_request_for_gateway_gets_reply)
{
    struct tb *t = tb_new(&no_fwd);
    uint8_t p[64];
    struct frame *f;

    guest_send(t, p, arp_frame(p, 1, NULL, HOST_IP));
    f = tb_wait(t, pred_arp_reply_to_guest, NULL, WAIT_MS);
    ck_assert_msg(f, "no ARP reply");
    ck_assert_mem_eq(f->data, guest_mac, 6);        /* to the guest */
    ck_assert_mem_eq(f->data + 22, slirp_mac, 6);   /* sender: the gateway */
    ck_assert_uint_eq(be32(f->data + 28), HOST_IP); /* is at 10.0.2.2 */
    ck_assert_mem_eq(f->data + 32, guest_mac, 6);   /* target: the guest */
    free(f);
    tb_free(t);
}
END_TEST

/* A connection from the guest's port sport to a listening socket on the host's loopback. */
struct conn {
    struct tcp_match m; /* the host's segments to the guest */
    int listener, host; /* the host's ends: listening, and accepted */
    uint16_t port;      /* the host's */
    uint32_t isn;       /* the host side's first sequence number */
};

/* SYN, SYN-ACK (checked), and with ack, the guest's ACK; then the host accepts. */
static void tcp_connect(struct tb *t, struct conn *c, uint16_t sport, bool ack)
{
    struct pollfd pfd = { .events = POLLIN };
    uint8_t p[128];
    struct frame *f;

    c->listener = pfd.fd = host_socket(SOCK_STREAM, true, &c->port);
    c->m = (struct tcp_match){
        .src = HOST_IP, .dst = GUEST_IP, .sport = c->port, .dport = sport, .flags = 0x12
    };
    guest_send(t, p, tcp_frame(p, HOST_IP, sport, c->port, 1000, 0, 0x02));
    f = wait_tcp(t, &c->m);
    ck_assert_msg(f, "no SYN-ACK from 10.0.2.2:%u", c->port);
    ck_assert_uint_eq(be32(l4(f) + 8), 1001); /* acks our SYN */
    c->isn = be32(l4(f) + 4);
    free(f);
    if (ack)
        guest_send(t, p, tcp_frame(p, HOST_IP, sport, c->port, 1001, c->isn + 1, 0x10));
    ck_assert_int_eq(poll(&pfd, 1, WAIT_MS), 1);
    c->host = accept(c->listener, NULL, NULL);
    ck_assert_int_ge(c->host, 0);
}

static void tcp_close(struct conn *c)
{
    close(c->host);
    close(c->listener);
}

START_TEST(tcp_to_gateway_reaches_host_loopback)
{
    struct tb *t = tb_new(&no_fwd);
    struct conn c;

    tcp_connect(t, &c, 40001, false);
    tcp_close(&c);
    tb_free(t);
}
END_TEST

/* A segment from the host's side of the connection m names that carries data. */
static bool pred_tcp_data(const struct frame *f, const void *arg)
{
    const struct tcp_match *m = arg;

    return is_ipv4(f, 6) && be16(l4(f)) == m->sport && be16(l4(f) + 2) == m->dport &&
           be16(f->data + 16) > 20 + (l4(f)[12] >> 4) * 4;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;

    return (x > y) - (x < y);
}

/*
 * Request and response, as netbench's rr does: the guest sends a byte, the host answers one. The
 * answer must reach the guest as soon as the host's socket has it: the socket's readiness wakes
 * the loop, and nothing else keeps it busy meanwhile.
 */
#define RR_ROUNDS 40
START_TEST(reply_reaches_guest_at_once)
{
    struct tb *t = tb_new(&no_fwd);
    long us[RR_ROUNDS];
    uint8_t p[128], byte = 'r';
    struct conn c;

    tcp_connect(t, &c, 40002, true);
    for (uint32_t i = 0; i < RR_ROUNDS; i++) {
        struct pollfd cp = { .fd = c.host, .events = POLLIN };
        struct timespec t0;
        struct frame *f;

        guest_send(t, p,
                   tcp_segment(p, HOST_IP, 40002, c.port, 1001 + i, c.isn + 1 + i, 0x18, &byte, 1));
        ck_assert_int_eq(poll(&cp, 1, WAIT_MS), 1);
        ck_assert_int_eq(recv(c.host, &byte, 1, 0), 1);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ck_assert_int_eq(send(c.host, &byte, 1, 0), 1);
        f = tb_wait(t, pred_tcp_data, &c.m, WAIT_MS);
        ck_assert_msg(f, "round %u: no answer", i);
        us[i] = ms_since_us(&t0);
        free(f);
    }
    qsort(us, RR_ROUNDS, sizeof(us[0]), cmp_long);
    /* Natively tens of microseconds; a 2 ms timer would put the median at 2000 and more. */
    ck_assert_msg(us[RR_ROUNDS / 2] < 1000, "median answer after %ld us (min %ld, max %ld)",
                  us[RR_ROUNDS / 2], us[0], us[RR_ROUNDS - 1]);
    tcp_close(&c);
    tb_free(t);
}
END_TEST

struct udp_match {
    uint16_t sport, dport;
};

static bool pred_udp(const struct frame *f, const void *arg)
{
    const struct udp_match *m = arg;

    return is_ipv4(f, 17) && be32(f->data + 26) == HOST_IP && be32(f->data + 30) == GUEST_IP &&
           be16(l4(f)) == m->sport && be16(l4(f) + 2) == m->dport;
}

/* A socket slirp opens for the guest is watched at once: the host's answer comes back quickly. */
START_TEST(udp_to_gateway_and_back)
{
    struct tb *t = tb_new(&no_fwd);
    uint8_t p[14 + 20 + 8 + 4] = { 0 }, *udp = p + 14 + 20;
    struct sockaddr_in from;
    socklen_t flen = sizeof(from);
    struct pollfd pfd = { .events = POLLIN };
    struct udp_match m = { .dport = 5000 };
    struct timespec t0;
    struct frame *f;
    char buf[16];

    pfd.fd = host_socket(SOCK_DGRAM, false, &m.sport);
    settle(t);
    put_eth(p, slirp_mac, 0x0800);
    put_ip(p + 14, 17, GUEST_IP, HOST_IP, 8 + 4);
    put16(udp, 5000);
    put16(udp + 2, m.sport);
    put16(udp + 4, 8 + 4);
    memcpy(udp + 8, "ping", 4);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    guest_send(t, p, sizeof(p));
    ck_assert_int_eq(poll(&pfd, 1, WAIT_MS), 1);
    ck_assert_int_eq(recvfrom(pfd.fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen), 4);
    ck_assert_mem_eq(buf, "ping", 4);
    /* Past the tick that follows the send, so only the epoll set can notice the answer soon. */
    nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000000L }, NULL);
    ck_assert_int_eq(sendto(pfd.fd, "pong", 4, 0, (struct sockaddr *)&from, flen), 4);
    f = tb_wait(t, pred_udp, &m, WAIT_MS);
    ck_assert_msg(f, "no UDP answer from 10.0.2.2:%u", m.sport);
    ck_assert_uint_ge(f->len, 14 + 20 + 8 + 4);
    ck_assert_mem_eq(l4(f) + 8, "pong", 4);
    ck_assert_int_lt(ms_since(&t0), EPOLL_WAKE_MS);
    free(f);
    close(pfd.fd);
    tb_free(t);
}
END_TEST

START_TEST(hostfwd_reaches_guest_port)
{
    struct net_user_options o = { .nr_fwd = 1 };
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);
    struct tcp_match m = { .src = HOST_IP, .dst = GUEST_IP, .dport = 80, .flags = 0x02 };
    struct timespec t0;
    struct frame *f;
    struct tb *t;
    uint16_t port;
    int s;

    /* A port free a moment ago: the backend binds it itself. */
    close(host_socket(SOCK_STREAM, false, &port));
    o.fwd[0] = (struct net_user_fwd){ .host_addr.s_addr = htonl(INADDR_LOOPBACK),
                                      .host_port = port,
                                      .guest_port = 80 };
    t = tb_new(&o);
    settle(t);
    a.sin_port = htons(port);
    s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
    /* The guest sees the connection come from 10.0.2.2, from the host client's port. */
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    m.sport = ntohs(a.sin_port);
    f = wait_tcp(t, &m);
    ck_assert_msg(f, "no SYN from 10.0.2.2:%u to 10.0.2.15:80", m.sport);
    ck_assert_int_lt(ms_since(&t0), EPOLL_WAKE_MS);
    free(f);
    close(s);
    tb_free(t);
}
END_TEST

START_TEST(hostfwd_port_in_use_is_named)
{
    struct net_user_options o = { .nr_fwd = 1 };
    struct net_backend dummy, *be = &dummy; /* to see it set to NULL */
    char err[256] = "", port_s[16];
    uint16_t port;
    int s, rc;

    for (int udp = 0; udp < 2; udp++) {
        s = host_socket(udp ? SOCK_DGRAM : SOCK_STREAM, !udp, &port);
        o.fwd[0] = (struct net_user_fwd){ .udp = udp,
                                          .host_addr.s_addr = htonl(INADDR_LOOPBACK),
                                          .host_port = port,
                                          .guest_port = 80 };
        rc = net_user_create(&be, &o, err, sizeof(err));
        ck_assert_int_eq(rc, -EADDRINUSE);
        ck_assert_ptr_null(be);
        snprintf(port_s, sizeof(port_s), ":%u ", port);
        ck_assert_msg(strstr(err, port_s) && strstr(err, udp ? "udp" : "tcp") &&
                          strstr(err, "in use") && !strchr(err, '\n'),
                      "err: %s", err);
        close(s);
    }
}
END_TEST

struct flood {
    size_t queued_after_flood, drained, queued_after_drain;
    ssize_t last;
};

static void flood_pause(struct tb *t, void *arg)
{
    t->paused = true;
}

static void flood_count(struct tb *t, void *arg)
{
    ((struct flood *)arg)->queued_after_flood = net_user_queued(t->be);
}

static void flood_drain(struct tb *t, void *arg)
{
    struct flood *fl = arg;

    while ((fl->last = t->be->ops->recv(t->be, t->rxbuf, sizeof(t->rxbuf))) > 0)
        fl->drained++;
    fl->queued_after_drain = net_user_queued(t->be);
    t->paused = false;
}

START_TEST(rx_queue_is_bounded)
{
    struct tb *t = tb_new(&no_fwd);
    struct flood fl = { 0 };
    uint8_t p[64];
    struct send_job j = { .buf = p, .len = arp_frame(p, 1, NULL, HOST_IP), .times = 1000 };

    on_loop(t, flood_pause, NULL);
    on_loop(t, send_on_loop, &j);
    ck_assert_int_eq(j.rc, 0);
    on_loop(t, flood_count, &fl);
    ck_assert_uint_eq(fl.queued_after_flood, 256);
    on_loop(t, flood_drain, &fl);
    ck_assert_uint_eq(fl.drained, 256);
    ck_assert_int_eq(fl.last, -EAGAIN);
    ck_assert_uint_eq(fl.queued_after_drain, 0);
    tb_free(t);
}
END_TEST

struct edges {
    ssize_t recv_empty;
    int send_big;
};

static void edges_job(struct tb *t, void *arg)
{
    struct edges *e = arg;
    static uint8_t big[NET_FRAME_MAX + 1];
    struct iovec iov[2] = { { big, 100 }, { big, NET_FRAME_MAX + 1 - 100 } };

    e->recv_empty = t->be->ops->recv(t->be, t->rxbuf, sizeof(t->rxbuf));
    e->send_big = t->be->ops->send(t->be, iov, 2);
}

START_TEST(backend_edges)
{
    struct tb *t = tb_new(&no_fwd);
    struct edges e;

    ck_assert_str_eq(t->be->name, "user");
    ck_assert(!t->be->vnet_hdr);
    ck_assert_uint_eq(t->be->offloads, 0);
    on_loop(t, edges_job, &e);
    ck_assert_int_eq(e.recv_empty, -EAGAIN);
    ck_assert_int_eq(e.send_big, -EMSGSIZE);
    tb_free(t);
}
END_TEST

/* Two VMs in one process: two backends, each on its own loop thread, each answers its guest. */
START_TEST(two_instances)
{
    struct tb *t[2] = { tb_new(&no_fwd), tb_new(&no_fwd) };
    uint8_t p[64];

    for (int i = 0; i < 2; i++)
        guest_send(t[i], p, arp_frame(p, 1, NULL, HOST_IP));
    for (int i = 0; i < 2; i++) {
        struct frame *f = tb_wait(t[i], pred_arp_reply_to_guest, NULL, WAIT_MS);

        ck_assert_msg(f, "instance %d: no ARP reply", i);
        free(f);
    }
    tb_free(t[0]);
    tb_free(t[1]);
}
END_TEST

static Suite *net_user_suite(void)
{
    Suite *s = suite_create("net_user");
    TCase *tc = tcase_create("slirp");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, dhcp_discover_gets_offer);
    tcase_add_test(tc, arp_request_for_gateway_gets_reply);
    tcase_add_test(tc, tcp_to_gateway_reaches_host_loopback);
    tcase_add_test(tc, reply_reaches_guest_at_once);
    tcase_add_test(tc, udp_to_gateway_and_back);
    tcase_add_test(tc, hostfwd_reaches_guest_port);
    tcase_add_test(tc, hostfwd_port_in_use_is_named);
    tcase_add_test(tc, rx_queue_is_bounded);
    tcase_add_test(tc, backend_edges);
    tcase_add_test(tc, two_instances);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(net_user_suite());
}
