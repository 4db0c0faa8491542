// SPDX-License-Identifier: MIT
#include "devices/acpi_pm.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "devices/devutil.h"
#include "firmware/layout.h"

/* PM1_EN bits that exist: TMR, GBL, PWRBTN, SLPBTN, RTC, PCIEXP_WAKE_DIS. */
#define PM1_EN_BITS 0x4721u
/* PM1_CNT bits that hold a value; SLP_EN and GBL_RLS are write-only strobes. */
#define PM1_CNT_BITS (ACPI_PM1_SLP_TYP | 0x2u /* BM_RLD */)

struct acpi_pm {
    pthread_mutex_t lock; /* any vCPU may touch the registers */
    struct stopper stop;
    uint16_t sts, en, cnt;
};

/*
 * Accesses of any width may hit any byte of a block (ACPICA splits the event block into two
 * 16-bit registers, a guest may use outb): these turn (off, len) into a bit mask over the block
 * seen as one little-endian value. The bus keeps every access inside the block.
 */
static uint32_t pm_mask(uint64_t off, uint32_t len)
{
    uint64_t m = len >= 4 ? UINT32_MAX : (1ull << (8 * len)) - 1;

    return off >= 4 ? 0 : (uint32_t)(m << (8 * off));
}

static uint32_t pm_shift_in(const void *data, uint64_t off, uint32_t len)
{
    return off >= 4 ? 0 : (uint32_t)(io_load(data, len) << (8 * off));
}

static void pm_evt_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    struct acpi_pm *pm = dev;
    uint32_t mask = pm_mask(off, len), v;

    pthread_mutex_lock(&pm->lock);
    if (is_write) {
        v = pm_shift_in(data, off, len) & mask;
        pm->sts &= (uint16_t)~v; /* write 1 to clear */
        if (mask >> 16)
            pm->en = (uint16_t)((pm->en & ~(mask >> 16)) | ((v >> 16) & PM1_EN_BITS));
    } else {
        v = (uint32_t)pm->sts | (uint32_t)pm->en << 16;
        io_store(data, len, off >= 4 ? 0 : v >> (8 * off));
    }
    pthread_mutex_unlock(&pm->lock);
}

static void pm_cnt_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    struct acpi_pm *pm = dev;
    uint32_t mask = pm_mask(off, len) & 0xffff, v;
    bool poweroff = false;

    pthread_mutex_lock(&pm->lock);
    if (is_write) {
        v = pm_shift_in(data, off, len) & mask;
        v |= pm->cnt & ~mask; /* a byte write keeps the other byte */
        pm->cnt = (uint16_t)(v & PM1_CNT_BITS);
        /* Only S5 exists (the DSDT offers no other \_Sx): other sleep types do nothing. */
        poweroff = (v & mask & ACPI_PM1_SLP_EN) &&
                   ((v & ACPI_PM1_SLP_TYP) >> ACPI_PM1_SLP_SHIFT) == ACPI_S5_SLP_TYP;
    } else {
        v = pm->cnt | ACPI_PM1_SCI_EN; /* ACPI mode, always */
        io_store(data, len, off >= 2 ? 0 : v >> (8 * off));
    }
    pthread_mutex_unlock(&pm->lock);

    /* Outside the lock: the stopper may kick vCPUs, one of which could be waiting on it. */
    if (poweroff)
        stopper_request(&pm->stop, STOP_POWEROFF, 0);
}

static void pm_reset_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    struct acpi_pm *pm = dev;

    if (!is_write) {
        io_store(data, len, 0);
        return;
    }
    if (off == 0 && (io_load(data, len) & 0xff) == ACPI_RESET_VALUE)
        stopper_request(&pm->stop, STOP_RESET, 0);
}

int acpi_pm_create(struct acpi_pm **out, struct bus *pio, const struct acpi_pm_ports *ports,
                   const struct stopper *stop)
{
    struct acpi_pm *pm;
    int rc;

    pm = calloc(1, sizeof(*pm));
    if (!pm)
        return -ENOMEM;
    rc = -pthread_mutex_init(&pm->lock, NULL);
    if (rc)
        goto err_free;
    if (stop)
        pm->stop = *stop;

    rc = bus_add(pio, ports->pm1a_evt, ACPI_PM1_EVT_LEN, pm_evt_io, pm, "acpi-pm1-evt");
    if (rc)
        goto err_mutex;
    rc = bus_add(pio, ports->pm1a_cnt, ACPI_PM1_CNT_LEN, pm_cnt_io, pm, "acpi-pm1-cnt");
    if (rc)
        goto err_del_evt;
    rc = bus_add(pio, ports->reset, 1, pm_reset_io, pm, "acpi-reset");
    if (rc)
        goto err_del_cnt;
    *out = pm;
    return 0;

err_del_cnt:
    bus_del(pio, ports->pm1a_cnt);
err_del_evt:
    bus_del(pio, ports->pm1a_evt);
err_mutex:
    pthread_mutex_destroy(&pm->lock);
err_free:
    free(pm);
    return rc;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
    if (!pm)
        return;
    pthread_mutex_destroy(&pm->lock);
    free(pm);
}

void acpi_pm_set_status(struct acpi_pm *pm, uint16_t bits)
{
    pthread_mutex_lock(&pm->lock);
    pm->sts |= bits;
    pthread_mutex_unlock(&pm->lock);
}
