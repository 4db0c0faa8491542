/* SPDX-License-Identifier: MIT */
/*
 * The DSDT's AML: \_S5 (soft-off), and in \_SB the devices a guest cannot find by probing (COM1,
 * the RTC when there is one, pvpanic, the PCI root bridge with its windows and _PRT). acpi.c puts
 * the table header around it.
 */
#ifndef KVMINI_FIRMWARE_DSDT_H
#define KVMINI_FIRMWARE_DSDT_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/acpi.h"

/*
 * Writes the definition block's body for cfg into buf (cap bytes) and sets *len. 0, -E2BIG when
 * it does not fit, -EINVAL for a malformed block (a bug here).
 */
int dsdt_build(uint8_t *buf, size_t cap, const struct acpi_config *cfg, size_t *len);

#endif
