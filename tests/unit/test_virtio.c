// SPDX-License-Identifier: MIT
/*
 * The transport-independent virtio core: status state machine, feature negotiation, queue
 * configuration and its freeze at DRIVER_OK, reset, DEVICE_NEEDS_RESET. A fake device type
 * counts its callbacks; a fake transport counts interrupts.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "devices/virtio/virtio.h"
#include "tests/unit/unit.h"

#define RAM_BASE 0x0ULL
#define RAM_SIZE 0x10000ULL
#define DEV_F_X  5ULL /* a device-type feature bit */

#define S_ACK  VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV  VIRTIO_CONFIG_S_DRIVER
#define S_FOK  VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK  VIRTIO_CONFIG_S_DRIVER_OK
#define S_NRST VIRTIO_CONFIG_S_NEEDS_RESET

struct rig {
    uint8_t *ram;
    struct gmem mem;
    struct virtio_dev dev;
    int activates, resets, kicks, last_kick, activate_rc;
    int queue_irqs, config_irqs;
    uint8_t config[8];
};

static int fake_activate(struct virtio_dev *dev)
{
    struct rig *g = dev->priv;

    g->activates++;
    return g->activate_rc;
}

static void fake_reset(struct virtio_dev *dev)
{
    ((struct rig *)dev->priv)->resets++;
}

static void fake_queue_notify(struct virtio_dev *dev, unsigned int q)
{
    struct rig *g = dev->priv;

    g->kicks++;
    g->last_kick = (int)q;
}

static void fake_read_config(struct virtio_dev *dev, uint32_t off, void *data, uint32_t len)
{
    memcpy(data, ((struct rig *)dev->priv)->config + off, len);
}

static void fake_write_config(struct virtio_dev *dev, uint32_t off, const void *data, uint32_t len)
{
    memcpy(((struct rig *)dev->priv)->config + off, data, len);
}

static const struct virtio_dev_ops fake_ops = {
    .config_size = 8,
    .activate = fake_activate,
    .reset = fake_reset,
    .queue_notify = fake_queue_notify,
    .read_config = fake_read_config,
    .write_config = fake_write_config,
};

static int fake_notify_queue(void *ctx, unsigned int q)
{
    ((struct rig *)ctx)->queue_irqs++;
    return 0;
}

static int fake_notify_config(void *ctx)
{
    ((struct rig *)ctx)->config_irqs++;
    return 0;
}

static struct rig *rig_new(void)
{
    struct rig *g = calloc(1, sizeof(*g));

    ck_assert_ptr_nonnull(g);
    g->ram = calloc(1, RAM_SIZE);
    ck_assert_ptr_nonnull(g->ram);
    gmem_init_fixed(&g->mem, RAM_BASE, g->ram, RAM_SIZE);
    ck_assert_int_eq(
        virtio_dev_init(&g->dev, VIRTIO_ID_BLOCK, 1ULL << DEV_F_X, 2, 16, &g->mem, &fake_ops, g),
        0);
    virtio_set_transport(&g->dev, &(struct virtio_transport){ .notify_queue = fake_notify_queue,
                                                              .notify_config = fake_notify_config,
                                                              .ctx = g });
    return g;
}

static void rig_free(struct rig *g)
{
    virtio_dev_fini(&g->dev);
    free(g->ram);
    free(g);
}

static void set_features(struct rig *g, uint64_t f)
{
    virtio_set_driver_features(&g->dev, 0, (uint32_t)f);
    virtio_set_driver_features(&g->dev, 1, (uint32_t)(f >> 32));
}

/* Queue q's rings at 0x1000 * (q + 1) onwards, valid for size 16. */
static int setup_queue(struct rig *g, unsigned int q)
{
    uint64_t base = 0x1000ULL * (q + 1) * 2;

    virtio_queue_set(&g->dev, q, VIRTIO_QUEUE_DESC, base);
    virtio_queue_set(&g->dev, q, VIRTIO_QUEUE_AVAIL, base + 0x400);
    virtio_queue_set(&g->dev, q, VIRTIO_QUEUE_USED, base + 0x800);
    return virtio_queue_set(&g->dev, q, VIRTIO_QUEUE_ENABLE, 1);
}

