// SPDX-License-Identifier: MIT
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "devices/serial.h"
#include "firmware/layout.h"
#include "tests/unit/fakes.h"
#include "tests/unit/unit.h"

#define B PORT_COM1
enum { THR = 0, IER, IIR, LCR, MCR, LSR, MSR, SCR };

struct sink {
    uint8_t out[64];
    size_t n;
    size_t full_at; /* the host takes bytes until n reaches this; 0: no limit */
    int rx_ready_calls;
};

static size_t sink_room(void *ctx)
{
    struct sink *k = ctx;

    return !k->full_at ? sizeof(k->out) - k->n : k->full_at - k->n;
}

static size_t sink_write(void *ctx, const void *buf, size_t len)
{
    struct sink *k = ctx;
    size_t room = sink_room(k);

    if (len > room)
        len = room;
    memcpy(k->out + k->n, buf, len);
    k->n += len;
    return len;
}

static void sink_rx_ready(void *ctx)
{
    ((struct sink *)ctx)->rx_ready_calls++;
}

struct rig {
    struct bus pio;
    struct fake_irq irq;
    struct sink sink;
    struct serial *s;
};

static void rig_init(struct rig *r)
{
    struct serial_output o;
    struct irq_line line;

    memset(r, 0, sizeof(*r));
    bus_init(&r->pio, "pio");
    line = fake_irq_line(&r->irq, GSI_COM1);
    o = (struct serial_output){
        .write = sink_write, .room = sink_room, .rx_ready = sink_rx_ready, .ctx = &r->sink
    };
    ck_assert_int_eq(serial_create(&r->s, &r->pio, B, line, &o), 0);
}

static void rig_fini(struct rig *r)
{
    serial_destroy(r->s);
    bus_fini(&r->pio);
}

START_TEST(registers_eight_ports_and_rejects_overlap)
{
    struct rig r;
    struct serial *other;
    struct irq_line none = { 0 };

    rig_init(&r);
    ck_assert_uint_eq(r.pio.nr, 1);
    ck_assert_uint_eq(r.pio.ranges[0].base, B);
    ck_assert_uint_eq(r.pio.ranges[0].len, 8);
    ck_assert_int_eq(serial_create(&other, &r.pio, B + 4, none, NULL), -EEXIST);
    serial_destroy(NULL);
    rig_fini(&r);
}
END_TEST

START_TEST(divisor_latch_behind_dlab)
{
    struct rig r;

    rig_init(&r);
    fake_outb(&r.pio, B + LCR, 0x83);
    fake_outb(&r.pio, B + THR, 0x01);
    fake_outb(&r.pio, B + IER, 0x02);
    ck_assert_uint_eq(fake_inb(&r.pio, B + THR), 0x01);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IER), 0x02);
    ck_assert_uint_eq(r.sink.n, 0); /* DLL writes are not data */

    fake_outb(&r.pio, B + LCR, 0x03);
    ck_assert_uint_eq(fake_inb(&r.pio, B + LCR), 0x03);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IER), 0x00); /* IER untouched by the DLM write */
    fake_outb(&r.pio, B + THR, 'k');
    ck_assert_uint_eq(r.sink.n, 1);
    ck_assert_uint_eq(r.sink.out[0], 'k');

    fake_outb(&r.pio, B + LCR, 0x83);
    ck_assert_uint_eq(fake_inb(&r.pio, B + THR), 0x01);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IER), 0x02);
    rig_fini(&r);
}
END_TEST

START_TEST(scratch_register)
{
    struct rig r;

    rig_init(&r);
    fake_outb(&r.pio, B + SCR, 0xa5);
    ck_assert_uint_eq(fake_inb(&r.pio, B + SCR), 0xa5);
    fake_outb(&r.pio, B + SCR, 0x5a);
    ck_assert_uint_eq(fake_inb(&r.pio, B + SCR), 0x5a);
    rig_fini(&r);
}
END_TEST

START_TEST(lsr_thre_and_dr)
{
    struct rig r;

    rig_init(&r);
    ck_assert_uint_eq(fake_inb(&r.pio, B + LSR), 0x60); /* THRE | TEMT, no data */
    ck_assert_int_eq(serial_receive(r.s, (const uint8_t *)"q", 1), 1);
    ck_assert_uint_eq(fake_inb(&r.pio, B + LSR), 0x61);
    ck_assert_uint_eq(fake_inb(&r.pio, B + THR), 'q');
    ck_assert_uint_eq(fake_inb(&r.pio, B + LSR), 0x60);
    rig_fini(&r);
}
END_TEST

