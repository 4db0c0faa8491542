// SPDX-License-Identifier: MIT
/*
 * virtio-net (devices/virtio/net.c) against a fake driver (tests/unit/fake_ring.h, both queues in
 * one guest RAM) and a fake backend, on a real event loop: frames both ways, the header and its
 * offload flags, MRG_RXBUF's num_buffers, every malformed transmit case (dropped and counted),
 * receive into a full ring (the frame waits), a backend that is full (the chain waits), and a
 * broken ring (NEEDS_RESET).
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_net.h>

#include "devices/virtio/net.h"
#include "tests/unit/fake_ring.h"
#include "tests/unit/two_queues.h"
#include "tests/unit/unit.h"

#define RAM_BASE TQ_RAM_BASE
#define RAM_SIZE (4ULL << 20)
#define QSIZE    64
#define HDR      12
#define RX_DESC  TQ_RX_DESC
#define RX_AVAIL TQ_RX_AVAIL
#define RX_USED  TQ_RX_USED
#define TX_DESC  TQ_TX_DESC
#define TX_AVAIL TQ_TX_AVAIL
#define TX_USED  TQ_TX_USED
#define BUF(i)   (TQ_DATA + 0x10000ULL * (i)) /* 64 KiB each */
#define F(bit)   (1ULL << (bit))

/* ---- The fake backend: frames in a list each way, under a lock (loop thread vs test). ---- */

struct fake_be {
    struct net_backend be;
    pthread_mutex_t lock;
    struct net_backend_events ev;
    uint8_t sent[8][NET_FRAME_MAX + HDR];
    size_t sent_len[8];
    unsigned int nr_sent;
    uint8_t pending[4][NET_FRAME_MAX + HDR];
    size_t pending_len[4];
    unsigned int nr_pending;
    int full; /* send says -EAGAIN this many times */
};

static int be_start(struct net_backend *be, struct evloop *loop,
                    const struct net_backend_events *ev)
{
    (void)loop;
    ((struct fake_be *)be)->ev = *ev;
    return 0;
}

static ssize_t be_recv(struct net_backend *be, void *buf, size_t len)
{
    struct fake_be *f = (struct fake_be *)be;
    ssize_t n = -EAGAIN;

    pthread_mutex_lock(&f->lock);
    if (f->nr_pending) {
        n = (ssize_t)f->pending_len[0];
        ck_assert_uint_ge(len, (size_t)n);
        memcpy(buf, f->pending[0], (size_t)n);
        memmove(f->pending[0], f->pending[1], sizeof(f->pending[0]) * 3);
        memmove(f->pending_len, f->pending_len + 1, sizeof(size_t) * 3);
        f->nr_pending--;
    }
    pthread_mutex_unlock(&f->lock);
    return n;
}

