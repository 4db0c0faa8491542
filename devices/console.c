// SPDX-License-Identifier: MIT
#include "devices/console.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "devices/outbuf.h"
#include "vmm/core/fatal.h"

/* Bytes read from stdin at a time; also what may wait for the sink, so keep it small. */
#define CONSOLE_CHUNK 256

struct console {
    struct evloop *loop;
    struct stopper stop;
    struct console_input sink;
    int in_fd;
    struct outbuf *out;
    int wake_fd;  /* eventfd: rx_ready from vCPU threads, and self-pumping of unpollable input */
    int tty_fd;   /* stdout or stdin when a terminal (its size), else -1 */
    int winch_fd; /* signalfd for SIGWINCH while a sink wants resizes, else -1 */

    bool tty_saved;
    struct termios saved;

    bool attached;
    bool watching; /* in_fd is in the event loop */
    bool pollable; /* epoll accepts in_fd */
    bool in_done;  /* EOF or a read error: input is over for good */

    struct console_escape esc;
    size_t pend_off, pend_len; /* filtered bytes the sink has not taken yet */
    uint8_t pend[CONSOLE_CHUNK + 1];
};

static const char console_help[] = "\r\nkvmini console escapes:\r\n"
                                   "  C-a x    quit kvmini\r\n"
                                   "  C-a C-a  send C-a to the guest\r\n"
                                   "  C-a h    this help\r\n";

size_t console_escape_filter(struct console_escape *esc, const uint8_t *in, size_t len,
                             uint8_t *out, unsigned *actions)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        uint8_t b = in[i];

        if (!esc->armed) {
            if (b == CONSOLE_ESCAPE_CHAR)
                esc->armed = true;
            else
                out[n++] = b;
            continue;
        }
        esc->armed = false;
        switch (b) {
        case 'x':
        case 'X':
            *actions |= CONSOLE_ACT_QUIT;
            return n; /* the machine is going away: nothing after this is meant for it */
        case 'h':
        case 'H':
            *actions |= CONSOLE_ACT_HELP;
            break;
        case CONSOLE_ESCAPE_CHAR:
            out[n++] = CONSOLE_ESCAPE_CHAR;
            break;
        default:
            out[n++] = CONSOLE_ESCAPE_CHAR;
            out[n++] = b;
            break;
        }
    }
    return n;
}

static void console_wake(struct console *c)
{
    uint64_t one = 1;

    if (write(c->wake_fd, &one, sizeof(one)) < 0) {
        /* Only if the counter would overflow, i.e. a wakeup is pending anyway. */
    }
}

static void console_unwatch(struct console *c)
{
    if (!c->watching)
        return;
    evloop_del(c->loop, c->in_fd);
    c->watching = false;
}

/* Offers the pending bytes to the sink. True when all are gone. */
static bool console_flush(struct console *c)
{
    while (c->pend_off < c->pend_len) {
        int n = c->sink.receive(c->sink.ctx, c->pend + c->pend_off, c->pend_len - c->pend_off);

        if (n < 0) {
            /* A sink that fails will not take these bytes later either. */
            c->pend_off = c->pend_len;
            break;
        }
        if (n == 0)
            return false;
        c->pend_off += (size_t)n;
    }
    c->pend_off = c->pend_len = 0;
    return true;
}

/* Reads one chunk of input, filters it and hands it on. */
static void console_pump(struct console *c)
{
    uint8_t raw[CONSOLE_CHUNK];
    unsigned actions = 0;
    ssize_t n;

    if (c->pollable) {
        /* A stale event from before an evloop_del must not block the loop thread in read(). */
        struct pollfd p = { .fd = c->in_fd, .events = POLLIN };

        if (poll(&p, 1, 0) <= 0)
            return;
    }
    n = read(c->in_fd, raw, sizeof(raw));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        /* EOF (or a hung-up terminal): the guest keeps running without input. */
        console_unwatch(c);
        c->in_done = true;
        return;
    }

    c->pend_off = 0;
    c->pend_len = console_escape_filter(&c->esc, raw, (size_t)n, c->pend, &actions);
    if (actions & CONSOLE_ACT_HELP) {
        if (write(STDERR_FILENO, console_help, sizeof(console_help) - 1) < 0) {
            /* Nowhere left to complain to. */
        }
    }
    if (actions & CONSOLE_ACT_QUIT)
        stopper_request(&c->stop, STOP_USER_QUIT, 0);

    if (!console_flush(c))
        console_unwatch(c); /* resume on console_rx_ready() */
}

static void console_on_input(void *opaque, uint32_t events)
{
    console_pump(opaque);
}