/* The Linux driver's sequence, up to and including FEATURES_OK. */
static void negotiate(struct rig *g, uint64_t f)
{
    virtio_set_status(&g->dev, S_ACK);
    virtio_set_status(&g->dev, S_ACK | S_DRV);
    set_features(g, f);
    virtio_set_status(&g->dev, S_ACK | S_DRV | S_FOK);
}

#define F_V1    (1ULL << VIRTIO_F_VERSION_1)
#define F_EVENT (1ULL << VIRTIO_RING_F_EVENT_IDX)
#define F_INDIR (1ULL << VIRTIO_RING_F_INDIRECT_DESC)

START_TEST(offers_core_features)
{
    struct rig *g = rig_new();
    uint64_t f = virtio_get_device_features(&g->dev, 0) |
                 (uint64_t)virtio_get_device_features(&g->dev, 1) << 32;

    ck_assert_uint_eq(f, F_V1 | F_EVENT | F_INDIR | (1ULL << DEV_F_X));
    ck_assert_uint_eq(virtio_get_device_features(&g->dev, 2), 0);
    ck_assert_uint_eq(virtio_get_device_features(&g->dev, UINT32_MAX), 0);
    rig_free(g);
}
END_TEST

START_TEST(normal_bring_up)
{
    struct rig *g = rig_new();

    negotiate(g, F_V1 | F_EVENT | (1ULL << DEV_F_X));
    ck_assert_uint_eq(virtio_get_status(&g->dev), S_ACK | S_DRV | S_FOK);
    ck_assert_uint_eq(virtio_get_driver_features(&g->dev, 1), F_V1 >> 32);
    ck_assert_int_eq(setup_queue(g, 0), 0);
    ck_assert_int_eq(setup_queue(g, 1), 0);
    ck_assert(g->dev.queues[0].event_idx && !g->dev.queues[0].indirect);
    ck_assert_uint_eq(g->activates, 0);
    virtio_set_status(&g->dev, S_ACK | S_DRV | S_FOK | S_DOK);
    ck_assert_uint_eq(virtio_get_status(&g->dev), S_ACK | S_DRV | S_FOK | S_DOK);
    ck_assert_int_eq(g->activates, 1);
    /* Writing the same status again does not activate twice. */
    virtio_set_status(&g->dev, S_ACK | S_DRV | S_FOK | S_DOK);
    ck_assert_int_eq(g->activates, 1);

    virtio_queue_notify(&g->dev, 1);
    ck_assert_int_eq(g->kicks, 1);
    ck_assert_int_eq(g->last_kick, 1);
    virtio_queue_notify(&g->dev, 2); /* no such queue */
    ck_assert_int_eq(g->kicks, 1);
    ck_assert_int_eq(g->config_irqs, 0);
    rig_free(g);
}
END_TEST

START_TEST(features_ok_needs_a_valid_subset)
{
    struct rig *g = rig_new();

    negotiate(g, F_EVENT); /* no VERSION_1: legacy driver, refused */
    ck_assert_uint_eq(virtio_get_status(&g->dev), S_ACK | S_DRV);
    virtio_set_status(&g->dev, 0);

    negotiate(g, F_V1 | (1ULL << 40)); /* never offered */
    ck_assert_uint_eq(virtio_get_status(&g->dev), S_ACK | S_DRV);
    /* The driver may try again with less. */
    set_features(g, F_V1);
    virtio_set_status(&g->dev, S_ACK | S_DRV | S_FOK);
    ck_assert_uint_eq(virtio_get_status(&g->dev), S_ACK | S_DRV | S_FOK);
    /* After FEATURES_OK the accepted set is final. */
    set_features(g, F_V1 | F_INDIR);
    ck_assert_uint_eq(g->dev.driver_features, F_V1);
    virtio_set_driver_features(&g->dev, 7, 0xffffffff);
    ck_assert_uint_eq(g->dev.driver_features, F_V1);
    rig_free(g);
}
END_TEST

