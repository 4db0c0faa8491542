// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for devices/virtio/net.c: a driver that negotiates any feature set, posts
 * any chains on both queues (buffers anywhere in or past guest RAM, any header bytes) and kicks,
 * against a backend that takes bare frames or virtio headers, is full at times, and hands the
 * guest frames of any length. The device runs synchronously on the fuzzer's thread (it believes
 * that is the event loop's). It must never touch memory outside guest RAM and its own, and never
 * give the backend a frame longer than NET_FRAME_MAX.
 *
 * Input layout:
 *   0  u8  flags: bit0 the backend carries headers, bit1 MRG_RXBUF, bit2 CSUM, bit3 HOST_TSO4,
 *          bit4 HOST_TSO6, bit5 HOST_ECN, bit6 the backend is full for the first send
 *   1  u8  chains (mod 8, + 1), each: u8 queue (bit0), u8 buffers (mod 4, + 1), and per buffer
 *          {u16 RAM offset, u16 length (0 is 1), u8 bit0 device-writable}
 *   then u16 x2: lengths of two frames the backend hands the guest
 *   then the RAM image (headers and frames), from the start of the data area
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "devices/virtio/net.h"

#define RAM_BASE 0x100000ULL
#define RAM_SIZE 0x20000ULL
#define QSIZE    16
#define DESC(q)  (RAM_BASE + 0x1000ULL * (3 * (q)))
#define AVAIL(q) (DESC(q) + 0x1000)
#define USED(q)  (DESC(q) + 0x2000)
#define DATA     (RAM_BASE + 0x8000)

struct fuzz_be {
    struct net_backend be;
    struct net_backend_events ev;
    int full;
    size_t frame_len[2];
    unsigned int nr_frames;
    uint8_t frame[NET_FRAME_MAX + sizeof(struct virtio_net_hdr_v1)];
};

static int be_start(struct net_backend *be, struct evloop *loop,
                    const struct net_backend_events *ev)
{
    (void)loop;
    ((struct fuzz_be *)be)->ev = *ev;
    return 0;
}

static ssize_t be_recv(struct net_backend *be, void *buf, size_t len)
{
    struct fuzz_be *f = (struct fuzz_be *)be;
    size_t n;

    if (!f->nr_frames)
        return -EAGAIN;
    n = f->frame_len[--f->nr_frames];
    if (n > len)
        n = len;
    memcpy(buf, f->frame, n);
    return (ssize_t)n;
}

static int be_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
    struct fuzz_be *f = (struct fuzz_be *)be;
    size_t len = 0;

    if (f->full) {
        f->full--;
        return -EAGAIN;
    }
    for (int i = 0; i < iovcnt; i++)
        len += iov[i].iov_len;
    if (len > NET_FRAME_MAX + (be->vnet_hdr ? sizeof(struct virtio_net_hdr_v1) : 0))
        __builtin_trap();
    return 0;
}

static void be_destroy(struct net_backend *be)
{
    (void)be;
}

static const struct net_backend_ops ops = {
    .start = be_start, .recv = be_recv, .send = be_send, .destroy = be_destroy
};

static uint8_t *ram;
static struct gmem mem;
static struct evloop loop;
static struct fuzz_be backends[2];
static struct net *nics[2];

static void setup(void)
{
    static const uint8_t mac[6] = { 0x52, 0x54, 0, 1, 2, 3 };

    ram = aligned_alloc(4096, RAM_SIZE);
    if (!ram || evloop_init(&loop))
        __builtin_trap();
    gmem_init_fixed(&mem, RAM_BASE, ram, RAM_SIZE);
    /* Every call happens on this thread: let the device take it for the loop's. */
    loop.running = 1;
    loop.thread = pthread_self();
    for (int i = 0; i < 2; i++) {
        backends[i].be = (struct net_backend){
            .ops = &ops,
            .vnet_hdr = i,
            .offloads = (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_HOST_TSO4) |
                        (1ull << VIRTIO_NET_F_HOST_TSO6) | (1ull << VIRTIO_NET_F_HOST_ECN),
        };
        if (net_create(&nics[i], &backends[i].be, mac, &mem, &loop))
            __builtin_trap();
    }
}

