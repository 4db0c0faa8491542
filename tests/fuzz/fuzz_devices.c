// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for every device register a guest can reach: the PC's devices (UART, i8042,
 * RTC, ACPI PM, pvpanic, debug device, IOAPIC) and the PCI bus with a virtio-pci function (config
 * space, BARs, MSI-X, the common configuration and status machine, with the ioeventfd/irqfd fast
 * path), on the real buses, as kvmini's machine.c places them. The input is a sequence of guest
 * accesses, host input and guest-RAM writes; each run builds the devices afresh and tears them
 * down. Whatever comes, nothing may crash, leak or trip ASan/UBSan.
 *
 * Input: a sequence of operations, each
 *   u8 op    bits 0-2: 0 port write, 1 port read, 2 MMIO write, 3 MMIO read, 4 host input to the
 *            UART, 5 an event-loop source fires, 6 a guest RAM write; bits 3-4: log2 width
 *   u8 where which range (mod the table below) or which source
 *   u16 offset into the range (mod its size)
 *   width bytes of value (writes), or u8 n + n bytes (host input)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/epoll.h>

#include <linux/virtio_ids.h>

#include "tests/fuzz/fuzz.h"
#include "devices/acpi_pm.h"
#include "devices/debugdev.h"
#include "devices/i8042.h"
#include "devices/ioapic.h"
#include "devices/pci/pci.h"
#include "devices/pvpanic.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/virtio_pci.h"
#include "firmware/layout.h"
#include "tests/unit/fakes.h"
#include "vmm/core/irqroute.h"

#define RAM_SIZE 0x10000

struct range {
    bool mmio;
    uint64_t base;
    uint32_t size;
};

/* Where machine.c puts things (firmware/layout.h); the PCI windows only where BARs land first. */
static const struct range ranges[] = {
    { false, PORT_COM1, 8 },
    { false, PORT_I8042_DATA, 1 },
    { false, PORT_I8042_CMD, 1 },
    { false, PORT_RTC_INDEX, 2 },
    { false, PORT_ACPI_PM1A_EVT, ACPI_PM1_EVT_LEN },
    { false, PORT_ACPI_PM1A_CNT, ACPI_PM1_CNT_LEN },
    { false, PORT_ACPI_RESET, 1 },
    { false, PORT_PVPANIC, 1 },
    { false, PORT_DEBUG_EXIT, 4 },
    { false, PORT_POST_CODE, 1 },
    { false, PORT_BOOT_TIMER, 4 },
    { false, PORT_PCI_CONFIG_ADDR, 8 },
    { false, PORT_PCI_IO_BASE, 0x100 },
    { true, LAYOUT_IOAPIC_BASE, LAYOUT_IOAPIC_SIZE },
    { true, LAYOUT_PCI_MMIO_BASE, 0x10000 },
    { true, LAYOUT_DEBUG_MMIO, LAYOUT_DEBUG_MMIO_SIZE },
    { true, 0xcafe0000, 0x1000 }, /* nothing there */
};

struct machine {
    uint8_t ram[RAM_SIZE];
    struct gmem mem;
    struct bus pio, mmio;
    struct evloop loop;
    struct fake_stop stop;
    struct fake_irq irq;
    struct irqroute routes;
    struct irq_routes ops;
    struct msi_sender msi;
    struct serial *serial;
    struct i8042 *kbc;
    struct rtc *rtc;
    struct acpi_pm *pm;
    struct pvpanic *panic;
    struct debugdev *debug;
    struct ioapic *ioapic;
    struct pci_bus *pci;
    struct virtio_dev vdev;
    struct virtio_pci *vp;
    uint8_t config[8];
};

static size_t serial_take(void *ctx, const void *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    return len / 2; /* a host that is sometimes full */
}

static size_t serial_room(void *ctx)
{
    (void)ctx;
    return 1;
}

static int send_msi(void *ctx, uint64_t addr, uint32_t data)
{
    (void)ctx;
    (void)addr;
    (void)data;
    return 0;
}

static int pin_update(void *ctx, uint32_t pin, uint64_t addr, uint32_t data, bool masked)
{
    return irqroute_ioapic_update(ctx, pin, addr, data, masked);
}

static int fake_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
    (void)ctx;
    (void)fd;
    (void)req;
    (void)arg;
    return 0;
}

static int fixed_clock(void *ctx, struct timespec *now)
{
    (void)ctx;
    *now = (struct timespec){ .tv_sec = 1764979200 };
    return 0;
}

static void stub_notify(struct virtio_dev *dev, unsigned int q)
{
    (void)dev;
    (void)q;
}

static void stub_read_config(struct virtio_dev *dev, uint32_t off, void *data, uint32_t len)
{
    memcpy(data, ((struct machine *)dev->priv)->config + off, len);
}

static const struct virtio_dev_ops stub_ops = {
    .config_size = 8,
    .queue_notify = stub_notify,
    .read_config = stub_read_config,
};