START_TEST(status_bits_in_order_only)
{
    struct rig *g = rig_new();

    virtio_set_status(&g->dev, S_DRV); /* DRIVER without ACKNOWLEDGE */
    ck_assert_uint_eq(virtio_get_status(&g->dev), 0);
    virtio_set_status(&g->dev, S_ACK | S_FOK); /* FEATURES_OK without DRIVER */
    ck_assert_uint_eq(virtio_get_status(&g->dev), S_ACK);
    set_features(g, F_V1);
    virtio_set_status(&g->dev, S_ACK | S_DRV | S_DOK); /* DRIVER_OK without FEATURES_OK */
    ck_assert_uint_eq(virtio_get_status(&g->dev), S_ACK | S_DRV);
    ck_assert_int_eq(g->activates, 0);
    /* All at once, in order, is fine. */
    virtio_set_status(&g->dev, S_ACK | S_DRV | S_FOK | S_DOK);
    ck_assert_uint_eq(virtio_get_status(&g->dev), S_ACK | S_DRV | S_FOK | S_DOK);
    ck_assert_int_eq(g->activates, 1);
    /* Clearing bits other than by reset is ignored; the driver cannot set NEEDS_RESET. */
    virtio_set_status(&g->dev, S_ACK | S_NRST);
    ck_assert_uint_eq(virtio_get_status(&g->dev), S_ACK | S_DRV | S_FOK | S_DOK);
    virtio_set_status(&g->dev, S_ACK | S_DRV | S_FOK | S_DOK | VIRTIO_CONFIG_S_FAILED);
    ck_assert(virtio_get_status(&g->dev) & VIRTIO_CONFIG_S_FAILED);
    rig_free(g);
}
END_TEST

START_TEST(queue_config_rules)
{
    struct rig *g = rig_new();

    ck_assert_uint_eq(virtio_queue_get(&g->dev, 0, VIRTIO_QUEUE_MAX_SIZE), 16);
    ck_assert_uint_eq(virtio_queue_get(&g->dev, 0, VIRTIO_QUEUE_SIZE), 16);
    ck_assert_uint_eq(virtio_queue_get(&g->dev, 2, VIRTIO_QUEUE_SIZE), 0); /* no queue 2 */
    ck_assert_int_eq(virtio_queue_set(&g->dev, 2, VIRTIO_QUEUE_SIZE, 8), -ENOENT);
    ck_assert_int_eq(virtio_queue_set(&g->dev, 0, VIRTIO_QUEUE_SIZE, 12), -EINVAL);
    ck_assert_int_eq(virtio_queue_set(&g->dev, 0, VIRTIO_QUEUE_SIZE, 32), -EINVAL);
    ck_assert_int_eq(virtio_queue_set(&g->dev, 0, VIRTIO_QUEUE_SIZE, 65536 + 8), -EINVAL);
    ck_assert_int_eq(virtio_queue_set(&g->dev, 0, VIRTIO_QUEUE_MAX_SIZE, 8), -EINVAL);
    ck_assert_int_eq(virtio_queue_set(&g->dev, 0, VIRTIO_QUEUE_SIZE, 8), 0);
    ck_assert_uint_eq(virtio_queue_get(&g->dev, 0, VIRTIO_QUEUE_SIZE), 8);
    /* Enabling before the features are settled is refused. */
    ck_assert_int_eq(setup_queue(g, 0), -EPERM);
    ck_assert_uint_eq(virtio_queue_get(&g->dev, 0, VIRTIO_QUEUE_ENABLE), 0);

    negotiate(g, F_V1 | F_INDIR);
    ck_assert_int_eq(setup_queue(g, 0), 0);
    ck_assert_uint_eq(virtio_queue_get(&g->dev, 0, VIRTIO_QUEUE_ENABLE), 1);
    ck_assert(g->dev.queues[0].indirect && !g->dev.queues[0].event_idx);
    /* An enabled queue keeps its configuration. */
    ck_assert_int_eq(virtio_queue_set(&g->dev, 0, VIRTIO_QUEUE_DESC, 0x8000), -EBUSY);
    ck_assert_uint_eq(virtio_queue_get(&g->dev, 0, VIRTIO_QUEUE_DESC), 0x2000);

    /* From DRIVER_OK on, nothing about any queue changes, enabled or not. */
    virtio_set_status(&g->dev, S_ACK | S_DRV | S_FOK | S_DOK);
    ck_assert_int_eq(virtio_queue_set(&g->dev, 1, VIRTIO_QUEUE_SIZE, 4), -EBUSY);
    ck_assert_int_eq(virtio_queue_set(&g->dev, 1, VIRTIO_QUEUE_USED, 0x9000), -EBUSY);
    ck_assert_int_eq(setup_queue(g, 1), -EBUSY);
    ck_assert_uint_eq(virtio_queue_get(&g->dev, 1, VIRTIO_QUEUE_SIZE), 16);
    ck_assert_uint_eq(virtio_queue_get(&g->dev, 1, VIRTIO_QUEUE_USED), 0);
    ck_assert_uint_eq(virtio_queue_get(&g->dev, 1, VIRTIO_QUEUE_ENABLE), 0);
    rig_free(g);
}
END_TEST

