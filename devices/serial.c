// SPDX-License-Identifier: MIT
#include "devices/serial.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

/* Register offsets from the base port. */
enum {
    REG_DATA = 0, /* RBR (read) / THR (write); DLL when LCR.DLAB */
    REG_IER = 1,  /* DLM when LCR.DLAB */
    REG_IIR = 2,  /* IIR (read) / FCR (write) */
    REG_LCR = 3,
    REG_MCR = 4,
    REG_LSR = 5,
    REG_MSR = 6,
    REG_SCR = 7,
    NR_REGS = 8,
};

#define IER_RDI  0x01 /* received data available */
#define IER_THRI 0x02 /* transmit holding register empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI  0x08 /* modem status */
#define IER_MASK 0x0f /* the 16550A has no more bits; Linux's probe checks they read back as 0 */

#define IIR_NO_INT 0x01
#define IIR_MSI    0x00
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_RLSI   0x06
#define IIR_FIFO   0xc0 /* both bits set: "16550A with working FIFO" to an autodetecting driver */

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_KEEP     0xc9 /* enable, DMA mode and trigger level are the bits that stick */

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS   0x01
#define MSR_DDSR   0x02
#define MSR_TERI   0x04
#define MSR_DDCD   0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS    0x10
#define MSR_DSR    0x20
#define MSR_RI     0x40
#define MSR_DCD    0x80

struct serial {
    pthread_mutex_t lock;
    struct irq_line irq;
    struct serial_output out;
    bool irq_level; /* what we last drove onto the line */

    uint8_t ier, lcr, mcr, fcr, scr, dll, dlm;
    uint8_t msr;     /* status lines plus accumulated delta bits */
    uint8_t lsr_err; /* sticky error bits (OE), cleared by an LSR read */
    bool thr_ipending;
    bool rx_blocked; /* a serial_receive() came up short: owe the host an rx_ready */

    size_t rx_head, rx_count;
    uint8_t rx[SERIAL_RX_CAP];
};

static uint8_t serial_iir(const struct serial *s)
{
    uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;

    /* Highest priority first, as the 16550A ranks them. */
    if ((s->ier & IER_RLSI) && (s->lsr_err & LSR_OE))
        return fifo | IIR_RLSI;
    if ((s->ier & IER_RDI) && s->rx_count)
        return fifo | IIR_RDI;
    if ((s->ier & IER_THRI) && s->thr_ipending)
        return fifo | IIR_THRI;
    if ((s->ier & IER_MSI) && (s->msr & MSR_DELTAS))
        return fifo | IIR_MSI;
    return fifo | IIR_NO_INT;
}

/* Drives the line only on a change: the sink may be an ioctl, and most accesses change nothing. */
static void serial_update_irq(struct serial *s)
{
    bool level = !(serial_iir(s) & IIR_NO_INT);

    if (level == s->irq_level)
        return;
    s->irq_level = level;
    irq_line_set(&s->irq, level);
}

/* In loopback the modem inputs are wired to the modem outputs; otherwise a cable is "present". */
static uint8_t serial_modem_lines(const struct serial *s)
{
    uint8_t m = s->mcr;

    if (!(m & MCR_LOOP))
        return MSR_DCD | MSR_DSR | MSR_CTS;
    return ((m & MCR_RTS) ? MSR_CTS : 0) | ((m & MCR_DTR) ? MSR_DSR : 0) |
           ((m & MCR_OUT1) ? MSR_RI : 0) | ((m & MCR_OUT2) ? MSR_DCD : 0);
}

static void serial_set_modem_lines(struct serial *s)
{
    uint8_t now = serial_modem_lines(s);
    uint8_t old = s->msr & ~MSR_DELTAS;
    uint8_t delta = 0;

    if ((now ^ old) & MSR_CTS)
        delta |= MSR_DCTS;
    if ((now ^ old) & MSR_DSR)
        delta |= MSR_DDSR;
    if ((old & MSR_RI) && !(now & MSR_RI))
        delta |= MSR_TERI; /* trailing edge only */
    if ((now ^ old) & MSR_DCD)
        delta |= MSR_DDCD;
    s->msr = now | ((s->msr | delta) & MSR_DELTAS);
}

/* Returns true when the host is owed an rx_ready (caller calls it after unlocking). */
static bool serial_rx_room(struct serial *s)
{
    if (!s->rx_blocked || s->rx_count > SERIAL_RX_CAP / 2)
        return false;
    s->rx_blocked = false;
    return true;
}

static void serial_rx_clear(struct serial *s)
{
    s->rx_head = 0;
    s->rx_count = 0;
}

static bool serial_rx_push(struct serial *s, uint8_t b)
{
    if (s->rx_count == SERIAL_RX_CAP)
        return false;
    s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_CAP] = b;
    s->rx_count++;
    return true;
}

static uint8_t serial_rx_pop(struct serial *s)
{
    uint8_t b;

    if (!s->rx_count)
        return 0;
    b = s->rx[s->rx_head];
    s->rx_head = (s->rx_head + 1) % SERIAL_RX_CAP;
    s->rx_count--;
    return b;
}

/* Whether THR counts as empty: the host can take a byte now (or, in loopback, always). */
static bool serial_thr_empty(const struct serial *s)
{
    return (s->mcr & MCR_LOOP) || !s->out.room || s->out.room(s->out.ctx) > 0;
}

