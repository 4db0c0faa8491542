/* SPDX-License-Identifier: MIT */
/*
 * The ACPI fixed hardware the FADT (firmware/acpi.c) describes: the PM1a event block (PM1_STS,
 * write-1-to-clear, and PM1_EN), the PM1a control block, and the reset register, at the ports the
 * caller gives (which must be the ones the FADT names). Writing SLP_TYP = S5 with SLP_EN powers
 * off (STOP_POWEROFF); writing ACPI_RESET_VALUE to the reset register is STOP_RESET.
 * ACPI is always enabled (SCI_EN reads 1, there is no SMI_CMD). Nothing raises an SCI yet.
 */
#ifndef KVMINI_DEVICES_ACPI_PM_H
#define KVMINI_DEVICES_ACPI_PM_H

#include <stdint.h>

#include "vmm/core/bus.h"
#include "vmm/core/stop.h"

/* PM1_STS bits. */
#define ACPI_PM1_TMR_STS    (1u << 0)
#define ACPI_PM1_GBL_STS    (1u << 5)
#define ACPI_PM1_PWRBTN_STS (1u << 8)
#define ACPI_PM1_SLPBTN_STS (1u << 9)
#define ACPI_PM1_WAK_STS    (1u << 15)

/* PM1_CNT bits. */
#define ACPI_PM1_SCI_EN    (1u << 0)
#define ACPI_PM1_SLP_TYP   (7u << 10)
#define ACPI_PM1_SLP_SHIFT 10
#define ACPI_PM1_SLP_EN    (1u << 13)

/* Where the device's three port ranges start. */
struct acpi_pm_ports {
    uint16_t pm1a_evt; /* ACPI_PM1_EVT_LEN ports: PM1_STS, then PM1_EN */
    uint16_t pm1a_cnt; /* ACPI_PM1_CNT_LEN ports: PM1_CNT */
    uint16_t reset;    /* one port: the reset register */
};

struct acpi_pm;

/*
 * Allocates the device and registers the three port ranges in *ports on pio; stop is copied
 * (NULL: stop requests go nowhere). 0 or -errno (-EEXIST, -EPERM from the bus, -ENOMEM); on
 * failure nothing stays registered.
 */
int acpi_pm_create(struct acpi_pm **out, struct bus *pio, const struct acpi_pm_ports *ports,
                   const struct stopper *stop);

/* Frees the device (NULL-safe). The bus must no longer dispatch to it. */
void acpi_pm_destroy(struct acpi_pm *pm);

/*
 * Sets PM1_STS bits, as an event source (a power button, later) will; the guest clears them by
 * writing 1s. No SCI is raised yet.
 */
void acpi_pm_set_status(struct acpi_pm *pm, uint16_t bits);

#endif