START_TEST(reset_clears_everything)
{
    struct rig *g = rig_new();
    uint32_t gen;

    negotiate(g, F_V1 | F_EVENT);
    ck_assert_int_eq(setup_queue(g, 0), 0);
    virtio_set_status(&g->dev, S_ACK | S_DRV | S_FOK | S_DOK);
    virtio_set_needs_reset(&g->dev, NULL);
    gen = virtio_get_config_generation(&g->dev);

    virtio_set_status(&g->dev, 0);
    ck_assert_int_eq(g->resets, 1);
    ck_assert_uint_eq(virtio_get_status(&g->dev), 0);
    ck_assert_uint_eq(g->dev.driver_features, 0);
    ck_assert_uint_eq(virtio_queue_get(&g->dev, 0, VIRTIO_QUEUE_ENABLE), 0);
    ck_assert_uint_eq(virtio_queue_get(&g->dev, 0, VIRTIO_QUEUE_DESC), 0);
    ck_assert_uint_eq(virtio_queue_get(&g->dev, 0, VIRTIO_QUEUE_SIZE), 16);
    ck_assert(!g->dev.queues[0].event_idx);
    /* The generation only ever moves forward: a driver must never see an old value again. */
    ck_assert_uint_eq(virtio_get_config_generation(&g->dev), gen);
    /* Kicks after reset reach nobody. */
    virtio_queue_notify(&g->dev, 0);
    ck_assert_int_eq(g->kicks, 0);
    /* And the device can be brought up again. */
    negotiate(g, F_V1);
    ck_assert_int_eq(setup_queue(g, 0), 0);
    virtio_set_status(&g->dev, S_ACK | S_DRV | S_FOK | S_DOK);
    ck_assert_int_eq(g->activates, 2);
    rig_free(g);
}
END_TEST

START_TEST(needs_reset_raises_config_interrupt)
{
    struct rig *g = rig_new();
    uint32_t gen = virtio_get_config_generation(&g->dev);

    negotiate(g, F_V1);
    virtio_set_status(&g->dev, S_ACK | S_DRV | S_FOK | S_DOK);
    virtio_set_needs_reset(&g->dev, NULL);
    ck_assert(virtio_get_status(&g->dev) & S_NRST);
    ck_assert_uint_eq(virtio_get_config_generation(&g->dev), gen + 1);
    ck_assert_int_eq(g->config_irqs, 1);
    /* Once per reset cycle. */
    virtio_set_needs_reset(&g->dev, NULL);
    ck_assert_int_eq(g->config_irqs, 1);
    /* The driver cannot clear it; the device stops taking kicks. */
    virtio_set_status(&g->dev, S_ACK | S_DRV | S_FOK | S_DOK);
    ck_assert(virtio_get_status(&g->dev) & S_NRST);
    virtio_queue_notify(&g->dev, 0);
    ck_assert_int_eq(g->kicks, 0);
    virtio_set_status(&g->dev, 0);
    ck_assert(!(virtio_get_status(&g->dev) & S_NRST));
    rig_free(g);
}
END_TEST