/*
 * A host that cannot take more (a stalled terminal) shows as a busy line: THRE and TEMT clear, no
 * THRE interrupt, a byte sent anyway is lost (nothing blocks); serial_output_room() brings THRE and
 * its interrupt back.
 */
START_TEST(full_host_clears_thre_until_room)
{
    struct rig r;

    rig_init(&r);
    r.sink.full_at = 2;
    fake_outb(&r.pio, B + IER, 0x02);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0x02);
    fake_outb(&r.pio, B + THR, 'a');
    ck_assert(r.irq.level); /* room for one more */
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0x02);
    fake_outb(&r.pio, B + THR, 'b');
    ck_assert(!r.irq.level); /* the host is full now */
    ck_assert_uint_eq(fake_inb(&r.pio, B + LSR) & 0x60, 0);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0x01);
    fake_outb(&r.pio, B + THR, 'c'); /* the guest ignored THRE: lost, and nothing waited */
    ck_assert_uint_eq(r.sink.n, 2);
    ck_assert_mem_eq(r.sink.out, "ab", 2);

    r.sink.full_at = 0;
    serial_output_room(r.s);
    ck_assert(r.irq.level);
    ck_assert_uint_eq(fake_inb(&r.pio, B + LSR) & 0x60, 0x60);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0x02);
    fake_outb(&r.pio, B + THR, 'd');
    ck_assert_mem_eq(r.sink.out, "abd", 3);
    /* Enabling THRI while the host is full raises nothing. */
    r.sink.full_at = 3;
    fake_outb(&r.pio, B + IER, 0x00);
    fake_outb(&r.pio, B + IER, 0x02);
    ck_assert(!r.irq.level);
    rig_fini(&r);
}
END_TEST

START_TEST(fifo_enable_shows_in_iir)
{
    struct rig r;

    rig_init(&r);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0x01);
    fake_outb(&r.pio, B + IIR, 0x01);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR) >> 6, 3); /* what Linux calls a 16550A */
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0xc1);
    fake_outb(&r.pio, B + IIR, 0x00);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0x01);
    rig_fini(&r);
}
END_TEST

START_TEST(thre_irq_follows_ier_and_iir_read)
{
    struct rig r;

    rig_init(&r);
    ck_assert(!r.irq.level);
    fake_outb(&r.pio, B + IER, 0x02);
    ck_assert(r.irq.level);
    ck_assert_int_eq(r.irq.raises, 1);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0x02);
    ck_assert(!r.irq.level); /* reading IIR acknowledged it */
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0x01);

    fake_outb(&r.pio, B + THR, 'a'); /* sent at once: THR empty again */
    ck_assert(r.irq.level);
    fake_outb(&r.pio, B + IER, 0x00);
    ck_assert(!r.irq.level);

    /* Linux's UART_BUG_THRE probe: re-enabling THRI must re-raise it. */
    fake_outb(&r.pio, B + IER, 0x02);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0x02);
    fake_outb(&r.pio, B + IER, 0x00);
    fake_outb(&r.pio, B + IER, 0x02);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0x02);
    /* Only changes reach the line. */
    ck_assert_int_eq(r.irq.raises, r.irq.lowers + (r.irq.level ? 1 : 0));
    rig_fini(&r);
}
END_TEST

