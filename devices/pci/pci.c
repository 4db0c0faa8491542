// SPDX-License-Identifier: MIT
#include "devices/pci/pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/devutil.h"

#define CF8_ENABLE   0x80000000u
#define CF8_WRITABLE 0x80fffffcu /* enable, bus, device, function, dword register */

struct pci_bus {
    pthread_mutex_t lock;
    uint32_t cf8;
    struct pci_function host;
    struct pci_function *slots[PCI_MAX_SLOTS];
    unsigned int nr;
    struct pci_bus_addrs addrs;
    uint64_t mmio_next;
    uint32_t io_next;
    struct bus *pio, *mmio;
    const struct irq_sink *irq;
    const struct msi_sender *msi;
    const struct irq_routes *routes;
};

/* A bar_moved notification, collected under the lock and sent after it. */
struct pci_moves {
    unsigned int n;
    struct {
        unsigned int bar;
        uint64_t old_addr, new_addr;
    } m[PCI_STD_NUM_BARS];
};

static uint32_t cfg_get(const struct pci_function *f, uint32_t off, uint32_t len)
{
    uint32_t v = 0;

    memcpy(&v, &f->cfg[off], len);
    return v;
}

static void cfg_put(struct pci_function *f, uint32_t off, uint32_t len, uint32_t v)
{
    memcpy(&f->cfg[off], &v, len);
}

void pci_function_fini(struct pci_function *f)
{
    const struct irq_routes *routes = f->bus ? f->bus->routes : NULL;

    for (unsigned int v = 0; v < PCI_MSIX_MAX_VECS; v++) {
        if (f->msix.irqfd[v] < 0)
            continue;
        if (routes) {
            routes->irqfd(routes->ctx, f->msix.irqfd[v], f->msix.gsi[v], false);
            routes->msi_free(routes->ctx, f->msix.gsi[v]);
        }
        close(f->msix.irqfd[v]);
        f->msix.irqfd[v] = -1;
    }
}

static void msix_bar_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write);