/* Counts the lines of f that contain what. */
static int count_lines(FILE *f, const char *what)
{
    char line[512];
    int n = 0;

    rewind(f);
    while (fgets(line, sizeof(line), f))
        n += strstr(line, what) != NULL;
    return n;
}

/* A driver that breaks the device again after every reset cannot flood the host's log. */
START_TEST(needs_reset_reports_are_bounded)
{
    struct rig *g = rig_new();
    FILE *log = tmpfile();
    int saved = dup(STDERR_FILENO);

    ck_assert_ptr_nonnull(log);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(dup2(fileno(log), STDERR_FILENO), 0);
    for (int i = 0; i < 1000; i++) {
        negotiate(g, F_V1);
        virtio_set_status(&g->dev, S_ACK | S_DRV | S_FOK | S_DOK);
        virtio_set_needs_reset(&g->dev, "a broken ring");
        virtio_set_status(&g->dev, 0);
    }
    ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
    close(saved);
    ck_assert_int_eq(g->config_irqs, 1000); /* every cycle still tells the driver */
    ck_assert_int_eq(count_lines(log, "needs reset: a broken ring"), VIRTIO_NEEDS_RESET_REPORTS);
    ck_assert_int_eq(count_lines(log, "further needs-reset reports of this device are not shown"),
                     1);
    fclose(log);
    rig_free(g);
}
END_TEST

START_TEST(needs_reset_before_driver_ok)
{
    struct rig *g = rig_new();

    negotiate(g, F_V1);
    /* Rings outside RAM: the enable fails and the device needs a reset... */
    virtio_queue_set(&g->dev, 0, VIRTIO_QUEUE_DESC, RAM_SIZE);
    ck_assert_int_eq(virtio_queue_set(&g->dev, 0, VIRTIO_QUEUE_ENABLE, 1), -EFAULT);
    ck_assert(virtio_get_status(&g->dev) & S_NRST);
    ck_assert_int_eq(g->config_irqs, 0);
    /* ... which the driver hears about when it starts listening, without an activation. */
    virtio_set_status(&g->dev, S_ACK | S_DRV | S_FOK | S_DOK);
    ck_assert_int_eq(g->config_irqs, 1);
    ck_assert_int_eq(g->activates, 0);
    rig_free(g);
}
END_TEST

START_TEST(failed_activation_needs_reset)
{
    struct rig *g = rig_new();

    g->activate_rc = -ENOMEM;
    negotiate(g, F_V1);
    virtio_set_status(&g->dev, S_ACK | S_DRV | S_FOK | S_DOK);
    ck_assert_int_eq(g->activates, 1);
    ck_assert(virtio_get_status(&g->dev) & S_NRST);
    ck_assert_int_eq(g->config_irqs, 1);
    rig_free(g);
}
END_TEST