static void queue(struct virtio_dev *d, unsigned int q)
{
    virtio_queue_set(d, q, VIRTIO_QUEUE_SIZE, QSIZE);
    virtio_queue_set(d, q, VIRTIO_QUEUE_DESC, DESC(q));
    virtio_queue_set(d, q, VIRTIO_QUEUE_AVAIL, AVAIL(q));
    virtio_queue_set(d, q, VIRTIO_QUEUE_USED, USED(q));
    virtio_queue_set(d, q, VIRTIO_QUEUE_ENABLE, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned int bits[] = { VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_CSUM,
                                         VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6,
                                         VIRTIO_NET_F_HOST_ECN };
    uint16_t heads[2] = { 0, 0 }, avail[2] = { 0, 0 };
    uint64_t want = 1ull << VIRTIO_F_VERSION_1;
    struct virtio_dev *d;
    struct fuzz_be *be;
    size_t at = 2;
    uint8_t flags, s;

    if (!ram)
        setup();
    if (size < 2)
        return 0;
    flags = data[0];
    be = &backends[flags & 1];
    d = net_vdev(nics[flags & 1]);
    for (unsigned int i = 0; i < 5; i++)
        if (flags & (2u << i))
            want |= 1ull << bits[i];
    memset(ram, 0, RAM_SIZE);
    virtio_set_status(d, 0);
    s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
    virtio_set_status(d, s);
    virtio_set_driver_features(d, 0, (uint32_t)want);
    virtio_set_driver_features(d, 1, (uint32_t)(want >> 32));
    virtio_set_status(d, s |= VIRTIO_CONFIG_S_FEATURES_OK);
    queue(d, 0);
    queue(d, 1);
    virtio_set_status(d, s | VIRTIO_CONFIG_S_DRIVER_OK);

    for (unsigned int c = 0, n = data[1] % 8 + 1; c < n && at + 2 <= size; c++) {
        unsigned int q = data[at] & 1, bufs = data[at + 1] % 4 + 1;
        struct vring_desc *table = (struct vring_desc *)(ram + (DESC(q) - RAM_BASE));
        uint16_t *ring = (uint16_t *)(ram + (AVAIL(q) - RAM_BASE));

        at += 2;
        if (heads[q] + bufs > QSIZE)
            break;
        for (unsigned int b = 0; b < bufs && at + 5 <= size; b++, at += 5) {
            uint16_t off = (uint16_t)(data[at] | data[at + 1] << 8);
            uint16_t len = (uint16_t)(data[at + 2] | data[at + 3] << 8);
            struct vring_desc *desc = &table[heads[q] + b];

            desc->addr = htole64(DATA + off);
            desc->len = htole32(len ? len : 1);
            desc->flags = htole16((data[at + 4] & 1 ? VRING_DESC_F_WRITE : 0) |
                                  (b + 1 < bufs ? VRING_DESC_F_NEXT : 0));
            desc->next = htole16((uint16_t)(heads[q] + b + 1));
        }
        ring[2 + avail[q] % QSIZE] = htole16(heads[q]);
        avail[q]++;
        ring[1] = htole16(avail[q]);
        heads[q] = (uint16_t)(heads[q] + bufs);
    }
    be->nr_frames = 0;
    for (unsigned int i = 0; i < 2 && at + 2 <= size; i++, at += 2) {
        be->frame_len[i] = (size_t)(data[at] | data[at + 1] << 8);
        be->nr_frames++;
    }
    if (at < size)
        memcpy(ram + (DATA - RAM_BASE), data + at,
               size - at < RAM_SIZE - (DATA - RAM_BASE) ? size - at : RAM_SIZE - (DATA - RAM_BASE));
    be->full = flags & 0x40 ? 1 : 0;
    virtio_queue_notify(d, 1);
    virtio_queue_notify(d, 0);
    be->ev.tx_room(be->ev.ctx);
    be->ev.rx_ready(be->ev.ctx);
    return 0;
}