static int be_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
    struct fake_be *f = (struct fake_be *)be;
    size_t len = 0;

    pthread_mutex_lock(&f->lock);
    if (f->full) {
        f->full--;
        pthread_mutex_unlock(&f->lock);
        return -EAGAIN;
    }
    ck_assert_uint_lt(f->nr_sent, 8);
    for (int i = 0; i < iovcnt; i++) {
        memcpy(f->sent[f->nr_sent] + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    f->sent_len[f->nr_sent++] = len;
    pthread_mutex_unlock(&f->lock);
    return 0;
}

static void be_destroy(struct net_backend *be)
{
    (void)be; /* the test's */
}

static const struct net_backend_ops fake_ops = {
    .start = be_start, .recv = be_recv, .send = be_send, .destroy = be_destroy
};

/* ---- The environment ---- */

struct env {
    struct fake_ring *rx, tx; /* tx: a second view of rx's RAM with its own tables */
    struct evloop loop;
    struct fake_be be;
    struct net *n;
    struct virtio_dev *dev;
};

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static void env_start(struct env *e, bool vnet_hdr, uint64_t offloads)
{
    const struct fake_ring_layout l = { RAM_BASE, RAM_SIZE, QSIZE, RX_DESC, RX_AVAIL, RX_USED };

    memset(e, 0, sizeof(*e));
    e->rx = fake_ring_create(&l);
    e->tx = tq_tx_view(e->rx, TX_DESC, TX_AVAIL, TX_USED);
    pthread_mutex_init(&e->be.lock, NULL);
    e->be.be = (struct net_backend){
        .ops = &fake_ops, .vnet_hdr = vnet_hdr, .offloads = offloads, .name = "fake"
    };
    ck_assert_int_eq(evloop_init(&e->loop), 0);
    ck_assert_int_eq(net_create(&e->n, &e->be.be, mac, &e->rx->mem, &e->loop), 0);
    e->dev = net_vdev(e->n);
    ck_assert_int_eq(evloop_start(&e->loop), 0);
}

static void env_stop(struct env *e)
{
    evloop_stop(&e->loop);
    net_destroy(e->n);
    evloop_fini(&e->loop);
    fake_ring_free(e->rx);
    pthread_mutex_destroy(&e->be.lock);
}

static uint64_t driver_init(struct env *e, uint64_t want)
{
    return tq_driver_init(e->dev, want, e->rx, &e->tx);
}

static void wait_until(bool (*cond)(struct env *), struct env *e, const char *what)
{
    for (int ms = 0; !cond(e); ms++) {
        struct timespec ts = { 0, 1000000 };

        ck_assert_msg(ms < 5000, "timed out waiting for %s", what);
        nanosleep(&ts, NULL);
    }
}

static uint16_t tx_used_goal, rx_used_goal;

static bool tx_used_reached(struct env *e)
{
    return fake_ring_used_idx(&e->tx) == tx_used_goal;
}

static bool rx_used_reached(struct env *e)
{
    return fake_ring_used_idx(e->rx) == rx_used_goal;
}

static struct net_stats stats(struct env *e)
{
    struct net_stats st;

    net_get_stats(e->n, &st);
    return st;
}

/* A TX chain: header h at BUF(slot), then the frame (len bytes of pattern) right after it. */
static void post_tx(struct env *e, unsigned int slot, const struct virtio_net_hdr_v1 *h,
                    uint32_t hdr_len, uint32_t frame_len)
{
    uint8_t *p = fake_ring_ptr(e->rx, BUF(slot), hdr_len + frame_len + 1);
    uint16_t d = (uint16_t)(2 * slot);

    memset(p, 0, hdr_len);
    if (h)
        memcpy(p, h, hdr_len < HDR ? hdr_len : HDR);
    for (uint32_t i = 0; i < frame_len; i++)
        p[hdr_len + i] = (uint8_t)(i * 7 + slot);
    if (frame_len) {
        fake_ring_desc_at(&e->tx, TX_DESC, d, BUF(slot), hdr_len, RD | NX, d + 1);
        fake_ring_desc_at(&e->tx, TX_DESC, d + 1, BUF(slot) + hdr_len, frame_len, RD, 0);
    } else {
        fake_ring_desc_at(&e->tx, TX_DESC, d, BUF(slot), hdr_len, RD, 0);
    }
    fake_ring_post(&e->tx, d);
}

static void kick(struct env *e, unsigned int q)
{
    virtio_queue_notify(e->dev, q);
}

START_TEST(tx_bare_and_with_header)
{
    for (int vnet = 0; vnet < 2; vnet++) {
        struct env e;
        uint32_t frame = 60;

        env_start(&e, vnet, 0);
        driver_init(&e, 0);
        post_tx(&e, 0, NULL, HDR, frame);
        tx_used_goal = 1;
        kick(&e, 1);
        wait_until(tx_used_reached, &e, "the TX chain back");
        ck_assert_uint_eq(e.be.nr_sent, 1);
        ck_assert_uint_eq(e.be.sent_len[0], frame + (vnet ? HDR : 0));
        for (uint32_t i = 0; i < frame; i++)
            ck_assert_uint_eq(e.be.sent[0][(vnet ? HDR : 0) + i], (uint8_t)(i * 7));
        ck_assert_uint_eq(stats(&e).tx_frames, 1);
        env_stop(&e);
    }
}
END_TEST

/* Each of these is dropped, counted, and given back; nothing reaches the backend. */
START_TEST(tx_malformed_is_dropped)
{
    struct env e;
    struct virtio_net_hdr_v1 csum = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                      .csum_start = htole16(14),
                                      .csum_offset = htole16(16) };
    struct virtio_net_hdr_v1 tso = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                     .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
                                     .gso_size = htole16(1448),
                                     .csum_start = htole16(34),
                                     .csum_offset = htole16(16) };
    struct virtio_net_hdr_v1 past = csum, odd = { .flags = 0x80 };
    struct virtio_net_hdr_v1 nogso = tso;

    past.csum_start = htole16(50);
    nogso.gso_size = 0;
    env_start(&e, true, F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4));
    driver_init(&e, F(VIRTIO_NET_F_CSUM));        /* checksum offload, but no TSO */
    post_tx(&e, 0, NULL, 8, 0);                   /* shorter than the header */
    post_tx(&e, 1, NULL, HDR, 13);                /* shorter than an Ethernet header */
    post_tx(&e, 2, NULL, HDR, NET_FRAME_MAX + 1); /* larger than any frame */
    post_tx(&e, 3, &tso, HDR, 200);               /* TSO not negotiated */
    post_tx(&e, 4, &past, HDR, 60);               /* checksum field past the frame's end */
    post_tx(&e, 5, &odd, HDR, 60);                /* a flag no driver may send */
    post_tx(&e, 6, &csum, HDR, 60);               /* fine: the one that goes through */
    tx_used_goal = 7;
    kick(&e, 1);
    wait_until(tx_used_reached, &e, "the TX chains back");
    ck_assert_uint_eq(e.be.nr_sent, 1);
    ck_assert_uint_eq(stats(&e).tx_dropped, 6);
    ck_assert_uint_eq(stats(&e).tx_frames, 1);
    ck_assert_uint_eq(e.be.sent[0][0], VIRTIO_NET_HDR_F_NEEDS_CSUM);
    env_stop(&e);

    /* Without checksum offload negotiated, a header that asks for it is refused too. */
    env_start(&e, true, F(VIRTIO_NET_F_CSUM));
    driver_init(&e, 0);
    post_tx(&e, 0, &csum, HDR, 60);
    post_tx(&e, 1, &nogso, HDR, 60);
    tx_used_goal = 2;
    kick(&e, 1);
    wait_until(tx_used_reached, &e, "the TX chains back");
    ck_assert_uint_eq(e.be.nr_sent, 0);
    ck_assert_uint_eq(stats(&e).tx_dropped, 2);
    env_stop(&e);
}
END_TEST

