/* SPDX-License-Identifier: MIT */
/*
 * Test doubles for the narrow VM interfaces devices use, so device tests link only the device and
 * the real bus: dispatch helpers over vmm/core/bus.c (fake_inb, ...), an event loop
 * whose sources the test fires by hand (evloop_add/evloop_del), a recording stopper and irq sink.
 * State lives in the structs the tests own; nothing global.
 */
#ifndef KVMINI_TESTS_UNIT_FAKES_H
#define KVMINI_TESTS_UNIT_FAKES_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/core/bus.h"
#include "vmm/core/evloop.h"
#include "vmm/core/irq.h"
#include "vmm/core/stop.h"

/* Dispatches like bus_access(): 0, or -ENOENT (reads filled with 0xff) when no range holds it. */
int fake_bus_io(struct bus *bus, uint64_t addr, void *data, uint32_t len, bool is_write);
void fake_outb(struct bus *bus, uint64_t port, uint8_t v);
uint8_t fake_inb(struct bus *bus, uint64_t port);
void fake_write32(struct bus *bus, uint64_t addr, uint32_t v);
uint32_t fake_read32(struct bus *bus, uint64_t addr);

/* The source watching fd, or NULL. */
struct ev_source *fake_evloop_source(struct evloop *loop, int fd);
/* Runs fd's callback as the loop thread would; -ENOENT if nothing watches fd. */
int fake_evloop_fire(struct evloop *loop, int fd, uint32_t events);

struct fake_stop {
    int calls;
    enum stop_cause cause; /* of the last request */
    int status;
    struct stopper stopper; /* hand this to the device */
};
void fake_stop_init(struct fake_stop *fs);

struct fake_irq {
    bool level;
    int raises, lowers;
    struct irq_sink sink;
};
/* An irq_line on gsi whose level changes are recorded in *fi. */
struct irq_line fake_irq_line(struct fake_irq *fi, uint32_t gsi);

#endif