START_TEST(rx_irq_and_priority_over_thre)
{
    struct rig r;

    rig_init(&r);
    fake_outb(&r.pio, B + IER, 0x03);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0x02);
    ck_assert(!r.irq.level);
    serial_receive(r.s, (const uint8_t *)"xy", 2);
    ck_assert(r.irq.level);
    fake_outb(&r.pio, B + THR, '!');
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0x04); /* data ranks above THRE */
    ck_assert_uint_eq(fake_inb(&r.pio, B + THR), 'x');
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0x04);
    ck_assert_uint_eq(fake_inb(&r.pio, B + THR), 'y');
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0x02);
    ck_assert(!r.irq.level);
    ck_assert_uint_eq(fake_inb(&r.pio, B + THR), 0); /* empty: no crash, no DR */
    ck_assert_uint_eq(fake_inb(&r.pio, B + LSR) & 1, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(rx_is_bounded_and_rx_ready_fires_after_drain)
{
    struct rig r;
    uint8_t *big = malloc(1500);

    for (int i = 0; i < 1500; i++)
        big[i] = (uint8_t)i;
    rig_init(&r);
    ck_assert_int_eq(serial_receive(r.s, big, 1500), SERIAL_RX_CAP);
    ck_assert_int_eq(serial_receive(r.s, big, 10), 0);
    ck_assert_int_eq(r.sink.rx_ready_calls, 0);

    for (int i = 0; i < SERIAL_RX_CAP / 2 - 1; i++)
        ck_assert_uint_eq(fake_inb(&r.pio, B + THR), (uint8_t)i);
    ck_assert_int_eq(r.sink.rx_ready_calls, 0);
    ck_assert_uint_eq(fake_inb(&r.pio, B + THR), (uint8_t)(SERIAL_RX_CAP / 2 - 1));
    ck_assert_int_eq(r.sink.rx_ready_calls, 1);

    /* Room now: the rest fits, in order after what is left; no second rx_ready owed. */
    ck_assert_int_eq(serial_receive(r.s, big + SERIAL_RX_CAP, 476), 476);
    for (int i = SERIAL_RX_CAP / 2; i < 1500; i++)
        ck_assert_uint_eq(fake_inb(&r.pio, B + THR), (uint8_t)i);
    ck_assert_uint_eq(fake_inb(&r.pio, B + LSR) & 1, 0);
    ck_assert_int_eq(r.sink.rx_ready_calls, 1);
    free(big);
    rig_fini(&r);
}
END_TEST

START_TEST(fifo_reset_frees_room_too)
{
    struct rig r;
    uint8_t buf[SERIAL_RX_CAP + 1] = { 0 };

    rig_init(&r);
    ck_assert_int_eq(serial_receive(r.s, buf, sizeof(buf)), SERIAL_RX_CAP);
    fake_outb(&r.pio, B + IIR, 0x07); /* enable + clear both FIFOs */
    ck_assert_int_eq(r.sink.rx_ready_calls, 1);
    ck_assert_uint_eq(fake_inb(&r.pio, B + LSR) & 1, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(loopback_as_linux_probes_it)
{
    struct rig r;

    rig_init(&r);
    /* IER existence test. */
    fake_outb(&r.pio, B + IER, 0x00);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IER) & 0x0f, 0x00);
    fake_outb(&r.pio, B + IER, 0xff);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IER), 0x0f);
    fake_outb(&r.pio, B + IER, 0x00);

    fake_outb(&r.pio, B + MCR, 0x10 | 0x0a);
    ck_assert_uint_eq(fake_inb(&r.pio, B + MSR) & 0xf0, 0x90);
    fake_outb(&r.pio, B + MCR, 0x10 | 0x05);
    ck_assert_uint_eq(fake_inb(&r.pio, B + MSR) & 0xf0, 0x60);

    fake_outb(&r.pio, B + THR, 'Z');
    ck_assert_uint_eq(r.sink.n, 0); /* looped back, not sent */
    ck_assert_uint_eq(fake_inb(&r.pio, B + LSR) & 1, 1);
    ck_assert_uint_eq(fake_inb(&r.pio, B + THR), 'Z');

    fake_outb(&r.pio, B + MCR, 0x0b);
    ck_assert_uint_eq(fake_inb(&r.pio, B + MSR) & 0xf0, 0xb0);
    fake_outb(&r.pio, B + THR, 'A');
    ck_assert_uint_eq(r.sink.n, 1);
    rig_fini(&r);
}
END_TEST

START_TEST(modem_status_deltas_and_irq)
{
    struct rig r;

    rig_init(&r);
    fake_outb(&r.pio, B + IER, 0x08);
    fake_outb(&r.pio, B + MCR, 0x10); /* loopback, all outputs low: CTS/DSR/DCD drop */
    ck_assert(r.irq.level);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0x00);
    ck_assert_uint_eq(fake_inb(&r.pio, B + MSR), 0x0b);
    ck_assert(!r.irq.level);
    ck_assert_uint_eq(fake_inb(&r.pio, B + MSR), 0x00);
    fake_outb(&r.pio, B + MCR, 0x14); /* RI up: no delta on a rising RI */
    ck_assert_uint_eq(fake_inb(&r.pio, B + MSR), 0x40);
    fake_outb(&r.pio, B + MCR, 0x10); /* RI down: trailing edge */
    ck_assert_uint_eq(fake_inb(&r.pio, B + MSR), 0x04);
    rig_fini(&r);
}
END_TEST

