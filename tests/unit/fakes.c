// SPDX-License-Identifier: MIT
#include "tests/unit/fakes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

int fake_bus_io(struct bus *bus, uint64_t addr, void *data, uint32_t len, bool is_write)
{
    return bus_access(bus, addr, data, len, is_write);
}

void fake_outb(struct bus *bus, uint64_t port, uint8_t v)
{
    fake_bus_io(bus, port, &v, 1, true);
}

uint8_t fake_inb(struct bus *bus, uint64_t port)
{
    uint8_t v;

    fake_bus_io(bus, port, &v, 1, false);
    return v;
}

void fake_write32(struct bus *bus, uint64_t addr, uint32_t v)
{
    fake_bus_io(bus, addr, &v, 4, true);
}

uint32_t fake_read32(struct bus *bus, uint64_t addr)
{
    uint32_t v;

    fake_bus_io(bus, addr, &v, 4, false);
    return v;
}

/* What epoll_ctl refuses: regular files and /dev/null (whose fops have no poll). */
static bool fake_unpollable(int fd)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return false;
    return S_ISREG(st.st_mode) || (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
}

int evloop_add(struct evloop *loop, int fd, uint32_t events, ev_fn fn, void *opaque)
{
    if (fake_unpollable(fd))
        return -EPERM;
    if (fake_evloop_source(loop, fd))
        return -EEXIST;
    for (int i = 0; i < EVLOOP_MAX_SOURCES; i++) {
        struct ev_source *src = &loop->sources[i];

        if (src->in_use)
            continue;
        *src = (struct ev_source){ .fd = fd, .fn = fn, .opaque = opaque, .in_use = 1 };
        return 0;
    }
    return -ENOSPC;
}

int evloop_del(struct evloop *loop, int fd)
{
    struct ev_source *src = fake_evloop_source(loop, fd);

    if (!src)
        return -ENOENT;
    src->in_use = 0;
    return 0;
}

struct ev_source *fake_evloop_source(struct evloop *loop, int fd)
{
    for (int i = 0; i < EVLOOP_MAX_SOURCES; i++) {
        if (loop->sources[i].in_use && loop->sources[i].fd == fd)
            return &loop->sources[i];
    }
    return NULL;
}

int fake_evloop_fire(struct evloop *loop, int fd, uint32_t events)
{
    struct ev_source *src = fake_evloop_source(loop, fd);

    if (!src)
        return -ENOENT;
    src->fn(src->opaque, events);
    return 0;
}

static void fake_stop_request(void *ctx, enum stop_cause cause, int status)
{
    struct fake_stop *fs = ctx;

    fs->calls++;
    fs->cause = cause;
    fs->status = status;
}

void fake_stop_init(struct fake_stop *fs)
{
    memset(fs, 0, sizeof(*fs));
    fs->stopper = (struct stopper){ .request = fake_stop_request, .ctx = fs };
}

static int fake_irq_set(void *ctx, uint32_t gsi, bool level)
{
    struct fake_irq *fi = ctx;

    if (level)
        fi->raises++;
    else
        fi->lowers++;
    fi->level = level;
    return 0;
}

struct irq_line fake_irq_line(struct fake_irq *fi, uint32_t gsi)
{
    memset(fi, 0, sizeof(*fi));
    fi->sink = (struct irq_sink){ .set_level = fake_irq_set, .ctx = fi };
    return (struct irq_line){ .sink = &fi->sink, .gsi = gsi };
}
