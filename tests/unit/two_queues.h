/* SPDX-License-Identifier: MIT */
/*
 * A fake driver for devices with a receive and a transmit queue (virtio-net, virtio-console): one
 * guest RAM from fake_ring_create() holds both queues' tables, the transmit ones in a second
 * struct fake_ring that views the same RAM, so the fake_ring helpers serve both.
 */
#ifndef KVMINI_TESTS_UNIT_TWO_QUEUES_H
#define KVMINI_TESTS_UNIT_TWO_QUEUES_H

#include <check.h>

#include "devices/virtio/virtio.h"
#include "tests/unit/fake_ring.h"

/* Where the tests put guest RAM and both queues' tables; buffers go from TQ_DATA up. */
#define TQ_RAM_BASE 0x100000ULL
#define TQ_RX_DESC  (TQ_RAM_BASE + 0x0000)
#define TQ_RX_AVAIL (TQ_RAM_BASE + 0x1000)
#define TQ_RX_USED  (TQ_RAM_BASE + 0x2000)
#define TQ_TX_DESC  (TQ_RAM_BASE + 0x4000)
#define TQ_TX_AVAIL (TQ_RAM_BASE + 0x5000)
#define TQ_TX_USED  (TQ_RAM_BASE + 0x6000)
#define TQ_DATA     (TQ_RAM_BASE + 0x10000)

/* Queue q of size entries at the given tables, enabled. */
static inline void tq_queue(struct virtio_dev *d, unsigned int q, uint16_t size, uint64_t desc,
                            uint64_t avail, uint64_t used)
{
    ck_assert_int_eq(virtio_queue_set(d, q, VIRTIO_QUEUE_SIZE, size), 0);
    ck_assert_int_eq(virtio_queue_set(d, q, VIRTIO_QUEUE_DESC, desc), 0);
    ck_assert_int_eq(virtio_queue_set(d, q, VIRTIO_QUEUE_AVAIL, avail), 0);
    ck_assert_int_eq(virtio_queue_set(d, q, VIRTIO_QUEUE_USED, used), 0);
    ck_assert_int_eq(virtio_queue_set(d, q, VIRTIO_QUEUE_ENABLE, 1), 0);
}

/*
 * As a driver does: accepts what is offered of want (and VERSION_1), sets up queue 0 from rx's
 * layout and queue 1 from tx's, and sets DRIVER_OK. The features negotiated.
 */
static inline uint64_t tq_driver_init(struct virtio_dev *d, uint64_t want, struct fake_ring *rx,
                                      struct fake_ring *tx)
{
    uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
    uint64_t f = virtio_get_device_features(d, 0) | (uint64_t)virtio_get_device_features(d, 1)
                                                        << 32;

    f &= want | (1ULL << VIRTIO_F_VERSION_1);
    virtio_set_status(d, s);
    virtio_set_driver_features(d, 0, (uint32_t)f);
    virtio_set_driver_features(d, 1, (uint32_t)(f >> 32));
    virtio_set_status(d, s |= VIRTIO_CONFIG_S_FEATURES_OK);
    tq_queue(d, 0, rx->l.size, rx->l.desc_gpa, rx->l.avail_gpa, rx->l.used_gpa);
    tq_queue(d, 1, tx->l.size, tx->l.desc_gpa, tx->l.avail_gpa, tx->l.used_gpa);
    s |= VIRTIO_CONFIG_S_DRIVER_OK;
    virtio_set_status(d, s);
    ck_assert_uint_eq(virtio_get_status(d), s);
    return f;
}

/* The transmit view of rx's RAM, with its own tables. */
static inline struct fake_ring tq_tx_view(const struct fake_ring *rx, uint64_t desc, uint64_t avail,
                                          uint64_t used)
{
    struct fake_ring tx = *rx;

    tx.l.desc_gpa = desc;
    tx.l.avail_gpa = avail;
    tx.l.used_gpa = used;
    tx.avail_idx = 0;
    return tx;
}

#endif
