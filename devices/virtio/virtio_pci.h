/* SPDX-License-Identifier: MIT */
/*
 * The modern virtio-pci transport (virtio 1.x, no legacy interface) for a struct virtio_dev.
 *
 * PCI identity: 0x1af4:(0x1040 + device id), revision 1, subsystem 0x1af4:0x1100.
 * BAR 0 (64-bit memory, 16 KiB), one page per structure:
 *   0x0000 common configuration (struct virtio_pci_common_cfg)
 *   0x1000 ISR status (read-to-clear, lowers INTx)
 *   0x2000 device-specific configuration (dev->ops->config_size bytes)
 *   0x3000 notifications: queue q at 0x3000 + q * VIRTIO_PCI_NOTIFY_MULT
 * BAR 2 (32-bit memory, 4 KiB): MSI-X table and PBA, min(queues + 1, PCI_MSIX_MAX_VECS) vectors.
 * Capabilities: common, notify, ISR, device, PCI cfg access (VIRTIO_PCI_CAP_*), then MSI-X.
 *
 * Kicks: a write to a notify address exits to kvmini and reaches virtio_queue_notify() on the
 * vCPU thread. With an irqroute and an event loop, each queue also gets an eventfd (watched on
 * the loop from creation) that is bound with KVM_IOEVENTFD, 2-byte datamatch on the queue index,
 * while the queue is enabled and BAR 0 decodes; its kicks then reach virtio_queue_notify() on
 * the loop thread without an exit. Reset and BAR moves rebind them.
 *
 * Interrupts: MSI-X vectors set through msix_config / queue_msix_vector when the guest enabled
 * MSI-X (VIRTIO_MSI_NO_VECTOR: none); otherwise ISR bits + INTx (level, until the ISR is read).
 */
#ifndef KVMINI_DEVICES_VIRTIO_VIRTIO_PCI_H
#define KVMINI_DEVICES_VIRTIO_VIRTIO_PCI_H

#include <linux/virtio_pci.h>

#include "devices/pci/pci.h"
#include "devices/virtio/virtio.h"
#include "vmm/core/evloop.h"
#include "vmm/core/irq.h"

#define VIRTIO_PCI_VENDOR      0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_PCI_SUBSYS_ID   0x1100
#define VIRTIO_PCI_BAR         0
#define VIRTIO_PCI_MSIX_BAR    2
#define VIRTIO_PCI_BAR_SIZE    0x4000
#define VIRTIO_PCI_COMMON_OFF  0x0000
#define VIRTIO_PCI_ISR_OFF     0x1000
#define VIRTIO_PCI_DEVICE_OFF  0x2000
#define VIRTIO_PCI_NOTIFY_OFF  0x3000
#define VIRTIO_PCI_NOTIFY_MULT 4
#define VIRTIO_PCI_MAX_QUEUES  (0x1000 / VIRTIO_PCI_NOTIFY_MULT)
/* ISR bit 0 (used buffers); the uapi header names only bit 1, VIRTIO_PCI_ISR_CONFIG. */
#define VIRTIO_PCI_ISR_VQ 0x1

struct virtio_pci;

/*
 * Wraps vdev (initialized, nr_queues <= VIRTIO_PCI_MAX_QUEUES, config_size <= 4 KiB) in a PCI
 * function on bus, and installs itself as vdev's transport. routes and loop (both or neither)
 * enable the ioeventfd fast path; they must outlive the transport. 0 or -errno, nothing left
 * registered on failure. Before bus_freeze().
 */
int virtio_pci_create(struct virtio_pci **out, struct pci_bus *bus, struct virtio_dev *vdev,
                      const struct irq_routes *routes, struct evloop *loop);

/* Unbinds and closes the eventfds and frees the transport (NULL-safe); vdev stays the caller's. */
void virtio_pci_destroy(struct virtio_pci *vp);

/* Its PCI function (tests; the machine needs nothing from it). */
struct pci_function *virtio_pci_function(struct virtio_pci *vp);

#endif
