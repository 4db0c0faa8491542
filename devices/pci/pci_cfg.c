// SPDX-License-Identifier: MIT
/*
 * Building a function's type-0 configuration header before it joins a bus: ids, BARs and their
 * writable masks, the capability list. Nothing here touches a bus, so nothing here locks.
 */
#include "devices/pci/pci.h"

#include <errno.h>
#include <string.h>

static void cfg_put(struct pci_function *f, uint32_t off, uint32_t len, uint32_t v)
{
    memcpy(&f->cfg[off], &v, len);
}

void pci_function_set_wmask(struct pci_function *f, uint32_t off, uint32_t len, uint8_t mask)
{
    if (off < PCI_CFG_SIZE && len <= PCI_CFG_SIZE - off)
        memset(&f->wmask[off], mask, len);
}

void pci_function_init(struct pci_function *f, uint16_t vendor, uint16_t device,
                       uint32_t class_code, uint8_t revision, uint16_t subsys_vendor,
                       uint16_t subsys)
{
    memset(f, 0, sizeof(*f));
    cfg_put(f, PCI_VENDOR_ID, 2, vendor);
    cfg_put(f, PCI_DEVICE_ID, 2, device);
    cfg_put(f, PCI_CLASS_REVISION, 4, class_code << 8 | revision);
    cfg_put(f, PCI_SUBSYSTEM_VENDOR_ID, 2, subsys_vendor);
    cfg_put(f, PCI_SUBSYSTEM_ID, 2, subsys);
    /* Command: I/O, memory, bus master, SERR, INTx disable. Status: error bits are RW1C. */
    f->wmask[PCI_COMMAND] = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
    f->wmask[PCI_COMMAND + 1] = (PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE) >> 8;
    f->w1cmask[PCI_STATUS + 1] = 0xf9;
    f->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    f->wmask[PCI_LATENCY_TIMER] = 0xff;
    f->wmask[PCI_INTERRUPT_LINE] = 0xff;
    f->cap_next = PCI_CAP_FIRST;
    for (unsigned int i = 0; i < PCI_STD_NUM_BARS; i++)
        f->bar_addr[i] = PCI_BAR_UNMAPPED;
    for (unsigned int i = 0; i < PCI_MSIX_MAX_VECS; i++)
        f->msix.irqfd[i] = -1;
}

int pci_function_set_bar(struct pci_function *f, unsigned int idx, enum pci_bar_kind kind,
                         uint64_t size, io_fn fn, void *dev)
{
    uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * idx, mask;
    uint64_t min = kind == PCI_BAR_IO ? 4 : 4096;
    uint64_t max = kind == PCI_BAR_IO ? 256 : kind == PCI_BAR_MEM64 ? (1ULL << 40) : (1ULL << 31);

    if (idx >= PCI_STD_NUM_BARS || kind == PCI_BAR_NONE || !fn || size < min || size > max ||
        (size & (size - 1)) || f->bars[idx].kind != PCI_BAR_NONE ||
        (idx > 0 && f->bars[idx - 1].kind == PCI_BAR_MEM64) ||
        (kind == PCI_BAR_MEM64 && (idx + 1 >= PCI_STD_NUM_BARS || f->bars[idx + 1].kind)))
        return -EINVAL;
    f->bars[idx] = (struct pci_bar){ .kind = kind, .size = size, .fn = fn, .dev = dev };
    if (kind == PCI_BAR_IO) {
        mask = (uint32_t) ~(size - 1) & 0xfffc; /* x86 ports are 16 bits: the rest reads 0 */
        cfg_put(f, reg, 4, PCI_BASE_ADDRESS_SPACE_IO);
    } else {
        mask = (uint32_t) ~(size - 1) & ~0xfu;
        cfg_put(f, reg, 4, kind == PCI_BAR_MEM64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0);
    }
    memcpy(&f->wmask[reg], &mask, 4);
    if (kind == PCI_BAR_MEM64) {
        mask = (uint32_t)(~(size - 1) >> 32);
        memcpy(&f->wmask[reg + 4], &mask, 4);
    }
    return 0;
}

int pci_function_add_cap(struct pci_function *f, uint8_t id, const void *body, uint8_t len,
                         uint8_t *off)
{
    uint32_t at = f->cap_next;

    if (at < PCI_CAP_FIRST || at + 2u + len > PCI_CFG_SIZE)
        return -ENOSPC;
    f->cfg[at] = id;
    f->cfg[at + 1] = 0;
    if (body)
        memcpy(&f->cfg[at + 2], body, len);
    if (f->cap_last)
        f->cfg[f->cap_last + 1] = (uint8_t)at;
    else
        f->cfg[PCI_CAPABILITY_LIST] = (uint8_t)at;
    f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    f->cap_last = (uint8_t)at;
    f->cap_next = (uint8_t)((at + 2u + len + 3u) & ~3u);
    if (f->cap_next < at) /* wrapped past 0xff: the list is full */
        f->cap_next = 0;
    if (off)
        *off = (uint8_t)at;
    return 0;
}

void pci_function_use_intx(struct pci_function *f)
{
    f->cfg[PCI_INTERRUPT_PIN] = 1;
}
