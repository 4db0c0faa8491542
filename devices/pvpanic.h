/* SPDX-License-Identifier: MIT */
/*
 * QEMU's pvpanic device: one I/O port, found by Linux through the DSDT's QEMU0001 device. A read
 * returns the events kvmini understands; the guest writes one when it happens:
 *  - PANICKED: the kernel panicked and nothing will recover it, so the VM stops
 *    (STOP_GUEST_PANIC) instead of sitting in the panic loop;
 *  - CRASH_LOADED: the kernel panicked but is about to boot its kdump kernel, which must be left
 *    to run and save the dump: only logged.
 */
#ifndef KVMINI_DEVICES_PVPANIC_H
#define KVMINI_DEVICES_PVPANIC_H

#include <stdint.h>

#include "vmm/core/bus.h"
#include "vmm/core/stop.h"

#define PVPANIC_PANICKED     (1u << 0)
#define PVPANIC_CRASH_LOADED (1u << 1)

struct pvpanic;

/*
 * Allocates the device and registers it at the one-byte port port on pio (the one the DSDT names);
 * stop is copied (NULL: requests go nowhere). 0, -EEXIST/-EPERM from the bus, -ENOMEM; on failure
 * nothing stays registered.
 */
int pvpanic_create(struct pvpanic **out, struct bus *pio, uint16_t port,
                   const struct stopper *stop);

/* Frees the device (NULL-safe). The bus must no longer dispatch to it. */
void pvpanic_destroy(struct pvpanic *p);

#endif