static void console_on_wake(void *opaque, uint32_t events)
{
    struct console *c = opaque;
    uint64_t count;

    if (read(c->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        return;
    if (!c->attached || !console_flush(c) || c->in_done || c->in_fd < 0)
        return;

    if (!c->pollable) {
        /* One chunk per wakeup, so other sources get their turn between chunks. */
        console_pump(c);
        if (!c->in_done && !c->pend_len)
            console_wake(c);
        return;
    }
    if (!c->watching) {
        if (evloop_add(c->loop, c->in_fd, EPOLLIN, console_on_input, c) < 0)
            c->in_done = true; /* no slot left: losing input beats spinning */
        else
            c->watching = true;
    }
}

/* The output has room again after a short console_write(): tell whoever writes. Loop thread. */
static void console_out_room(void *opaque)
{
    struct console *c = opaque;

    if (c->attached && c->sink.output_room)
        c->sink.output_room(c->sink.ctx);
}

int console_create(struct console **out, struct evloop *loop, const struct stopper *stop, int in_fd,
                   int out_fd)
{
    struct console *c;
    struct termios raw;
    int rc;

    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->loop = loop;
    if (stop)
        c->stop = *stop;
    c->in_fd = in_fd;
    c->winch_fd = -1;
    c->tty_fd = out_fd >= 0 && isatty(out_fd) ? out_fd : in_fd >= 0 && isatty(in_fd) ? in_fd : -1;

    if ((rc = outbuf_create(&c->out, loop, out_fd, console_out_room, c)))
        goto err_free;
    c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->wake_fd < 0) {
        rc = -errno;
        goto err_out;
    }
    rc = evloop_add(loop, c->wake_fd, EPOLLIN, console_on_wake, c);
    if (rc)
        goto err_close;

    /* Last, so that no failure above leaves the terminal raw. */
    if (in_fd >= 0 && isatty(in_fd)) {
        if (tcgetattr(in_fd, &c->saved) < 0) {
            rc = -errno;
            goto err_del;
        }
        raw = c->saved;
        cfmakeraw(&raw);
        if (tcsetattr(in_fd, TCSANOW, &raw) < 0) {
            rc = -errno;
            goto err_del;
        }
        c->tty_saved = true;
        /* A crash, or a stop that cannot complete, still gives the terminal back. */
        fatal_guard_tty(in_fd, &c->saved);
    }
    *out = c;
    return 0;

err_del:
    evloop_del(loop, c->wake_fd);
err_close:
    close(c->wake_fd);
err_out:
    outbuf_destroy(c->out, 0);
err_free:
    free(c);
    return rc;
}

bool console_size(struct console *c, uint16_t *cols, uint16_t *rows)
{
    struct winsize ws;

    /* A terminal not sized yet (a fresh pty) says 0 x 0: still a terminal, sized later. */
    if (c->tty_fd < 0 || ioctl(c->tty_fd, TIOCGWINSZ, &ws) < 0)
        return false;
    *cols = ws.ws_col;
    *rows = ws.ws_row;
    return true;
}

/* SIGWINCH (blocked in every thread, so it waits in the signalfd): tell the sink the new size. */
static void console_on_winch(void *opaque, uint32_t events)
{
    struct console *c = opaque;
    struct signalfd_siginfo si;
    uint16_t cols, rows;

    (void)events;
    while (read(c->winch_fd, &si, sizeof(si)) == sizeof(si))
        ;
    if (console_size(c, &cols, &rows))
        c->sink.resize(c->sink.ctx, cols, rows);
}

static int watch_resizes(struct console *c)
{
    sigset_t winch;
    int rc;

    sigemptyset(&winch);
    sigaddset(&winch, SIGWINCH);
    c->winch_fd = signalfd(-1, &winch, SFD_NONBLOCK | SFD_CLOEXEC);
    if (c->winch_fd < 0)
        return -errno;
    rc = evloop_add(c->loop, c->winch_fd, EPOLLIN, console_on_winch, c);
    if (rc) {
        close(c->winch_fd);
        c->winch_fd = -1;
    }
    return rc;
}

int console_attach(struct console *c, const struct console_input *sink)
{
    int rc;

    if (c->attached)
        return -EBUSY;
    if (sink->resize && c->tty_fd >= 0 && (rc = watch_resizes(c)))
        return rc;
    c->sink = *sink;
    c->attached = true;
    if (c->in_fd < 0)
        return 0;

    rc = evloop_add(c->loop, c->in_fd, EPOLLIN, console_on_input, c);
    if (rc == 0) {
        c->pollable = true;
        c->watching = true;
        return 0;
    }
    if (rc != -EPERM)
        return rc;
    /* epoll refuses regular files and /dev/null: they are always readable, so pump them. */
    console_wake(c);
    return 0;
}

size_t console_write(struct console *c, const void *buf, size_t len)
{
    return outbuf_write(c->out, buf, len);
}

size_t console_output_room(struct console *c)
{
    return outbuf_room(c->out);
}

void console_rx_ready(struct console *c)
{
    console_wake(c);
}

void console_restore(struct console *c)
{
    if (c && c->tty_saved) {
        tcsetattr(c->in_fd, TCSANOW, &c->saved);
        fatal_release_tty();
    }
}

void console_destroy(struct console *c)
{
    if (!c)
        return;
    console_unwatch(c);
    evloop_del(c->loop, c->wake_fd);
    close(c->wake_fd);
    if (c->winch_fd >= 0) {
        evloop_del(c->loop, c->winch_fd);
        close(c->winch_fd);
    }
    console_restore(c);
    outbuf_destroy(c->out, CONSOLE_FLUSH_MS);
    free(c);
}
