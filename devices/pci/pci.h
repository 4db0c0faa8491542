/* SPDX-License-Identifier: MIT */
/*
 * A PCI bus 0 behind a host bridge, reached with configuration mechanism #1 (address at
 * config_port, data at config_port + 4..7: 0xCF8 and 0xCFC-0xCFF on a PC). Slot 0 is the host
 * bridge; pci_add_device() puts each function in the next slot (single-function devices only, no
 * bridges, no ECAM).
 *
 * BARs: the bus registers ONE range per bus for its whole window at creation, MMIO
 * [mmio_base, +mmio_size) and PIO [io_base, +io_size) of struct pci_bus_addrs, and dispatches
 * each access to whichever function's BAR currently decodes that address. The guest may therefore
 * move BARs (and turn decoding on and off) after bus_freeze(); a BAR placed outside the window
 * decodes nothing. kvmini places every BAR at creation, naturally aligned, from the window's
 * bottom.
 *
 * INTx: slot s, pin p (0 = INTA) is wired to IOAPIC pin PCI_INTX_GSI(s, p): 16 + ((s + p) & 7),
 * so pins 16-23 belong to PCI. The ACPI _PRT must say the same.
 *
 * Locking: one mutex per bus covers configuration space, BAR addresses, MSI-X tables and INTx.
 * BAR handlers and the function's ops run without it, so they may call pci_* freely.
 */
#ifndef KVMINI_DEVICES_PCI_PCI_H
#define KVMINI_DEVICES_PCI_PCI_H

#include <linux/pci_regs.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "firmware/layout.h"
#include "vmm/core/bus.h"
#include "vmm/core/irq.h"

#define PCI_MAX_SLOTS     32
#define PCI_CFG_SIZE      256
#define PCI_CAP_FIRST     0x40
#define PCI_BAR_UNMAPPED  UINT64_MAX
#define PCI_MSIX_MAX_VECS 64

/*
 * The host bridge in slot 0: Red Hat's generic host bridge id, which no Linux quirk matches;
 * its class (0x0600) is what Linux's conf1 sanity check looks for.
 */
#define PCI_HOST_VENDOR 0x1b36
#define PCI_HOST_DEVICE 0x0008
#define PCI_HOST_CLASS  0x060000 /* bridge, host bridge (the uapi headers have no class ids) */

enum pci_bar_kind { PCI_BAR_NONE, PCI_BAR_MEM32, PCI_BAR_MEM64, PCI_BAR_IO };

struct pci_bar {
    enum pci_bar_kind kind;
    uint64_t size; /* power of two: >= 4 KiB for memory, >= 4 for I/O */
    io_fn fn;      /* sees the offset inside the BAR */
    void *dev;
};

struct pci_function;

struct pci_function_ops {
    /*
     * Offered every configuration access first, without the bus lock; returns true if it
     * handled it (e.g. virtio's PCI cfg access window). Optional.
     */
    bool (*cfg_access)(struct pci_function *f, uint32_t off, void *data, uint32_t len,
                       bool is_write);
    /* BAR bar now decodes at new_addr (PCI_BAR_UNMAPPED: nowhere). Without the lock. Optional. */
    void (*bar_moved)(struct pci_function *f, unsigned int bar, uint64_t old_addr,
                      uint64_t new_addr);
};

struct pci_msix {
    uint16_t nr; /* vectors; 0: no MSI-X */
    uint8_t cap; /* capability offset */
    uint8_t bar; /* table at 0, PBA after it */
    uint32_t pba_off;
    uint32_t table[PCI_MSIX_MAX_VECS][4]; /* addr lo, addr hi, data, vector control */
    uint64_t pba;
    uint32_t gsi[PCI_MSIX_MAX_VECS]; /* irqfd route of each vector, when wired */
    int irqfd[PCI_MSIX_MAX_VECS];    /* -1: deliver through the bus's msi_sender */
};

/*
 * One PCI function. The device embeds it, fills it with the pci_function_* builders, then hands
 * it to pci_add_device(); the device owns the memory and calls pci_function_fini() at the end.
 */
struct pci_function {
    uint8_t cfg[PCI_CFG_SIZE];
    uint8_t wmask[PCI_CFG_SIZE];   /* bits the guest may write */
    uint8_t w1cmask[PCI_CFG_SIZE]; /* bits the guest clears by writing 1 */
    struct pci_bar bars[PCI_STD_NUM_BARS];
    uint64_t bar_addr[PCI_STD_NUM_BARS]; /* where each decodes now, or PCI_BAR_UNMAPPED */
    const struct pci_function_ops *ops;
    void *opaque; /* the device's, for ops */
    struct pci_msix msix;
    struct irq_line intx;
    bool intx_level;  /* what the device asserts */
    bool intx_out;    /* what the IOAPIC pin was last told */
    uint8_t cap_next; /* builder: where the next capability goes */
    uint8_t cap_last; /* builder: the last capability's offset, 0 if none */
    struct pci_bus *bus;
    unsigned int slot;
};

