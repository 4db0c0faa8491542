/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART, as much of it as Linux's 8250 driver needs to find and use one: divisor latch,
 * FIFO control, loopback, THRE / RX data / line status / modem status interrupts.
 *
 * Host side: transmitted bytes go straight to a serial_output, which never blocks; when it has no
 * room, LSR.THRE stays clear (as on a line whose far end is slow) until serial_output_room(), which
 * raises the THRE interrupt, so a guest is slowed to the host's speed and never holds a vCPU or
 * the device lock waiting. Received bytes come in through serial_receive() into a bounded buffer.
 * When that buffer was full and the guest has drained it, the output's rx_ready callback tells the
 * host to send more, so a host flooding input never makes the device grow.
 */
#ifndef KVMINI_DEVICES_SERIAL_H
#define KVMINI_DEVICES_SERIAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmm/core/bus.h"
#include "vmm/core/irq.h"

/* Bytes of host input the device holds before serial_receive() starts refusing. */
#define SERIAL_RX_CAP 1024

/* The host end of the line (usually the console). The callbacks run on vCPU threads. */
struct serial_output {
    /* Takes up to len bytes without blocking; how many. What it does not take is lost. */
    size_t (*write)(void *ctx, const void *buf, size_t len);
    /* Optional: how many bytes write would take now (none: always room). */
    size_t (*room)(void *ctx);
    /*
     * Optional. Called once after serial_receive() accepted fewer bytes than offered, as soon as
     * the guest has freed at least half the buffer. Called without the device lock held, but on a
     * vCPU thread: only thread-safe, non-blocking work (e.g. write an eventfd).
     */
    void (*rx_ready)(void *ctx);
    void *ctx;
};

struct serial;

/*
 * Allocates a UART and registers its 8 ports at base on pio. The sink is copied; irq is driven
 * through irq_line_set() on level changes only. 0 or -errno (nothing is left registered).
 */
int serial_create(struct serial **out, struct bus *pio, uint16_t base, struct irq_line irq,
                  const struct serial_output *out_sink);

/* The output has room again (after its write or room said none): the THRE interrupt. Any thread. */
void serial_output_room(struct serial *s);

/* Frees the device (NULL-safe). The bus must no longer dispatch to it. */
void serial_destroy(struct serial *s);

/*
 * Queues host input for the guest. Returns how many leading bytes of buf were taken (0..len):
 * fewer than len when the buffer is full; the output's rx_ready fires once there is room again.
 * Any thread.
 */
int serial_receive(struct serial *s, const uint8_t *buf, size_t len);

#endif