START_TEST(tx_waits_for_a_full_backend)
{
    struct env e;

    env_start(&e, false, 0);
    e.be.full = 1;
    driver_init(&e, 0);
    post_tx(&e, 0, NULL, HDR, 60);
    kick(&e, 1);
    for (int ms = 0; ms < 100 && !stats(&e).tx_waits; ms++)
        nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    ck_assert_uint_eq(stats(&e).tx_waits, 1);
    ck_assert_uint_eq(fake_ring_used_idx(&e.tx), 0); /* held, not dropped */
    e.be.ev.tx_room(e.be.ev.ctx); /* as the backend would, from the loop (here, the test) */
    tx_used_goal = 1;
    wait_until(tx_used_reached, &e, "the held chain back");
    ck_assert_uint_eq(e.be.nr_sent, 1);
    env_stop(&e);
}
END_TEST

/* A backend frame of len bytes (pattern), header in front when the backend has one. */
static void backend_frame(struct env *e, size_t len)
{
    size_t at = e->be.be.vnet_hdr ? HDR : 0;

    pthread_mutex_lock(&e->be.lock);
    memset(e->be.pending[e->be.nr_pending], 0, at);
    for (size_t i = 0; i < len; i++)
        e->be.pending[e->be.nr_pending][at + i] = (uint8_t)(i * 3 + 1);
    e->be.pending_len[e->be.nr_pending++] = at + len;
    pthread_mutex_unlock(&e->be.lock);
}

/* n receive buffers of size bytes each, one chain each, at BUF(8 + i). */
static void post_rx(struct env *e, unsigned int n, uint32_t size)
{
    for (unsigned int i = 0; i < n; i++) {
        uint16_t d = (uint16_t)(e->rx->avail_idx % QSIZE);

        fake_ring_desc(e->rx, d, BUF(8 + d % 40), size, WR, 0);
        fake_ring_post(e->rx, d);
    }
}

static uint32_t rx_used_len(struct env *e, uint16_t idx)
{
    return le32toh(fake_ring_used(e->rx)->ring[idx % QSIZE].len);
}

START_TEST(rx_merges_buffers)
{
    struct env e;
    struct virtio_net_hdr_v1 *h;
    uint8_t *p;

    env_start(&e, false, 0);
    ck_assert(driver_init(&e, F(VIRTIO_NET_F_MRG_RXBUF)) & F(VIRTIO_NET_F_MRG_RXBUF));
    post_rx(&e, 4, 1024);
    backend_frame(&e, 100);
    backend_frame(&e, 3000);
    rx_used_goal = 4; /* 1 chain + 3 */
    e.be.ev.rx_ready(e.be.ev.ctx);
    wait_until(rx_used_reached, &e, "the frames in the RX ring");
    ck_assert_uint_eq(rx_used_len(&e, 0), HDR + 100);
    h = fake_ring_ptr(e.rx, BUF(8), HDR);
    ck_assert_uint_eq(le16toh(h->num_buffers), 1);
    ck_assert_uint_eq(rx_used_len(&e, 1), 1024);
    ck_assert_uint_eq(rx_used_len(&e, 2), 1024);
    ck_assert_uint_eq(rx_used_len(&e, 3), HDR + 3000 - 2048);
    h = fake_ring_ptr(e.rx, BUF(9), HDR);
    ck_assert_uint_eq(le16toh(h->num_buffers), 3);
    p = fake_ring_ptr(e.rx, BUF(10), 1024);
    ck_assert_uint_eq(p[0], (uint8_t)((1024 - HDR) * 3 + 1)); /* the frame went on in order */
    ck_assert_uint_eq(stats(&e).rx_frames, 2);
    env_stop(&e);
}
END_TEST

