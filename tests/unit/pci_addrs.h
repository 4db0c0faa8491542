/* SPDX-License-Identifier: MIT */
/* Where the PCI tests put the bus: where vmm/machine.c puts it, from firmware/layout.h. */
#ifndef KVMINI_TESTS_PCI_ADDRS_H
#define KVMINI_TESTS_PCI_ADDRS_H

#include "devices/pci/pci.h"
#include "firmware/layout.h"

static const struct pci_bus_addrs pc_pci_addrs = {
    .config_port = PORT_PCI_CONFIG_ADDR,
    .io_base = PORT_PCI_IO_BASE,
    .io_size = PORT_PCI_IO_SIZE,
    .mmio_base = LAYOUT_PCI_MMIO_BASE,
    .mmio_size = LAYOUT_PCI_MMIO_SIZE,
};

#endif
