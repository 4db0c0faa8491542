// SPDX-License-Identifier: MIT
#include <check.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "devices/console.h"
#include "devices/outbuf.h"
#include "devices/serial.h"
#include "firmware/layout.h"
#include "tests/unit/fakes.h"
#include "tests/unit/unit.h"

/* --- the escape filter ----------------------------------------------------------------------- */

static size_t filter(struct console_escape *esc, const char *in, size_t len, uint8_t *out,
                     unsigned *act)
{
    return console_escape_filter(esc, (const uint8_t *)in, len, out, act);
}

START_TEST(escape_quit_stops_and_keeps_what_came_before)
{
    struct console_escape esc = { 0 };
    uint8_t out[16];
    unsigned act = 0;

    ck_assert_uint_eq(filter(&esc, "ab\x01xcd", 6, out, &act), 2);
    ck_assert_mem_eq(out, "ab", 2);
    ck_assert_uint_eq(act, CONSOLE_ACT_QUIT);
}
END_TEST

START_TEST(escape_double_sends_one)
{
    struct console_escape esc = { 0 };
    uint8_t out[16];
    unsigned act = 0;

    ck_assert_uint_eq(filter(&esc, "\x01\x01", 2, out, &act), 1);
    ck_assert_uint_eq(out[0], 0x01);
    ck_assert_uint_eq(act, 0);
    ck_assert(!esc.armed);
    /* Three in a row: one literal, then an escape waiting. */
    ck_assert_uint_eq(filter(&esc, "\x01\x01\x01", 3, out, &act), 1);
    ck_assert(esc.armed);
}
END_TEST

START_TEST(escape_other_passes_both)
{
    struct console_escape esc = { 0 };
    uint8_t out[16];
    unsigned act = 0;

    ck_assert_uint_eq(filter(&esc, "\x01z", 2, out, &act), 2);
    ck_assert_mem_eq(out, "\x01z", 2);
    ck_assert_uint_eq(act, 0);
}
END_TEST

START_TEST(escape_help_and_split_reads)
{
    struct console_escape esc = { 0 };
    uint8_t out[16];
    unsigned act = 0;

    ck_assert_uint_eq(filter(&esc, "1\x01h2", 4, out, &act), 2);
    ck_assert_mem_eq(out, "12", 2);
    ck_assert_uint_eq(act, CONSOLE_ACT_HELP);

    /* An escape at the end of one read applies to the first byte of the next... */
    act = 0;
    ck_assert_uint_eq(filter(&esc, "a\x01", 2, out, &act), 1);
    ck_assert_uint_eq(filter(&esc, "q", 1, out, &act), 2); /* len + 1 bytes out */
    ck_assert_mem_eq(out, "\x01q", 2);
    ck_assert_uint_eq(filter(&esc, "\x01", 1, out, &act), 0);
    ck_assert_uint_eq(filter(&esc, "x", 1, out, &act), 0);
    ck_assert_uint_eq(act, CONSOLE_ACT_QUIT);
    ck_assert_uint_eq(filter(&esc, "", 0, out, &act), 0);
}
END_TEST

/* --- the console on a fake loop ------------------------------------------------------------- */

struct sink {
    uint8_t got[8192];
    size_t n;
    size_t room;         /* bytes it will still take before refusing */
    int output_rooms;    /* calls of output_room */
    uint16_t cols, rows; /* the last resize */
    int resizes;
};

static void sink_resize(void *ctx, uint16_t cols, uint16_t rows)
{
    struct sink *k = ctx;

    k->cols = cols;
    k->rows = rows;
    k->resizes++;
}

static void sink_output_room(void *ctx)
{
    ((struct sink *)ctx)->output_rooms++;
}

static int sink_receive(void *ctx, const uint8_t *buf, size_t len)
{
    struct sink *k = ctx;
    size_t n = len < k->room ? len : k->room;

    if (n > sizeof(k->got) - k->n)
        n = sizeof(k->got) - k->n;
    memcpy(k->got + k->n, buf, n);
    k->n += n;
    k->room -= n;
    return (int)n;
}

struct rig {
    struct evloop loop;
    struct fake_stop stop;
    struct sink sink;
    struct console *c;
    int in[2], out[2];
};