/* Where the bus sits: its configuration ports and the two windows its BARs are placed in. */
struct pci_bus_addrs {
    uint16_t config_port; /* 8 ports: CONFIG_ADDRESS, then CONFIG_DATA at + 4 */
    uint16_t io_base;     /* I/O BAR window */
    uint16_t io_size;
    uint64_t mmio_base; /* memory BAR window; below 4 GiB, as 32-bit BARs are placed in it too */
    uint64_t mmio_size;
};

struct pci_bus;

/*
 * Creates bus 0 with its host bridge and registers the configuration ports and both windows of
 * *addrs (copied) on pio/mmio. irq (NULL: no INTx), msi and routes (NULL: MSI-X through msi only)
 * are kept, not copied: they must outlive the bus. 0 or -errno; nothing stays registered on
 * failure.
 */
int pci_bus_create(struct pci_bus **out, struct bus *pio, struct bus *mmio,
                   const struct pci_bus_addrs *addrs, const struct irq_sink *irq,
                   const struct msi_sender *msi, const struct irq_routes *routes);
/* Frees the bus (NULL-safe); functions stay the devices' to finalize, before or after. */
void pci_bus_destroy(struct pci_bus *b);

/* Starts a type-0 header: ids, class (24 bits: base, sub, prog-if), revision. */
void pci_function_init(struct pci_function *f, uint16_t vendor, uint16_t device,
                       uint32_t class_code, uint8_t revision, uint16_t subsys_vendor,
                       uint16_t subsys);
/* Releases MSI-X irqfds and GSIs taken by pci_add_device(). Safe on any initialized function. */
void pci_function_fini(struct pci_function *f);

/* Declares BAR idx (a 64-bit one also takes idx+1). 0 or -EINVAL. Before pci_add_device(). */
int pci_function_set_bar(struct pci_function *f, unsigned int idx, enum pci_bar_kind kind,
                         uint64_t size, io_fn fn, void *dev);

/*
 * Appends a capability: id, then len bytes of body (after the id/next pair; may be NULL for
 * zeros). Read-only to the guest unless pci_function_set_wmask() says otherwise. 0 and *off, or
 * -ENOSPC when the 192 bytes after the header are full.
 */
int pci_function_add_cap(struct pci_function *f, uint8_t id, const void *body, uint8_t len,
                         uint8_t *off);
void pci_function_set_wmask(struct pci_function *f, uint32_t off, uint32_t len, uint8_t mask);

/* Uses INTx pin INTA: the interrupt pin register says 1 and pci_add_device() wires the line. */
void pci_function_use_intx(struct pci_function *f);

/*
 * MSI-X with nr vectors (<= PCI_MSIX_MAX_VECS), table and PBA in memory BAR bar, which this
 * declares (32-bit, 4 KiB). All vectors masked, MSI-X disabled. 0 or -EINVAL/-ENOSPC.
 */
int pci_function_add_msix(struct pci_function *f, unsigned int bar, uint16_t nr);

/*
 * Puts f in the next slot, places its BARs in the windows and enables decoding (as firmware
 * would), wires INTx and, with routes, one GSI+irqfd per MSI-X vector. Before bus_freeze().
 * 0, -ENOSPC (no slot or window space), -errno.
 */
int pci_add_device(struct pci_bus *b, struct pci_function *f);

/* Sets the device's INTx level; the line follows it unless Command.INTx-disable. Any thread. */
void pci_set_intx(struct pci_function *f, bool level);

/* True when MSI-X is enabled by the guest (then INTx is not used). */
bool pci_msix_enabled(struct pci_function *f);

/*
 * Sends MSI-X vector v: sets its PBA bit if the vector or function is masked (sent at unmask),
 * else sends it through its irqfd or the msi_sender. 0, -EINVAL (v out of range), -EAGAIN when
 * MSI-X is disabled, -errno of delivery.
 */
int pci_msix_notify(struct pci_function *f, uint16_t v);

/* Configuration cycles as mechanism #1 would issue them (tests, and virtio's cfg window). */
void pci_cfg_rw(struct pci_bus *b, unsigned int slot, uint32_t off, void *data, uint32_t len,
                bool is_write);

/* Host-side view of f's config bytes [off, off+len), under the bus lock. */
uint32_t pci_cfg_peek(struct pci_function *f, uint32_t off, uint32_t len);

#endif
