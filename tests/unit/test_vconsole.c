// SPDX-License-Identifier: MIT
/*
 * virtio-console (devices/virtio/console.c) against a fake driver and a fake host end: output
 * reaches the host in order, a host that takes only part holds the transmit queue until it has
 * room; input goes into receive buffers, is refused (0 taken) when there are none and the host is
 * told when the driver posts some; the terminal size is offered and a resize raises a config
 * interrupt; a broken ring needs a reset.
 */
#include <check.h>
#include <endian.h>
#include <string.h>

#include <linux/virtio_console.h>

#include "devices/virtio/console.h"
#include "tests/unit/fake_ring.h"
#include "tests/unit/two_queues.h"
#include "tests/unit/unit.h"

#define RAM_BASE TQ_RAM_BASE
#define RAM_SIZE (1ULL << 20)
#define QSIZE    16
#define RX_DESC  TQ_RX_DESC
#define RX_AVAIL TQ_RX_AVAIL
#define RX_USED  TQ_RX_USED
#define TX_DESC  TQ_TX_DESC
#define TX_AVAIL TQ_TX_AVAIL
#define TX_USED  TQ_TX_USED
#define BUF(i)   (TQ_DATA + 0x1000ULL * (i))

struct env {
    struct fake_ring *rx, tx;
    struct vcon *v;
    struct virtio_dev *dev;
    char out[8192];
    size_t out_len, room; /* the host takes at most room more bytes */
    int rx_ready_calls, config_irqs, queue_irqs;
};

static size_t host_write(void *ctx, const void *buf, size_t len)
{
    struct env *e = ctx;
    size_t take = len < e->room ? len : e->room;

    memcpy(e->out + e->out_len, buf, take);
    e->out_len += take;
    e->room -= take;
    return take;
}

static void host_rx_ready(void *ctx)
{
    ((struct env *)ctx)->rx_ready_calls++;
}

static int queue_irq(void *ctx, unsigned int q)
{
    (void)q;
    ((struct env *)ctx)->queue_irqs++;
    return 0;
}

static int config_irq(void *ctx)
{
    ((struct env *)ctx)->config_irqs++;
    return 0;
}

static void env_start(struct env *e, bool sized)
{
    const struct fake_ring_layout l = { RAM_BASE, RAM_SIZE, QSIZE, RX_DESC, RX_AVAIL, RX_USED };
    const struct vcon_host host = { host_write, host_rx_ready, e };
    const struct virtio_transport t = { queue_irq, config_irq, e };

    memset(e, 0, sizeof(*e));
    e->room = sizeof(e->out);
    e->rx = fake_ring_create(&l);
    e->tx = tq_tx_view(e->rx, TX_DESC, TX_AVAIL, TX_USED);
    ck_assert_int_eq(vcon_create(&e->v, &e->rx->mem, &host, sized, 80, 25), 0);
    e->dev = vcon_vdev(e->v);
    virtio_set_transport(e->dev, &t);
}

static void env_stop(struct env *e)
{
    vcon_destroy(e->v);
    fake_ring_free(e->rx);
}

static uint64_t driver_init(struct env *e, uint64_t want)
{
    return tq_driver_init(e->dev, want, e->rx, &e->tx);
}

/* Output text as one chain of two buffers (split mid-way), at BUF(slot). */
static void post_output(struct env *e, unsigned int slot, const char *text)
{
    uint32_t len = (uint32_t)strlen(text), half = len / 2;
    uint16_t d = (uint16_t)(2 * slot);

    memcpy(fake_ring_ptr(e->rx, BUF(slot), len), text, len);
    fake_ring_desc_at(&e->tx, TX_DESC, d, BUF(slot), half, RD | NX, d + 1);
    fake_ring_desc_at(&e->tx, TX_DESC, d + 1, BUF(slot) + half, len - half, RD, 0);
    fake_ring_post(&e->tx, d);
}