static void rig_init(struct rig *r, int in_fd)
{
    struct console_input ci;

    memset(r, 0, sizeof(*r));
    fake_stop_init(&r->stop);
    ck_assert_int_eq(pipe(r->in), 0);
    ck_assert_int_eq(pipe(r->out), 0);
    if (in_fd == -2)
        in_fd = r->in[0];
    ck_assert_int_eq(console_create(&r->c, &r->loop, &r->stop.stopper, in_fd, r->out[1]), 0);
    ci = (struct console_input){ .receive = sink_receive,
                                 .output_room = sink_output_room,
                                 .resize = sink_resize,
                                 .ctx = &r->sink };
    ck_assert_int_eq(console_attach(r->c, &ci), 0);
}

static void rig_fini(struct rig *r)
{
    console_destroy(r->c);
    for (int i = 0; i < 2; i++) {
        if (r->in[i] >= 0)
            close(r->in[i]);
        close(r->out[i]);
    }
}

/* A watched fd other than in_fd: a pipe (the output's own O_NONBLOCK one) or not (the eventfd). */
static int watched_fd(struct evloop *loop, int in_fd, bool pipe_end)
{
    struct stat st;

    for (int i = 0; i < EVLOOP_MAX_SOURCES; i++) {
        int fd = loop->sources[i].fd;

        if (loop->sources[i].in_use && fd != in_fd && fstat(fd, &st) == 0 &&
            S_ISFIFO(st.st_mode) == pipe_end)
            return fd;
    }
    return -1;
}

/* The console's eventfd. */
static int wake_fd(struct rig *r, int in_fd)
{
    return watched_fd(&r->loop, in_fd, false);
}

START_TEST(backpressure_stops_and_resumes_input)
{
    struct rig r;
    uint8_t data[300];
    int in_fd, wfd;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)('A' + i % 26);
    rig_init(&r, -2);
    in_fd = r.in[0];
    wfd = wake_fd(&r, in_fd);
    ck_assert_int_ge(wfd, 0);
    ck_assert_ptr_nonnull(fake_evloop_source(&r.loop, in_fd));

    ck_assert_int_eq(write(r.in[1], data, sizeof(data)), (ssize_t)sizeof(data));
    r.sink.room = 100;
    ck_assert_int_eq(fake_evloop_fire(&r.loop, in_fd, EPOLLIN), 0);
    ck_assert_uint_eq(r.sink.n, 100);
    ck_assert_ptr_null(fake_evloop_source(&r.loop, in_fd)); /* not reading while blocked */

    /* Still no room: a wakeup changes nothing. */
    console_rx_ready(r.c);
    ck_assert_int_eq(fake_evloop_fire(&r.loop, wfd, EPOLLIN), 0);
    ck_assert_ptr_null(fake_evloop_source(&r.loop, in_fd));

    r.sink.room = 1000;
    console_rx_ready(r.c);
    ck_assert_int_eq(fake_evloop_fire(&r.loop, wfd, EPOLLIN), 0);
    ck_assert_uint_eq(r.sink.n, 256); /* the rest of the first chunk */
    ck_assert_ptr_nonnull(fake_evloop_source(&r.loop, in_fd));
    ck_assert_int_eq(fake_evloop_fire(&r.loop, in_fd, EPOLLIN), 0);
    ck_assert_uint_eq(r.sink.n, 300);
    ck_assert_mem_eq(r.sink.got, data, sizeof(data));

    /* A spurious event with nothing to read must not block. */
    ck_assert_int_eq(fake_evloop_fire(&r.loop, in_fd, EPOLLIN), 0);
    ck_assert_int_eq(r.stop.calls, 0);
    rig_fini(&r);
}
END_TEST

START_TEST(ctrl_a_x_requests_user_quit)
{
    struct rig r;

    rig_init(&r, -2);
    r.sink.room = 100;
    ck_assert_int_eq(write(r.in[1], "ls\x01xrm", 6), 6);
    fake_evloop_fire(&r.loop, r.in[0], EPOLLIN);
    ck_assert_int_eq(r.stop.calls, 1);
    ck_assert_int_eq(r.stop.cause, STOP_USER_QUIT);
    ck_assert_uint_eq(r.sink.n, 2);
    ck_assert_mem_eq(r.sink.got, "ls", 2);
    rig_fini(&r);
}
END_TEST

START_TEST(eof_stops_watching_for_good)
{
    struct rig r;
    int in_fd, wfd;

    rig_init(&r, -2);
    in_fd = r.in[0];
    wfd = wake_fd(&r, in_fd);
    close(r.in[1]);
    r.in[1] = -1;
    fake_evloop_fire(&r.loop, in_fd, EPOLLIN | EPOLLHUP);
    ck_assert_ptr_null(fake_evloop_source(&r.loop, in_fd));
    console_rx_ready(r.c);
    fake_evloop_fire(&r.loop, wfd, EPOLLIN);
    ck_assert_ptr_null(fake_evloop_source(&r.loop, in_fd));
    ck_assert_int_eq(r.stop.calls, 0); /* the VM keeps running */
    rig_fini(&r);
}
END_TEST