START_TEST(rx_waits_for_buffers)
{
    struct env e;

    env_start(&e, true, 0);
    driver_init(&e, F(VIRTIO_NET_F_MRG_RXBUF));
    post_rx(&e, 1, 1024);
    backend_frame(&e, 1500); /* needs two buffers: there is one */
    e.be.ev.rx_ready(e.be.ev.ctx);
    for (int ms = 0; ms < 5000 && !stats(&e).rx_waits; ms++)
        nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    ck_assert_uint_ge(stats(&e).rx_waits, 1);
    ck_assert_uint_eq(fake_ring_used_idx(e.rx), 0); /* the one buffer was not used up */
    post_rx(&e, 1, 1024);
    rx_used_goal = 2;
    kick(&e, 0);
    wait_until(rx_used_reached, &e, "the waiting frame delivered");
    ck_assert_uint_eq(rx_used_len(&e, 0) + rx_used_len(&e, 1), HDR + 1500);
    env_stop(&e);
}
END_TEST

START_TEST(rx_too_small_without_merging)
{
    struct env e;

    env_start(&e, false, 0);
    driver_init(&e, 0);
    post_rx(&e, 2, 1024);
    backend_frame(&e, 1500);
    backend_frame(&e, 200);
    rx_used_goal = 2;
    e.be.ev.rx_ready(e.be.ev.ctx);
    wait_until(rx_used_reached, &e, "both buffers back");
    ck_assert_uint_eq(rx_used_len(&e, 0), 0); /* dropped: its buffer comes back empty */
    ck_assert_uint_eq(rx_used_len(&e, 1), HDR + 200);
    ck_assert_uint_eq(stats(&e).rx_dropped, 1);
    ck_assert_uint_eq(stats(&e).rx_frames, 1);
    env_stop(&e);
}
END_TEST

START_TEST(broken_ring_needs_reset)
{
    struct env e;

    env_start(&e, false, 0);
    driver_init(&e, 0);
    fake_ring_desc_at(&e.tx, TX_DESC, 0, RAM_BASE + RAM_SIZE - 4, 64, RD, 0); /* past RAM */
    fake_ring_post(&e.tx, 0);
    kick(&e, 1);
    for (int ms = 0; ms < 5000 && !(virtio_get_status(e.dev) & VIRTIO_CONFIG_S_NEEDS_RESET); ms++)
        nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    ck_assert(virtio_get_status(e.dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
    ck_assert_uint_eq(e.be.nr_sent, 0);
    virtio_set_status(e.dev, 0); /* and a reset brings it back */
    fake_ring_clear(e.rx);
    memset(fake_ring_ptr(e.rx, TX_DESC, 0x3000), 0, 0x3000);
    e.tx.avail_idx = 0;
    driver_init(&e, 0);
    post_tx(&e, 0, NULL, HDR, 60);
    tx_used_goal = 1;
    kick(&e, 1);
    wait_until(tx_used_reached, &e, "a frame after the reset");
    ck_assert_uint_eq(e.be.nr_sent, 1);
    env_stop(&e);
}
END_TEST

START_TEST(config_and_offers)
{
    struct env e;
    uint8_t got[6];
    uint16_t status;
    uint64_t offered;

    env_start(&e, true, F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM));
    ck_assert_int_eq(virtio_config_read(e.dev, 0, got, 6), 0);
    ck_assert_mem_eq(got, mac, 6);
    ck_assert_int_eq(virtio_config_read(e.dev, 6, &status, 2), 0);
    ck_assert_uint_eq(le16toh(status), VIRTIO_NET_S_LINK_UP);
    offered = virtio_get_device_features(e.dev, 0);
    ck_assert(offered & F(VIRTIO_NET_F_MAC));
    ck_assert(offered & F(VIRTIO_NET_F_CSUM));
    ck_assert(!(offered & F(VIRTIO_NET_F_HOST_TSO4))); /* only what the backend honours */
    env_stop(&e);
    env_start(&e, false, F(VIRTIO_NET_F_CSUM)); /* bare frames: no offload at all */
    ck_assert(!(virtio_get_device_features(e.dev, 0) & F(VIRTIO_NET_F_CSUM)));
    env_stop(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("virtio-net");
    TCase *tc = tcase_create("net");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tx_bare_and_with_header);
    tcase_add_test(tc, tx_malformed_is_dropped);
    tcase_add_test(tc, tx_waits_for_a_full_backend);
    tcase_add_test(tc, rx_merges_buffers);
    tcase_add_test(tc, rx_waits_for_buffers);
    tcase_add_test(tc, rx_too_small_without_merging);
    tcase_add_test(tc, broken_ring_needs_reset);
    tcase_add_test(tc, config_and_offers);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