START_TEST(loopback_overrun_sets_oe_and_line_status_irq)
{
    struct rig r;

    rig_init(&r);
    fake_outb(&r.pio, B + IER, 0x04);
    fake_outb(&r.pio, B + MCR, 0x10);
    for (int i = 0; i < SERIAL_RX_CAP + 1; i++)
        fake_outb(&r.pio, B + THR, 'o');
    ck_assert(r.irq.level);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IIR), 0x06);
    ck_assert_uint_eq(fake_inb(&r.pio, B + LSR), 0x63);
    ck_assert(!r.irq.level);
    ck_assert_uint_eq(fake_inb(&r.pio, B + LSR), 0x61);
    rig_fini(&r);
}
END_TEST

START_TEST(odd_widths_do_not_crash)
{
    struct rig r;
    uint32_t v = 0;
    uint16_t w = 0;

    rig_init(&r);
    fake_outb(&r.pio, B + LCR, 0x80);
    w = 0x0201;
    ck_assert_int_eq(fake_bus_io(&r.pio, B, &w, 2, true), 0); /* DLL then DLM */
    ck_assert_uint_eq(fake_inb(&r.pio, B + THR), 0x01);
    ck_assert_uint_eq(fake_inb(&r.pio, B + IER), 0x02);
    ck_assert_int_eq(fake_bus_io(&r.pio, B + 4, &v, 4, false), 0);
    ck_assert_int_eq(fake_bus_io(&r.pio, B + 6, &v, 4, false), -ENOENT);
    rig_fini(&r);
}
END_TEST

struct producer {
    struct serial *s;
    size_t len;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    size_t sent = 0;

    while (sent < p->len) {
        uint8_t chunk[64];
        size_t n = p->len - sent < sizeof(chunk) ? p->len - sent : sizeof(chunk);
        int took;

        for (size_t i = 0; i < n; i++)
            chunk[i] = (uint8_t)((sent + i) * 13);
        took = serial_receive(p->s, chunk, n);
        sent += (size_t)took;
        if ((size_t)took < n)
            sched_yield();
    }
    return NULL;
}

/* The event loop feeding input while a vCPU drains it: nothing lost, nothing reordered. */
START_TEST(concurrent_receive_and_drain)
{
    struct rig r;
    struct producer p;
    pthread_t t;
    size_t got = 0;

    rig_init(&r);
    p = (struct producer){ .s = r.s, .len = 20000 };
    ck_assert_int_eq(pthread_create(&t, NULL, produce, &p), 0);
    while (got < p.len) {
        if (!(fake_inb(&r.pio, B + LSR) & 1)) {
            sched_yield();
            continue;
        }
        ck_assert_uint_eq(fake_inb(&r.pio, B + THR), (uint8_t)(got * 13));
        got++;
    }
    pthread_join(t, NULL);
    ck_assert_uint_eq(fake_inb(&r.pio, B + LSR) & 1, 0);
    rig_fini(&r);
}
END_TEST

static Suite *serial_suite(void)
{
    Suite *s = suite_create("serial");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, registers_eight_ports_and_rejects_overlap);
    tcase_add_test(tc, divisor_latch_behind_dlab);
    tcase_add_test(tc, scratch_register);
    tcase_add_test(tc, lsr_thre_and_dr);
    tcase_add_test(tc, full_host_clears_thre_until_room);
    tcase_add_test(tc, fifo_enable_shows_in_iir);
    tcase_add_test(tc, thre_irq_follows_ier_and_iir_read);
    tcase_add_test(tc, rx_irq_and_priority_over_thre);
    tcase_add_test(tc, rx_is_bounded_and_rx_ready_fires_after_drain);
    tcase_add_test(tc, fifo_reset_frees_room_too);
    tcase_add_test(tc, loopback_as_linux_probes_it);
    tcase_add_test(tc, modem_status_deltas_and_irq);
    tcase_add_test(tc, loopback_overrun_sets_oe_and_line_status_irq);
    tcase_add_test(tc, odd_widths_do_not_crash);
    tcase_add_test(tc, concurrent_receive_and_drain);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(serial_suite());
}