/* Fires the wake eventfd while it has something pending, as the loop would; returns the count. */
static int run_wakeups(struct rig *r, int wfd)
{
    int n = 0;

    for (;;) {
        uint64_t v;
        struct ev_source *src = fake_evloop_source(&r->loop, wfd);
        /* Peek by reading and writing back, so the console's own read sees it. */
        ssize_t got = read(wfd, &v, sizeof(v));

        if (got != sizeof(v) || !src)
            return n;
        ck_assert_int_eq(write(wfd, &v, sizeof(v)), sizeof(v));
        src->fn(src->opaque, EPOLLIN);
        n++;
        ck_assert_int_lt(n, 1000);
    }
}

START_TEST(dev_null_input_ends_quietly)
{
    struct rig r;
    int fd = open("/dev/null", O_RDONLY);

    ck_assert_int_ge(fd, 0);
    rig_init(&r, fd);
    ck_assert_ptr_null(fake_evloop_source(&r.loop, fd)); /* epoll would refuse it */
    ck_assert_int_eq(run_wakeups(&r, wake_fd(&r, fd)), 1);
    ck_assert_uint_eq(r.sink.n, 0);
    rig_fini(&r);
    close(fd);
}
END_TEST

START_TEST(regular_file_input_is_pumped_with_backpressure)
{
    struct rig r;
    FILE *f = tmpfile();
    uint8_t data[700];
    int fd, wfd;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + 1) | 0x80; /* never Ctrl-A */
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, sizeof(data), f), sizeof(data));
    fflush(f);
    rewind(f);
    fd = fileno(f);
    rig_init(&r, fd);
    wfd = wake_fd(&r, fd);

    r.sink.room = 300;
    run_wakeups(&r, wfd);
    ck_assert_uint_eq(r.sink.n, 300);
    r.sink.room = 10000;
    console_rx_ready(r.c);
    run_wakeups(&r, wfd);
    ck_assert_uint_eq(r.sink.n, sizeof(data));
    ck_assert_mem_eq(r.sink.got, data, sizeof(data));
    rig_fini(&r);
    fclose(f);
}
END_TEST

static uint8_t pattern_byte(size_t i)
{
    return (uint8_t)(i * 7 + i / 251);
}

/*
 * A reader that stops reading never blocks whoever writes (a vCPU, under the UART's lock): the
 * console takes what the pipe and its own OUTBUF_CAP bytes hold and refuses the rest at once.
 * When the reader comes back, the loop writes what waited, in order, and output_room says so.
 */
START_TEST(stalled_reader_never_blocks_the_writer)
{
    size_t len = 1 << 20, taken, got = 0;
    uint8_t *big = malloc(len), buf[65536];
    struct rig r;
    int out_watch;

    for (size_t i = 0; i < len; i++)
        big[i] = pattern_byte(i);
    rig_init(&r, -1);
    ck_assert_int_eq(fcntl(r.out[0], F_SETFL, O_NONBLOCK), 0);
    out_watch = watched_fd(&r.loop, -1, true);
    ck_assert_int_ge(out_watch, 0);

    taken = console_write(r.c, big, len); /* nobody reads yet */
    ck_assert_uint_ge(taken, OUTBUF_CAP);
    ck_assert_uint_lt(taken, len);
    ck_assert_uint_eq(console_output_room(r.c), 0);
    ck_assert_uint_eq(console_write(r.c, big + taken, 1), 0);
    ck_assert_int_eq(r.sink.output_rooms, 0);

    /* The reader is back: each EPOLLOUT moves more of what waited, until all of it has come. */
    for (int rounds = 0; got < taken; rounds++) {
        ssize_t n = read(r.out[0], buf, sizeof(buf));

        ck_assert_int_lt(rounds, 1000);
        for (ssize_t i = 0; i < n; i++)
            ck_assert_uint_eq(buf[i], pattern_byte(got + (size_t)i));
        if (n > 0)
            got += (size_t)n;
        ck_assert_int_eq(fake_evloop_fire(&r.loop, out_watch, EPOLLOUT), 0);
    }
    ck_assert_uint_eq(got, taken);
    ck_assert_int_eq(r.sink.output_rooms, 1);
    ck_assert_uint_eq(console_output_room(r.c), OUTBUF_CAP);
    rig_fini(&r);
    free(big);
}
END_TEST

