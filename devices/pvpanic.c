// SPDX-License-Identifier: MIT
#include "devices/pvpanic.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "devices/devutil.h"
#include "vmm/core/log.h"

struct pvpanic {
    struct stopper stop;
    atomic_bool crash_logged; /* several CPUs may report; one line is enough */
};

static void pvpanic_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    struct pvpanic *p = dev;
    uint64_t v;

    if (!is_write) {
        io_store(data, len, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
        return;
    }
    v = io_load(data, len);
    /* PANICKED wins if a guest sets both: nothing is left to keep running for. */
    if (v & PVPANIC_PANICKED)
        stopper_request(&p->stop, STOP_GUEST_PANIC, 0);
    else if ((v & PVPANIC_CRASH_LOADED) && !atomic_exchange(&p->crash_logged, true))
        log_info("guest panicked; its crash kernel takes over");
}

int pvpanic_create(struct pvpanic **out, struct bus *pio, uint16_t port, const struct stopper *stop)
{
    struct pvpanic *p;
    int rc;

    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    if (stop)
        p->stop = *stop;
    atomic_init(&p->crash_logged, false);
    rc = bus_add(pio, port, 1, pvpanic_io, p, "pvpanic");
    if (rc) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void pvpanic_destroy(struct pvpanic *p)
{
    free(p);
}
