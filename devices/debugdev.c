// SPDX-License-Identifier: MIT
#include "devices/debugdev.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "devices/devutil.h"
#include "firmware/layout.h"

/* outw/outl to the exit port must land on the device too, so it owns a dword of ports. */
#define DEBUG_EXIT_PORTS 4

struct debugdev {
    struct stopper stop;
    uint64_t start_ns;

    pthread_mutex_t lock; /* marks come from any vCPU */
    size_t nr_marks, dropped;
    struct debugdev_mark marks[DEBUGDEV_MAX_MARKS];
};

static uint64_t debugdev_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void debugdev_exit_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    struct debugdev *d = dev;

    if (!is_write) {
        io_store(data, len, UINT64_MAX);
        return;
    }
    /* Only an access starting at the port itself is an exit request; the low byte is V. */
    if (off == 0)
        stopper_request(&d->stop, STOP_GUEST_EXIT, (int)(io_load(data, len) & 0xff));
}

static void debugdev_post_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    if (!is_write)
        io_store(data, len, UINT64_MAX);
}

static void debugdev_mark(struct debugdev *d, uint32_t id)
{
    uint64_t now = debugdev_now_ns();

    pthread_mutex_lock(&d->lock);
    if (d->nr_marks < DEBUGDEV_MAX_MARKS) {
        /* A start time in the future would wrap; 0 says "before the start" well enough. */
        d->marks[d->nr_marks++] = (struct debugdev_mark){
            .ns = now > d->start_ns ? now - d->start_ns : 0,
            .id = id,
        };
    } else {
        d->dropped++;
    }
    pthread_mutex_unlock(&d->lock);
}

static void debugdev_mmio(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    if (!is_write) {
        io_store(data, len, 0); /* PROBE and everything else read 0 */
        return;
    }
    if (off == DEBUG_MMIO_BOOT_MARK)
        debugdev_mark(dev, (uint32_t)io_load(data, len));
}

/* The boot-timer port: what the MMIO mark register does, for guests that cannot map MMIO early. */
static void debugdev_boot_timer_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    if (!is_write)
        io_store(data, len, 0);
    else if (off == 0)
        debugdev_mark(dev, (uint32_t)io_load(data, len));
}

int debugdev_create(struct debugdev **out, struct bus *pio, struct bus *mmio,
                    const struct debugdev_addrs *addrs, const struct stopper *stop,
                    uint64_t start_ns)
{
    struct debugdev *d;
    int rc;

    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    rc = -pthread_mutex_init(&d->lock, NULL);
    if (rc)
        goto err_free;
    if (stop)
        d->stop = *stop;
    d->start_ns = start_ns;

    rc = bus_add(pio, addrs->exit_port, DEBUG_EXIT_PORTS, debugdev_exit_io, d, "debug-exit");
    if (rc)
        goto err_mutex;
    rc = bus_add(pio, addrs->post_code_port, 1, debugdev_post_io, d, "post-code");
    if (rc)
        goto err_del_exit;
    rc = bus_add(pio, addrs->boot_timer_port, 4, debugdev_boot_timer_io, d, "boot-timer");
    if (rc)
        goto err_del_post;
    rc = bus_add(mmio, addrs->mmio_base, addrs->mmio_size, debugdev_mmio, d, "debug-mmio");
    if (rc)
        goto err_del_timer;
    *out = d;
    return 0;

err_del_timer:
    bus_del(pio, addrs->boot_timer_port);
err_del_post:
    bus_del(pio, addrs->post_code_port);
err_del_exit:
    bus_del(pio, addrs->exit_port);
err_mutex:
    pthread_mutex_destroy(&d->lock);
err_free:
    free(d);
    return rc;
}

void debugdev_destroy(struct debugdev *d)
{
    if (!d)
        return;
    pthread_mutex_destroy(&d->lock);
    free(d);
}

size_t debugdev_marks(struct debugdev *d, struct debugdev_mark *out, size_t max, size_t *dropped)
{
    size_t n;

    pthread_mutex_lock(&d->lock);
    n = d->nr_marks < max ? d->nr_marks : max;
    for (size_t i = 0; i < n; i++)
        out[i] = d->marks[i];
    if (dropped)
        *dropped = d->dropped;
    pthread_mutex_unlock(&d->lock);
    return n;
}