/* Tearing down with output no one reads gives up after CONSOLE_FLUSH_MS, not never. */
START_TEST(destroy_gives_up_on_a_stalled_reader)
{
    uint8_t *big = calloc(1, 1 << 20);
    struct timespec t0, t1;
    struct rig r;
    double s;

    rig_init(&r, -1);
    ck_assert_uint_lt(console_write(r.c, big, 1 << 20), 1 << 20);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    console_destroy(r.c);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_double_ge(s, CONSOLE_FLUSH_MS / 1000.0 * 0.9);
    ck_assert_double_lt(s, CONSOLE_FLUSH_MS / 1000.0 + 2.0);
    r.c = NULL; /* destroyed above */
    rig_fini(&r);
    free(big);
}
END_TEST

START_TEST(tty_goes_raw_and_comes_back)
{
    struct rig r;
    struct termios before, during, after;
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    int slave;

    ck_assert_int_ge(master, 0);
    ck_assert_int_eq(grantpt(master), 0);
    ck_assert_int_eq(unlockpt(master), 0);
    slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    ck_assert_int_ge(slave, 0);
    ck_assert_int_eq(tcgetattr(slave, &before), 0);
    ck_assert(before.c_lflag & ICANON);

    rig_init(&r, slave);
    ck_assert_int_eq(tcgetattr(slave, &during), 0);
    ck_assert(!(during.c_lflag & (ICANON | ECHO | ISIG)));
    ck_assert(!(during.c_oflag & OPOST));
    ck_assert(!(during.c_iflag & ICRNL)); /* Enter reaches the guest as \r */

    /* Typed bytes arrive untouched, Ctrl-C included. */
    r.sink.room = 100;
    ck_assert_int_eq(write(master, "a\r\x03", 3), 3);
    fake_evloop_fire(&r.loop, slave, EPOLLIN);
    ck_assert_uint_eq(r.sink.n, 3);
    ck_assert_mem_eq(r.sink.got, "a\r\x03", 3);

    console_restore(r.c);
    console_restore(r.c);
    ck_assert_int_eq(tcgetattr(slave, &after), 0);
    ck_assert_uint_eq(after.c_lflag, before.c_lflag);
    ck_assert_uint_eq(after.c_oflag, before.c_oflag);
    ck_assert_uint_eq(after.c_iflag, before.c_iflag);
    console_restore(NULL);
    rig_fini(&r);
    close(slave);
    close(master);
}
END_TEST

/* A resized terminal: SIGWINCH (blocked, so it waits in the console's signalfd) gives the sink
 * the new size; without a terminal there is no size and no signalfd. */
START_TEST(resize_reaches_the_sink)
{
    struct winsize ws = { .ws_row = 30, .ws_col = 100 };
    int master = posix_openpt(O_RDWR | O_NOCTTY), slave, winch_fd = -1;
    uint16_t cols, rows;
    sigset_t winch;
    struct rig r;

    sigemptyset(&winch);
    sigaddset(&winch, SIGWINCH);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &winch, NULL), 0);
    ck_assert_int_ge(master, 0);
    ck_assert_int_eq(grantpt(master), 0);
    ck_assert_int_eq(unlockpt(master), 0);
    slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    ck_assert_int_ge(slave, 0);
    ck_assert_int_eq(ioctl(master, TIOCSWINSZ, &ws), 0);

    rig_init(&r, slave);
    ck_assert(console_size(r.c, &cols, &rows));
    ck_assert_uint_eq(cols, 100);
    ck_assert_uint_eq(rows, 30);
    for (int i = 0; i < EVLOOP_MAX_SOURCES; i++) {
        struct stat st;
        int fd = r.loop.sources[i].fd;

        /* The signalfd: watched, not the tty, not a pipe, and read(2) of it needs 128 bytes. */
        if (r.loop.sources[i].in_use && fd != slave && fstat(fd, &st) == 0 &&
            !S_ISFIFO(st.st_mode) && fd != wake_fd(&r, slave))
            winch_fd = fd;
    }
    ck_assert_int_ge(winch_fd, 0);
    ws = (struct winsize){ .ws_row = 50, .ws_col = 132 };
    ck_assert_int_eq(ioctl(master, TIOCSWINSZ, &ws), 0);
    ck_assert_int_eq(kill(getpid(), SIGWINCH), 0);
    fake_evloop_fire(&r.loop, winch_fd, EPOLLIN);
    ck_assert_int_eq(r.sink.resizes, 1);
    ck_assert_uint_eq(r.sink.cols, 132);
    ck_assert_uint_eq(r.sink.rows, 50);
    console_restore(r.c);
    rig_fini(&r);
    close(slave);
    close(master);

    rig_init(&r, -2); /* a pipe: no terminal, no size */
    ck_assert(!console_size(r.c, &cols, &rows));
    rig_fini(&r);
}
END_TEST