static void serial_transmit(struct serial *s, uint8_t b)
{
    if (s->mcr & MCR_LOOP) {
        if (!serial_rx_push(s, b))
            s->lsr_err |= LSR_OE;
    } else if (s->out.write) {
        /*
         * Under the lock, so bytes leave in the order the guest wrote them; the write never
         * blocks. A byte sent while THRE was clear is lost, as on hardware: drivers wait for THRE.
         */
        (void)s->out.write(s->out.ctx, &b, 1);
    }
    /* The byte is gone at once: THR is empty again unless the host is full (then see room). */
    s->thr_ipending = serial_thr_empty(s);
}

static void serial_write_fcr(struct serial *s, uint8_t v, bool *notify)
{
    bool was_on = s->fcr & FCR_ENABLE;
    bool on = v & FCR_ENABLE;

    /* Toggling the FIFO enable empties the FIFOs, as on the real part. */
    if (was_on != on || (on && (v & FCR_CLEAR_RX))) {
        serial_rx_clear(s);
        *notify = serial_rx_room(s);
    }
    /* The other bits are only programmed while the enable bit is written as 1. */
    s->fcr = on ? (v & FCR_KEEP) : 0;
}

static void serial_write_reg(struct serial *s, unsigned reg, uint8_t v, bool *notify)
{
    bool dlab = s->lcr & LCR_DLAB;
    uint8_t old;

    switch (reg) {
    case REG_DATA:
        if (dlab)
            s->dll = v;
        else
            serial_transmit(s, v);
        break;
    case REG_IER:
        if (dlab) {
            s->dlm = v;
            break;
        }
        old = s->ier;
        s->ier = v & IER_MASK;
        /* Enabling THRI while THR is empty raises it at once; Linux tests for exactly this. */
        if ((old ^ s->ier) & IER_THRI)
            s->thr_ipending = (s->ier & IER_THRI) && serial_thr_empty(s);
        break;
    case REG_IIR:
        serial_write_fcr(s, v, notify);
        break;
    case REG_LCR:
        s->lcr = v;
        break;
    case REG_MCR:
        s->mcr = v & MCR_MASK;
        serial_set_modem_lines(s);
        break;
    case REG_SCR:
        s->scr = v;
        break;
    default: /* LSR and MSR are read-only */
        break;
    }
}

static uint8_t serial_read_reg(struct serial *s, unsigned reg, bool *notify)
{
    bool dlab = s->lcr & LCR_DLAB;
    uint8_t v;

    switch (reg) {
    case REG_DATA:
        if (dlab)
            return s->dll;
        v = serial_rx_pop(s);
        *notify = serial_rx_room(s);
        return v;
    case REG_IER:
        return dlab ? s->dlm : s->ier;
    case REG_IIR:
        v = serial_iir(s);
        /* Reading IIR acknowledges a THRE interrupt, and only that one. */
        if ((v & 0x0f) == IIR_THRI)
            s->thr_ipending = false;
        return v;
    case REG_LCR:
        return s->lcr;
    case REG_MCR:
        return s->mcr;
    case REG_LSR:
        v = (serial_thr_empty(s) ? LSR_THRE | LSR_TEMT : 0) | s->lsr_err |
            (s->rx_count ? LSR_DR : 0);
        s->lsr_err = 0;
        return v;
    case REG_MSR:
        v = s->msr;
        s->msr &= ~MSR_DELTAS;
        return v;
    default:
        return s->scr;
    }
}

static void serial_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    struct serial *s = dev;
    uint8_t *bytes = data;
    bool notify = false;

    pthread_mutex_lock(&s->lock);
    /* The UART is an 8-bit part: a wider access touches consecutive registers. */
    for (uint32_t i = 0; i < len; i++) {
        uint64_t reg = off + i;
        bool n = false;

        if (reg >= NR_REGS) {
            if (!is_write)
                bytes[i] = 0xff;
            continue;
        }
        if (is_write)
            serial_write_reg(s, (unsigned)reg, bytes[i], &n);
        else
            bytes[i] = serial_read_reg(s, (unsigned)reg, &n);
        notify |= n;
    }
    serial_update_irq(s);
    pthread_mutex_unlock(&s->lock);

    if (notify && s->out.rx_ready)
        s->out.rx_ready(s->out.ctx);
}

int serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
    size_t n;

    pthread_mutex_lock(&s->lock);
    n = SERIAL_RX_CAP - s->rx_count;
    if (n > len)
        n = len;
    for (size_t i = 0; i < n; i++)
        serial_rx_push(s, buf[i]);
    if (n < len)
        s->rx_blocked = true;
    serial_update_irq(s);
    pthread_mutex_unlock(&s->lock);
    return (int)n;
}

void serial_output_room(struct serial *s)
{
    pthread_mutex_lock(&s->lock);
    s->thr_ipending = true;
    serial_update_irq(s);
    pthread_mutex_unlock(&s->lock);
}

int serial_create(struct serial **out, struct bus *pio, uint16_t base, struct irq_line irq,
                  const struct serial_output *out_sink)
{
    struct serial *s;
    int rc;

    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    rc = -pthread_mutex_init(&s->lock, NULL);
    if (rc)
        goto err_free;
    s->irq = irq;
    if (out_sink)
        s->out = *out_sink;
    s->lcr = 0x03; /* 8N1, what firmware leaves behind */
    s->mcr = MCR_OUT2;
    s->msr = serial_modem_lines(s);
    s->dll = 0x0c; /* 9600 baud */

    rc = bus_add(pio, base, NR_REGS, serial_io, s, "serial");
    if (rc)
        goto err_mutex;
    *out = s;
    return 0;

err_mutex:
    pthread_mutex_destroy(&s->lock);
err_free:
    free(s);
    return rc;
}

void serial_destroy(struct serial *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s);
}
