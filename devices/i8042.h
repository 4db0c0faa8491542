/* SPDX-License-Identifier: MIT */
/*
 * Just enough of an 8042 keyboard controller for Linux to probe it and to reset the machine
 * through it: the command byte, self tests, the output port, and the reset pulse (command 0xFE,
 * or an output port write with bit 0 clear), which becomes STOP_RESET. No keyboard or mouse is
 * attached yet, so no interrupts are raised and data written to the keyboard goes nowhere.
 */
#ifndef KVMINI_DEVICES_I8042_H
#define KVMINI_DEVICES_I8042_H

#include <stdint.h>

#include "vmm/core/bus.h"
#include "vmm/core/stop.h"

/* Where the controller's two one-byte ports are (0x60 and 0x64 on a PC). */
struct i8042_ports {
    uint16_t data;
    uint16_t cmd; /* command (write) and status (read) */
};

struct i8042;

/*
 * Allocates the controller and registers the two ports in *ports on pio; stop is copied. 0 or
 * -errno (-EEXIST, -EPERM from the bus, -ENOMEM); on failure nothing stays registered.
 */
int i8042_create(struct i8042 **out, struct bus *pio, const struct i8042_ports *ports,
                 const struct stopper *stop);

/* Frees the controller (NULL-safe). The bus must no longer dispatch to it. */
void i8042_destroy(struct i8042 *k);

#endif