/* --- console and UART together, glued the way the VM will glue them ------------------------- */

struct chain {
    struct console *c;
    struct serial *s;
};

static size_t glue_write(void *ctx, const void *buf, size_t len)
{
    return console_write(ctx, buf, len);
}

static size_t glue_room(void *ctx)
{
    return console_output_room(ctx);
}

static void glue_rx_ready(void *ctx)
{
    console_rx_ready(ctx);
}

static int glue_receive(void *ctx, const uint8_t *buf, size_t len)
{
    return serial_receive(ctx, buf, len);
}

START_TEST(flood_through_uart_loses_nothing)
{
    struct evloop loop;
    struct bus pio;
    struct console *c;
    struct serial *s;
    struct serial_output so;
    struct console_input ci;
    struct irq_line none = { 0 };
    int in[2], out[2], wfd = -1;
    size_t len = 5000, got = 0, fires = 0;
    uint8_t *data = malloc(len);
    char echo[4];

    memset(&loop, 0, sizeof(loop));
    bus_init(&pio, "pio");
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(out), 0);
    ck_assert_int_eq(fcntl(in[1], F_SETFL, O_NONBLOCK), 0);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(0x20 + i % 90);

    ck_assert_int_eq(console_create(&c, &loop, NULL, in[0], out[1]), 0);
    so = (struct serial_output){
        .write = glue_write, .room = glue_room, .rx_ready = glue_rx_ready, .ctx = c
    };
    ck_assert_int_eq(serial_create(&s, &pio, PORT_COM1, none, &so), 0);
    ci = (struct console_input){ .receive = glue_receive, .ctx = s };
    ck_assert_int_eq(console_attach(c, &ci), 0);
    wfd = watched_fd(&loop, in[0], false);

    ck_assert_int_eq(write(in[1], data, len), (ssize_t)len);
    /* Alternate "loop thread" and "guest" until every byte has crossed. */
    while (got < len) {
        if (fake_evloop_source(&loop, in[0]))
            fake_evloop_fire(&loop, in[0], EPOLLIN);
        fake_evloop_fire(&loop, wfd, EPOLLIN);
        while (fake_inb(&pio, PORT_COM1 + 5) & 1) {
            ck_assert_uint_eq(fake_inb(&pio, PORT_COM1), data[got]);
            got++;
        }
        ck_assert_uint_lt(++fires, 1000);
    }

    fake_outb(&pio, PORT_COM1, 'o');
    fake_outb(&pio, PORT_COM1, 'k');
    ck_assert_int_eq(read(out[0], echo, sizeof(echo)), 2);
    ck_assert_mem_eq(echo, "ok", 2);

    serial_destroy(s);
    console_destroy(c);
    bus_fini(&pio);
    for (int i = 0; i < 2; i++) {
        close(in[i]);
        close(out[i]);
    }
    free(data);
}
END_TEST

static Suite *console_suite(void)
{
    Suite *s = suite_create("console");
    TCase *esc = tcase_create("escape");
    TCase *io = tcase_create("io");

    tcase_add_test(esc, escape_quit_stops_and_keeps_what_came_before);
    tcase_add_test(esc, escape_double_sends_one);
    tcase_add_test(esc, escape_other_passes_both);
    tcase_add_test(esc, escape_help_and_split_reads);
    suite_add_tcase(s, esc);

    tcase_add_test(io, backpressure_stops_and_resumes_input);
    tcase_add_test(io, ctrl_a_x_requests_user_quit);
    tcase_add_test(io, eof_stops_watching_for_good);
    tcase_add_test(io, dev_null_input_ends_quietly);
    tcase_add_test(io, regular_file_input_is_pumped_with_backpressure);
    tcase_add_test(io, stalled_reader_never_blocks_the_writer);
    tcase_add_test(io, destroy_gives_up_on_a_stalled_reader);
    tcase_add_test(io, tty_goes_raw_and_comes_back);
    tcase_add_test(io, resize_reaches_the_sink);
    tcase_add_test(io, flood_through_uart_loses_nothing);
    suite_add_tcase(s, io);
    return s;
}

int main(void)
{
    return run_suite(console_suite());
}