START_TEST(output_in_order_with_back_pressure)
{
    struct env e;

    env_start(&e, false);
    driver_init(&e, 1ull << VIRTIO_CONSOLE_F_SIZE);
    e.room = 10;
    post_output(&e, 0, "hello, world\r\n");
    post_output(&e, 1, "second line\r\n");
    virtio_queue_notify(e.dev, 1);
    ck_assert_uint_eq(e.out_len, 10);
    ck_assert_uint_eq(fake_ring_used_idx(&e.tx), 0); /* held: the host is full */
    e.room = 100;
    vcon_output_room(e.v);
    ck_assert_uint_eq(fake_ring_used_idx(&e.tx), 2);
    ck_assert_uint_eq(e.out_len, strlen("hello, world\r\nsecond line\r\n"));
    ck_assert_mem_eq(e.out, "hello, world\r\nsecond line\r\n", e.out_len);
    ck_assert_int_ge(e.queue_irqs, 1);
    env_stop(&e);
}
END_TEST

START_TEST(input_waits_for_buffers)
{
    struct env e;
    const uint8_t typed[] = "ls -l\r";

    env_start(&e, false);
    driver_init(&e, 1ull << VIRTIO_CONSOLE_F_SIZE);
    ck_assert_int_eq(vcon_receive(e.v, typed, 6), 0); /* nowhere to put it: the host keeps it */
    fake_ring_desc(e.rx, 0, BUF(8), 4, WR, 0);
    fake_ring_post(e.rx, 0);
    fake_ring_desc(e.rx, 1, BUF(9), 64, WR, 0);
    fake_ring_post(e.rx, 1);
    virtio_queue_notify(e.dev, 0);
    ck_assert_int_eq(e.rx_ready_calls, 1);
    ck_assert_int_eq(vcon_receive(e.v, typed, 6), 6); /* 4 into one buffer, 2 into the next */
    ck_assert_mem_eq(fake_ring_ptr(e.rx, BUF(8), 4), "ls -", 4);
    ck_assert_mem_eq(fake_ring_ptr(e.rx, BUF(9), 2), "l\r", 2);
    ck_assert_uint_eq(le32toh(fake_ring_used(e.rx)->ring[0].len), 4);
    ck_assert_uint_eq(le32toh(fake_ring_used(e.rx)->ring[1].len), 2);
    env_stop(&e);
}
END_TEST

START_TEST(size_and_resize)
{
    struct env e;
    struct virtio_console_config c;

    env_start(&e, false);
    ck_assert(!(virtio_get_device_features(e.dev, 0) & (1u << VIRTIO_CONSOLE_F_SIZE)));
    env_stop(&e);

    env_start(&e, true);
    ck_assert(driver_init(&e, 1ull << VIRTIO_CONSOLE_F_SIZE) & (1u << VIRTIO_CONSOLE_F_SIZE));
    ck_assert_int_eq(virtio_config_read(e.dev, 0, &c, sizeof(c)), 0);
    ck_assert_uint_eq(le16toh(c.cols), 80);
    ck_assert_uint_eq(le16toh(c.rows), 25);
    vcon_resize(e.v, 132, 43);
    ck_assert_int_eq(e.config_irqs, 1);
    ck_assert_int_eq(virtio_config_read(e.dev, 0, &c, sizeof(c)), 0);
    ck_assert_uint_eq(le16toh(c.cols), 132);
    ck_assert_uint_eq(le16toh(c.rows), 43);
    env_stop(&e);
}
END_TEST

START_TEST(broken_ring_needs_reset)
{
    struct env e;

    env_start(&e, false);
    driver_init(&e, 1ull << VIRTIO_CONSOLE_F_SIZE);
    fake_ring_desc_at(&e.tx, TX_DESC, 0, RAM_BASE + RAM_SIZE - 2, 16, RD, 0); /* past RAM */
    fake_ring_post(&e.tx, 0);
    virtio_queue_notify(e.dev, 1);
    ck_assert(virtio_get_status(e.dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
    ck_assert_uint_eq(e.out_len, 0);
    /* Input is refused too, until the driver resets. */
    ck_assert_int_eq(vcon_receive(e.v, (const uint8_t *)"x", 1), 0);
    env_stop(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("virtio-console");
    TCase *tc = tcase_create("vconsole");

    tcase_add_test(tc, output_in_order_with_back_pressure);
    tcase_add_test(tc, input_waits_for_buffers);
    tcase_add_test(tc, size_and_resize);
    tcase_add_test(tc, broken_ring_needs_reset);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