START_TEST(config_space_bounds)
{
    struct rig *g = rig_new();
    uint32_t v = 0x11223344, r;
    uint64_t q;

    ck_assert_int_eq(virtio_config_write(&g->dev, 4, &v, 4), 0);
    ck_assert_int_eq(virtio_config_read(&g->dev, 4, &r, 4), 0);
    ck_assert_uint_eq(r, v);
    ck_assert_int_eq(virtio_config_read(&g->dev, 0, &q, 8), 0);
    ck_assert_int_eq(virtio_config_read(&g->dev, 6, &r, 4), -EINVAL); /* straddles the end */
    ck_assert_uint_eq(r, 0);
    ck_assert_int_eq(virtio_config_read(&g->dev, UINT32_MAX - 1, &r, 4), -EINVAL); /* wraps */
    ck_assert_int_eq(virtio_config_write(&g->dev, 8, &v, 1), -EINVAL);
    ck_assert_int_eq(virtio_config_write(&g->dev, 0, &v, 0), -EINVAL);

    virtio_config_changed(&g->dev); /* before DRIVER_OK: generation only */
    ck_assert_uint_eq(virtio_get_config_generation(&g->dev), 1);
    ck_assert_int_eq(g->config_irqs, 0);
    negotiate(g, F_V1);
    virtio_set_status(&g->dev, S_ACK | S_DRV | S_FOK | S_DOK);
    virtio_config_changed(&g->dev);
    ck_assert_uint_eq(virtio_get_config_generation(&g->dev), 2);
    ck_assert_int_eq(g->config_irqs, 1);
    rig_free(g);
}
END_TEST

START_TEST(notify_goes_through_the_transport)
{
    struct rig *g = rig_new();
    struct virtq *vq = &g->dev.queues[0];
    struct vring_desc *d;
    struct vring_avail *a;
    struct vq_chain *c = malloc(sizeof(*c));

    ck_assert_ptr_nonnull(c);
    negotiate(g, F_V1);
    ck_assert_int_eq(setup_queue(g, 0), 0);
    virtio_set_status(&g->dev, S_ACK | S_DRV | S_FOK | S_DOK);
    ck_assert_int_eq(virtio_notify(&g->dev, 0), 0);
    ck_assert_int_eq(g->queue_irqs, 0); /* nothing used yet */

    d = (struct vring_desc *)(g->ram + 0x2000);
    a = (struct vring_avail *)(g->ram + 0x2400);
    d[0] = (struct vring_desc){ .addr = 0x8000, .len = 64, .flags = VRING_DESC_F_WRITE };
    a->ring[0] = 0;
    a->idx = 1;
    ck_assert_int_eq(vq_pop(vq, c), 1);
    ck_assert_int_eq(vq_push(vq, c->head, 64), 0);
    ck_assert_int_eq(virtio_notify(&g->dev, 0), 0);
    ck_assert_int_eq(g->queue_irqs, 1);
    ck_assert_int_eq(virtio_notify(&g->dev, 5), 0);
    ck_assert_int_eq(g->queue_irqs, 1);
    free(c);
    rig_free(g);
}
END_TEST

START_TEST(init_rejects_bad_arguments)
{
    struct virtio_dev dev;
    struct gmem mem;

    ck_assert_int_eq(virtio_dev_init(&dev, 1, 0, 0, 16, &mem, &fake_ops, NULL), -EINVAL);
    ck_assert_int_eq(virtio_dev_init(&dev, 1, 0, 1, 24, &mem, &fake_ops, NULL), -EINVAL);
    ck_assert_int_eq(virtio_dev_init(&dev, 1, 0, 1, 16, &mem, NULL, NULL), -EINVAL);
    virtio_dev_fini(&dev); /* harmless after a failed init */
}
END_TEST

static Suite *virtio_suite(void)
{
    Suite *s = suite_create("virtio");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, offers_core_features);
    tcase_add_test(tc, normal_bring_up);
    tcase_add_test(tc, features_ok_needs_a_valid_subset);
    tcase_add_test(tc, status_bits_in_order_only);
    tcase_add_test(tc, queue_config_rules);
    tcase_add_test(tc, reset_clears_everything);
    tcase_add_test(tc, needs_reset_raises_config_interrupt);
    tcase_add_test(tc, needs_reset_reports_are_bounded);
    tcase_add_test(tc, needs_reset_before_driver_ok);
    tcase_add_test(tc, failed_activation_needs_reset);
    tcase_add_test(tc, config_space_bounds);
    tcase_add_test(tc, notify_goes_through_the_transport);
    tcase_add_test(tc, init_rejects_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(virtio_suite());
}
