/* SPDX-License-Identifier: MIT */
/*
 * A userspace 82093AA IOAPIC (version 0x11, IOAPIC_NUM_PINS pins) for KVM's split irqchip, where
 * the LAPICs are in the kernel: every interrupt it forwards becomes an MSI sent through a
 * msi_sender (KVM_SIGNAL_MSI). Devices reach it as a struct irq_sink whose GSIs are its pins.
 *
 * The level passed to set_level() means "asserted": polarity (bit 13) is stored for the guest but
 * does not invert anything, since devices report assertion rather than a wire voltage.
 * An edge that arrives while its pin is masked is held and sent when the pin is unmasked, as
 * KVM's and QEMU's IOAPICs do; a lost edge would hang a driver, a spurious one costs nothing.
 */
#ifndef KVMINI_DEVICES_IOAPIC_H
#define KVMINI_DEVICES_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/core/bus.h"
#include "vmm/core/irq.h"

struct ioapic;

/*
 * Allocates the IOAPIC with all pins masked and registers LAYOUT_IOAPIC_SIZE bytes of MMIO at
 * base. msi and routes (NULL: none) are copied; their callbacks run with the IOAPIC's lock held
 * and must not call back into it. routes->update runs for every pin before this returns, and
 * whenever the MSI a pin would send changes: with a split irqchip KVM exits on the EOI of a
 * level-triggered vector (KVM_EXIT_IOAPIC_EOI) only if a route on that pin's GSI carries it.
 * 0 or -errno; nothing stays registered on failure.
 */
int ioapic_create(struct ioapic **out, struct bus *mmio, uint64_t base,
                  const struct msi_sender *msi, const struct pin_routes *routes);

/* Frees the IOAPIC (NULL-safe). The bus and the devices must no longer use it. */
void ioapic_destroy(struct ioapic *io);

/* The sink to build irq_lines from; valid until ioapic_destroy(). set_level: 0 or -EINVAL. */
const struct irq_sink *ioapic_irq_sink(struct ioapic *io);

/*
 * A LAPIC took an EOI for vector (KVM_EXIT_IOAPIC_EOI): clears Remote IRR on the level-triggered
 * pins using it, and sends again those whose line is still asserted. Any thread.
 */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

#endif