int pci_function_add_msix(struct pci_function *f, unsigned int bar, uint16_t nr)
{
    struct pci_msix *m = &f->msix;
    uint8_t body[10];
    uint32_t pba_off = (nr * PCI_MSIX_ENTRY_SIZE + 7u) & ~7u, v;
    int rc;

    if (!nr || nr > PCI_MSIX_MAX_VECS || m->nr)
        return -EINVAL;
    if ((rc = pci_function_set_bar(f, bar, PCI_BAR_MEM32, 4096, msix_bar_io, f)))
        return rc;
    v = nr - 1u;
    memcpy(body, &v, 2);
    v = 0 | bar;
    memcpy(body + 2, &v, 4);
    v = pba_off | bar;
    memcpy(body + 6, &v, 4);
    if ((rc = pci_function_add_cap(f, PCI_CAP_ID_MSIX, body, sizeof(body), &m->cap))) {
        f->bars[bar] = (struct pci_bar){ 0 };
        return rc;
    }
    f->wmask[m->cap + PCI_MSIX_FLAGS + 1] = (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
    m->nr = nr;
    m->bar = (uint8_t)bar;
    m->pba_off = pba_off;
    for (unsigned int i = 0; i < nr; i++)
        m->table[i][3] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
    return 0;
}

/* --- Decoding ------------------------------------------------------------------------------ */

/* Where BAR i decodes now: its address if decoding is on and it lies inside the window. */
static uint64_t bar_decode(const struct pci_function *f, unsigned int i)
{
    const struct pci_bus_addrs *win = &f->bus->addrs;
    const struct pci_bar *bar = &f->bars[i];
    uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * i;
    uint16_t cmd = (uint16_t)cfg_get(f, PCI_COMMAND, 2);
    uint64_t addr, base, size;

    switch (bar->kind) {
    case PCI_BAR_IO:
        addr = cfg_get(f, reg, 4) & PCI_BASE_ADDRESS_IO_MASK;
        base = win->io_base;
        size = win->io_size;
        if (!(cmd & PCI_COMMAND_IO))
            return PCI_BAR_UNMAPPED;
        break;
    case PCI_BAR_MEM32:
    case PCI_BAR_MEM64:
        addr = cfg_get(f, reg, 4) & PCI_BASE_ADDRESS_MEM_MASK;
        if (bar->kind == PCI_BAR_MEM64)
            addr |= (uint64_t)cfg_get(f, reg + 4, 4) << 32;
        base = win->mmio_base;
        size = win->mmio_size;
        if (!(cmd & PCI_COMMAND_MEMORY))
            return PCI_BAR_UNMAPPED;
        break;
    default:
        return PCI_BAR_UNMAPPED;
    }
    if (addr < base || addr - base > size || bar->size > size - (addr - base))
        return PCI_BAR_UNMAPPED;
    return addr;
}

static void update_bars(struct pci_function *f, struct pci_moves *mv)
{
    for (unsigned int i = 0; i < PCI_STD_NUM_BARS; i++) {
        uint64_t now = bar_decode(f, i);

        if (now == f->bar_addr[i])
            continue;
        mv->m[mv->n++] = (typeof(mv->m[0])){ i, f->bar_addr[i], now };
        f->bar_addr[i] = now;
    }
}

static void send_moves(struct pci_function *f, const struct pci_moves *mv)
{
    for (unsigned int i = 0; i < mv->n; i++)
        if (f->ops && f->ops->bar_moved)
            f->ops->bar_moved(f, mv->m[i].bar, mv->m[i].old_addr, mv->m[i].new_addr);
}

/* Finds the BAR decoding [addr, addr+len) in the given space; fills what to call. */
static bool window_lookup(struct pci_bus *b, bool io, uint64_t addr, uint32_t len,
                          struct pci_bar *hit, uint64_t *off)
{
    bool found = false;

    pthread_mutex_lock(&b->lock);
    for (unsigned int s = 0; s < b->nr && !found; s++) {
        struct pci_function *f = b->slots[s];

        for (unsigned int i = 0; i < PCI_STD_NUM_BARS && !found; i++) {
            const struct pci_bar *bar = &f->bars[i];
            uint64_t a = f->bar_addr[i];

            if (a == PCI_BAR_UNMAPPED || (bar->kind == PCI_BAR_IO) != io || addr < a ||
                addr - a >= bar->size || len > bar->size - (addr - a))
                continue;
            *hit = *bar;
            *off = addr - a;
            found = true;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return found;
}

static void window_io(struct pci_bus *b, bool io, uint64_t addr, void *data, uint32_t len,
                      bool is_write)
{
    struct pci_bar hit;
    uint64_t off;

    if (window_lookup(b, io, addr, len, &hit, &off))
        hit.fn(hit.dev, off, data, len, is_write);
    else if (!is_write)
        memset(data, 0xff, len);
}

static void pci_mmio_window(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    struct pci_bus *b = dev;

    window_io(b, false, b->addrs.mmio_base + off, data, len, is_write);
}

static void pci_io_window(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    struct pci_bus *b = dev;

    window_io(b, true, b->addrs.io_base + off, data, len, is_write);
}

/* --- MSI-X --------------------------------------------------------------------------------- */

static bool msix_on(const struct pci_function *f, bool *all_masked)
{
    uint16_t ctrl;

    if (!f->msix.nr)
        return false;
    ctrl = (uint16_t)cfg_get(f, f->msix.cap + PCI_MSIX_FLAGS, 2);
    *all_masked = ctrl & PCI_MSIX_FLAGS_MASKALL;
    return ctrl & PCI_MSIX_FLAGS_ENABLE;
}

static bool msix_masked(const struct pci_function *f, uint16_t v)
{
    bool all;

    return !msix_on(f, &all) || all || (f->msix.table[v][3] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

/* Pending vectors that are no longer masked: cleared from the PBA, returned to be sent. */
static uint64_t msix_take_unmasked(struct pci_function *f)
{
    uint64_t go = 0;

    for (uint16_t v = 0; v < f->msix.nr; v++)
        if ((f->msix.pba >> v & 1) && !msix_masked(f, v))
            go |= 1ULL << v;
    f->msix.pba &= ~go;
    return go;
}

static int msix_send(struct pci_function *f, uint16_t v, uint64_t addr, uint32_t data)
{
    struct pci_bus *b = f->bus;
    int fd = f->msix.irqfd[v];
    uint64_t one = 1;

    /* The route is brought up to date on the way (no ioctl when it already is). */
    if (fd >= 0 && !b->routes->msi_set(b->routes->ctx, f->msix.gsi[v], addr, data))
        return write(fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
    if (!b->msi)
        return -ENODEV;
    return b->msi->send(b->msi->ctx, addr, data);
}

static void msix_send_all(struct pci_function *f, uint64_t go)
{
    for (uint16_t v = 0; go; v++, go >>= 1) {
        uint64_t addr;
        uint32_t data;

        if (!(go & 1))
            continue;
        pthread_mutex_lock(&f->bus->lock);
        addr = f->msix.table[v][0] | (uint64_t)f->msix.table[v][1] << 32;
        data = f->msix.table[v][2];
        pthread_mutex_unlock(&f->bus->lock);
        msix_send(f, v, addr, data);
    }
}

static void msix_bar_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    struct pci_function *f = dev;
    struct pci_msix *m = &f->msix;
    uint64_t table_len = m->nr * PCI_MSIX_ENTRY_SIZE, go = 0;

    pthread_mutex_lock(&f->bus->lock);
    if (off < table_len && len <= table_len - off) {
        /* Only naturally aligned dwords and qwords, as the spec allows; others are dropped. */
        if (!is_write)
            memcpy(data, (uint8_t *)m->table + off, len);
        else if ((len == 4 || len == 8) && off % len == 0)
            memcpy((uint8_t *)m->table + off, data, len);
        if (is_write)
            go = msix_take_unmasked(f);
    } else if (off >= m->pba_off && off - m->pba_off < 8 && len <= 8 - (off - m->pba_off)) {
        if (!is_write)
            memcpy(data, (uint8_t *)&m->pba + (off - m->pba_off), len);
    } else if (!is_write) {
        memset(data, 0, len);
    }
    pthread_mutex_unlock(&f->bus->lock);
    msix_send_all(f, go);
}

bool pci_msix_enabled(struct pci_function *f)
{
    bool on, all;

    if (!f->bus)
        return false;
    pthread_mutex_lock(&f->bus->lock);
    on = msix_on(f, &all);
    pthread_mutex_unlock(&f->bus->lock);
    return on;
}

int pci_msix_notify(struct pci_function *f, uint16_t v)
{
    uint64_t addr;
    uint32_t data;
    bool all;

    if (!f->bus || v >= f->msix.nr)
        return -EINVAL;
    pthread_mutex_lock(&f->bus->lock);
    if (!msix_on(f, &all)) {
        pthread_mutex_unlock(&f->bus->lock);
        return -EAGAIN;
    }
    if (msix_masked(f, v)) {
        f->msix.pba |= 1ULL << v;
        pthread_mutex_unlock(&f->bus->lock);
        return 0;
    }
    addr = f->msix.table[v][0] | (uint64_t)f->msix.table[v][1] << 32;
    data = f->msix.table[v][2];
    pthread_mutex_unlock(&f->bus->lock);
    return msix_send(f, v, addr, data);
}

/* --- INTx ---------------------------------------------------------------------------------- */

/* Drives the pin from the device's level and the command register. Lock held. */
static void intx_update(struct pci_function *f)
{
    bool out = f->intx_level && !(cfg_get(f, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);

    if (f->intx_level)
        f->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
    else
        f->cfg[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
    if (out != f->intx_out) {
        f->intx_out = out;
        irq_line_set(&f->intx, out);
    }
}

void pci_set_intx(struct pci_function *f, bool level)
{
    if (!f->bus)
        return;
    pthread_mutex_lock(&f->bus->lock);
    f->intx_level = level;
    intx_update(f);
    pthread_mutex_unlock(&f->bus->lock);
}

/* --- Configuration space ------------------------------------------------------------------- */

static bool overlaps(uint32_t off, uint32_t len, uint32_t start, uint32_t n)
{
    return off < start + n && start < off + len;
}

void pci_cfg_rw(struct pci_bus *b, unsigned int slot, uint32_t off, void *data, uint32_t len,
                bool is_write)
{
    struct pci_function *f = slot < PCI_MAX_SLOTS ? b->slots[slot] : NULL;
    struct pci_moves mv = { 0 };
    const uint8_t *in = data;
    uint64_t go = 0;

    if (!f || !len || off >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - off) {
        if (!is_write)
            memset(data, 0xff, len);
        return;
    }
    if (f->ops && f->ops->cfg_access && f->ops->cfg_access(f, off, data, len, is_write))
        return;
    pthread_mutex_lock(&b->lock);
    if (!is_write) {
        memcpy(data, &f->cfg[off], len);
        pthread_mutex_unlock(&b->lock);
        return;
    }
    for (uint32_t i = 0; i < len; i++) {
        uint8_t *c = &f->cfg[off + i];

        *c = (uint8_t)((*c & ~f->wmask[off + i]) | (in[i] & f->wmask[off + i]));
        *c &= (uint8_t) ~(in[i] & f->w1cmask[off + i]);
    }
    if (overlaps(off, len, PCI_COMMAND, 2) || overlaps(off, len, PCI_BASE_ADDRESS_0, 24))
        update_bars(f, &mv);
    if (overlaps(off, len, PCI_COMMAND, 2))
        intx_update(f);
    if (f->msix.nr && overlaps(off, len, f->msix.cap + PCI_MSIX_FLAGS, 2))
        go = msix_take_unmasked(f);
    pthread_mutex_unlock(&b->lock);
    send_moves(f, &mv);
    msix_send_all(f, go);
}

uint32_t pci_cfg_peek(struct pci_function *f, uint32_t off, uint32_t len)
{
    uint32_t v;

    if (off >= PCI_CFG_SIZE || len > 4 || len > PCI_CFG_SIZE - off)
        return 0;
    if (!f->bus)
        return cfg_get(f, off, len);
    pthread_mutex_lock(&f->bus->lock);
    v = cfg_get(f, off, len);
    pthread_mutex_unlock(&f->bus->lock);
    return v;
}

/*
 * Offset 0 (address, 0xCF8 on a PC; dword accesses only) and 4-7 (data, 0xCFC-0xCFF; any width
 * inside the dword).
 */
static void pci_conf1_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    struct pci_bus *b = dev;
    uint32_t addr;

    if (off < 4) {
        /* Byte/word accesses to 0xCF8-0xCFB are other registers on real chipsets: not ours. */
        if (off != 0 || len != 4) {
            if (!is_write)
                memset(data, 0xff, len);
            return;
        }
        pthread_mutex_lock(&b->lock);
        if (is_write)
            b->cf8 = (uint32_t)io_load(data, 4) & CF8_WRITABLE;
        else
            io_store(data, 4, b->cf8);
        pthread_mutex_unlock(&b->lock);
        return;
    }
    pthread_mutex_lock(&b->lock);
    addr = b->cf8;
    pthread_mutex_unlock(&b->lock);
    /* Enabled, bus 0, function 0 only; anything else has no device behind it. */
    if (!(addr & CF8_ENABLE) || (addr & 0x00ff0700u) || off - 4 + len > 4) {
        if (!is_write)
            memset(data, 0xff, len);
        return;
    }
    pci_cfg_rw(b, (addr >> 11) & 0x1f, (addr & 0xfc) + (uint32_t)(off - 4), data, len, is_write);
}

/* --- Bus ----------------------------------------------------------------------------------- */

static int wire_msix(struct pci_bus *b, struct pci_function *f)
{
    int rc;

    for (unsigned int v = 0; v < f->msix.nr; v++) {
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

        if (fd < 0)
            return -errno;
        if ((rc = b->routes->msi_alloc(b->routes->ctx, &f->msix.gsi[v]))) {
            close(fd);
            return rc;
        }
        if ((rc = b->routes->irqfd(b->routes->ctx, fd, f->msix.gsi[v], true))) {
            b->routes->msi_free(b->routes->ctx, f->msix.gsi[v]);
            close(fd);
            return rc;
        }
        f->msix.irqfd[v] = fd;
    }
    return 0;
}

static int place_bars(struct pci_bus *b, struct pci_function *f)
{
    uint64_t mmio = b->mmio_next;
    uint32_t io = b->io_next;
    uint16_t cmd = 0;

    for (unsigned int i = 0; i < PCI_STD_NUM_BARS; i++) {
        const struct pci_bar *bar = &f->bars[i];
        uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * i;

        if (bar->kind == PCI_BAR_IO) {
            io = (uint32_t)((io + bar->size - 1) & ~(bar->size - 1));
            if (io + bar->size > (uint32_t)b->addrs.io_base + b->addrs.io_size)
                return -ENOSPC;
            cfg_put(f, reg, 4, io | PCI_BASE_ADDRESS_SPACE_IO);
            io += (uint32_t)bar->size;
            cmd |= PCI_COMMAND_IO;
        } else if (bar->kind != PCI_BAR_NONE) {
            mmio = (mmio + bar->size - 1) & ~(bar->size - 1);
            if (mmio + bar->size > b->addrs.mmio_base + b->addrs.mmio_size)
                return -ENOSPC;
            cfg_put(f, reg, 4, (uint32_t)mmio | (f->cfg[reg] & 0xf));
            if (bar->kind == PCI_BAR_MEM64)
                cfg_put(f, reg + 4, 4, (uint32_t)(mmio >> 32));
            mmio += bar->size;
            cmd |= PCI_COMMAND_MEMORY;
        }
    }
    b->mmio_next = mmio;
    b->io_next = io;
    cfg_put(f, PCI_COMMAND, 2, cmd);
    return 0;
}

int pci_add_device(struct pci_bus *b, struct pci_function *f)
{
    struct pci_moves mv = { 0 };
    uint64_t mmio_was = b->mmio_next;
    uint32_t io_was = b->io_next;
    int rc;

    if (b->nr == PCI_MAX_SLOTS)
        return -ENOSPC;
    if ((rc = place_bars(b, f)))
        return rc;
    f->bus = b;
    f->slot = b->nr;
    if (f->cfg[PCI_INTERRUPT_PIN] && b->irq) {
        f->intx = (struct irq_line){
            .sink = b->irq,
            .gsi = PCI_INTX_GSI(f->slot, f->cfg[PCI_INTERRUPT_PIN] - 1u),
        };
        f->cfg[PCI_INTERRUPT_LINE] = (uint8_t)f->intx.gsi;
    }
    if (b->routes && f->msix.nr && (rc = wire_msix(b, f))) {
        pci_function_fini(f);
        f->bus = NULL;
        b->mmio_next = mmio_was;
        b->io_next = io_was;
        return rc;
    }
    update_bars(f, &mv);
    pthread_mutex_lock(&b->lock);
    b->slots[b->nr++] = f;
    pthread_mutex_unlock(&b->lock);
    send_moves(f, &mv);
    return 0;
}

int pci_bus_create(struct pci_bus **out, struct bus *pio, struct bus *mmio,
                   const struct pci_bus_addrs *addrs, const struct irq_sink *irq,
                   const struct msi_sender *msi, const struct irq_routes *routes)
{
    struct pci_bus *b = calloc(1, sizeof(*b));
    int rc;

    if (!b)
        return -ENOMEM;
    if ((rc = -pthread_mutex_init(&b->lock, NULL)))
        goto err_free;
    b->pio = pio;
    b->mmio = mmio;
    b->irq = irq;
    b->msi = msi;
    b->routes = routes;
    b->addrs = *addrs;
    b->mmio_next = addrs->mmio_base;
    b->io_next = addrs->io_base;
    pci_function_init(&b->host, PCI_HOST_VENDOR, PCI_HOST_DEVICE, PCI_HOST_CLASS, 0,
                      PCI_HOST_VENDOR, PCI_HOST_DEVICE);
    if ((rc = pci_add_device(b, &b->host)))
        goto err_mutex;
    if ((rc = bus_add(pio, addrs->config_port, 8, pci_conf1_io, b, "pci-conf1")))
        goto err_mutex;
    if ((rc = bus_add(pio, addrs->io_base, addrs->io_size, pci_io_window, b, "pci-io")))
        goto err_del_conf;
    if ((rc = bus_add(mmio, addrs->mmio_base, addrs->mmio_size, pci_mmio_window, b, "pci-mmio")))
        goto err_del_io;
    *out = b;
    return 0;

err_del_io:
    bus_del(pio, addrs->io_base);
err_del_conf:
    bus_del(pio, addrs->config_port);
err_mutex:
    pthread_mutex_destroy(&b->lock);
err_free:
    free(b);
    return rc;
}

void pci_bus_destroy(struct pci_bus *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->lock);
    free(b);
}