static void build(struct machine *m)
{
    const struct serial_output out = { .write = serial_take, .room = serial_room, .ctx = m };
    const struct i8042_ports kbc = { .data = PORT_I8042_DATA, .cmd = PORT_I8042_CMD };
    const struct acpi_pm_ports pm = {
        .pm1a_evt = PORT_ACPI_PM1A_EVT,
        .pm1a_cnt = PORT_ACPI_PM1A_CNT,
        .reset = PORT_ACPI_RESET,
    };
    const struct debugdev_addrs dbg = {
        .exit_port = PORT_DEBUG_EXIT,
        .post_code_port = PORT_POST_CODE,
        .boot_timer_port = PORT_BOOT_TIMER,
        .mmio_base = LAYOUT_DEBUG_MMIO,
        .mmio_size = LAYOUT_DEBUG_MMIO_SIZE,
    };
    const struct pci_bus_addrs pci = {
        .config_port = PORT_PCI_CONFIG_ADDR,
        .io_base = PORT_PCI_IO_BASE,
        .io_size = PORT_PCI_IO_SIZE,
        .mmio_base = LAYOUT_PCI_MMIO_BASE,
        .mmio_size = LAYOUT_PCI_MMIO_SIZE,
    };
    struct pin_routes pins;

    gmem_init_fixed(&m->mem, 0, m->ram, RAM_SIZE);
    bus_init(&m->pio, "pio");
    bus_init(&m->mmio, "mmio");
    fake_stop_init(&m->stop);
    m->msi = (struct msi_sender){ .send = send_msi, .ctx = m };
    CHECK(!irqroute_init(&m->routes, 3, false, fake_ioctl, m));
    m->ops = irqroute_ops(&m->routes);
    pins = (struct pin_routes){ .update = pin_update, .ctx = &m->routes };
    CHECK(!ioapic_create(&m->ioapic, &m->mmio, LAYOUT_IOAPIC_BASE, &m->msi, &pins));
    CHECK(!serial_create(&m->serial, &m->pio, PORT_COM1, fake_irq_line(&m->irq, GSI_COM1), &out));
    CHECK(!i8042_create(&m->kbc, &m->pio, &kbc, &m->stop.stopper));
    CHECK(!rtc_create(&m->rtc, &m->pio, PORT_RTC_INDEX, fake_irq_line(&m->irq, GSI_RTC),
                      fixed_clock, NULL));
    CHECK(!acpi_pm_create(&m->pm, &m->pio, &pm, &m->stop.stopper));
    CHECK(!pvpanic_create(&m->panic, &m->pio, PORT_PVPANIC, &m->stop.stopper));
    CHECK(!debugdev_create(&m->debug, &m->pio, &m->mmio, &dbg, &m->stop.stopper, 0));
    CHECK(!pci_bus_create(&m->pci, &m->pio, &m->mmio, &pci, ioapic_irq_sink(m->ioapic), &m->msi,
                          &m->ops));
    CHECK(!virtio_dev_init(&m->vdev, VIRTIO_ID_RNG, 0, 2, 64, &m->mem, &stub_ops, m));
    memcpy(m->config, "kvmini!", 8);
    CHECK(!virtio_pci_create(&m->vp, m->pci, &m->vdev, &m->ops, &m->loop));
}

static void tear_down(struct machine *m)
{
    virtio_pci_destroy(m->vp);
    virtio_dev_fini(&m->vdev);
    pci_bus_destroy(m->pci);
    debugdev_destroy(m->debug);
    pvpanic_destroy(m->panic);
    acpi_pm_destroy(m->pm);
    rtc_destroy(m->rtc);
    i8042_destroy(m->kbc);
    serial_destroy(m->serial);
    ioapic_destroy(m->ioapic);
    irqroute_fini(&m->routes);
    bus_fini(&m->mmio);
    bus_fini(&m->pio);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct machine m;
    size_t at = 0;

    memset(&m, 0, sizeof(m));
    build(&m);
    while (at + 4 <= size) {
        uint8_t op = data[at], where = data[at + 1];
        uint16_t off = (uint16_t)(data[at + 2] | data[at + 3] << 8);
        uint32_t width = 1u << ((op >> 3) & 3);
        const struct range *r = &ranges[where % (sizeof(ranges) / sizeof(ranges[0]))];
        uint8_t value[8] = { 0 };

        at += 4;
        switch (op & 7) {
        case 0:
        case 1:
        case 2:
        case 3:
            if (!r->mmio && width > 4)
                width = 4;
            if ((op & 1) == 0) {
                if (at + width > size)
                    goto out;
                memcpy(value, data + at, width);
                at += width;
            }
            bus_access(r->mmio ? &m.mmio : &m.pio, r->base + off % r->size, value, width,
                       (op & 1) == 0);
            break;
        case 4: {
            size_t n = off % 64;

            if (at + n > size)
                goto out;
            serial_receive(m.serial, data + at, n);
            at += n;
            break;
        }
        case 5:
            if (m.loop.sources[where % EVLOOP_MAX_SOURCES].in_use)
                fake_evloop_fire(&m.loop, m.loop.sources[where % EVLOOP_MAX_SOURCES].fd, EPOLLIN);
            break;
        case 6:
            if (at + 8 > size)
                goto out;
            memcpy(m.ram + off % (RAM_SIZE - 8), data + at, 8);
            at += 8;
            break;
        default:
            serial_output_room(m.serial);
            break;
        }
    }
out:
    tear_down(&m);
    return 0;
}
