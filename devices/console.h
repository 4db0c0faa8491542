/* SPDX-License-Identifier: MIT */
/*
 * The host end of the guest console: stdin and stdout of kvmini.
 *
 * Input is read on the event loop, run through the Ctrl-A escape filter and handed to a
 * console_input (the UART, though the console does not know that). When the sink takes only part
 * of it, the console stops reading stdin until console_rx_ready() says there is room: the kernel's
 * pipe or tty buffer is the only queue, never our memory. Output goes to stdout through an outbuf
 * (devices/outbuf.h): never blocking, at most OUTBUF_CAP bytes waiting, and when those are full
 * console_write() takes less and the sink's output_room says when there is room again.
 *
 * If stdin is a terminal it is put in raw mode (no echo, no line editing, no signals, no output
 * post-processing: the guest sends its own \r\n) until console_restore().
 *
 * Escapes apply whether or not stdin is a terminal, so scripted input can use them too:
 *   Ctrl-A x        request STOP_USER_QUIT
 *   Ctrl-A Ctrl-A   send one Ctrl-A to the guest
 *   Ctrl-A h        print a short help on stderr
 *   Ctrl-A other    send both bytes
 */
#ifndef KVMINI_DEVICES_CONSOLE_H
#define KVMINI_DEVICES_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmm/core/evloop.h"
#include "vmm/core/stop.h"

#define CONSOLE_ESCAPE_CHAR 0x01 /* Ctrl-A */

/* Where typed bytes go. receive() returns how many leading bytes it took, or -errno. */
struct console_input {
    int (*receive)(void *ctx, const uint8_t *buf, size_t len);
    /* Optional: console_write() took less than offered, and now there is room. Loop thread. */
    void (*output_room)(void *ctx);
    /* Optional: the terminal was resized (SIGWINCH). Loop thread. */
    void (*resize)(void *ctx, uint16_t cols, uint16_t rows);
    void *ctx;
};

/* --- The escape filter: pure, so it can be tested byte by byte. ----------------------------- */

struct console_escape {
    bool armed; /* the previous byte was an unconsumed Ctrl-A */
};

enum console_action {
    CONSOLE_ACT_QUIT = 1 << 0,
    CONSOLE_ACT_HELP = 1 << 1,
};

/*
 * Filters len typed bytes into out (which must hold len + 1 bytes: a Ctrl-A held over from the
 * previous call may be released), ORs the commands seen into *actions and returns the number of
 * bytes for the guest. Input after a quit is dropped. State carries across calls in *esc.
 */
size_t console_escape_filter(struct console_escape *esc, const uint8_t *in, size_t len,
                             uint8_t *out, unsigned *actions);

/* --- The console -------------------------------------------------------------------------- */

struct console;

#define CONSOLE_FLUSH_MS 500

/*
 * Sets up the console on in_fd/out_fd (usually 0 and 1; in_fd -1 means no input). Puts in_fd in
 * raw mode if it is a terminal, and until console_restore() a fatal signal (SIGSEGV, SIGBUS,
 * SIGABRT, ...) or a stop that cannot complete puts it back before kvmini dies (vmm/core/fatal.h,
 * whose handlers main() installs). Does not read input until console_attach().
 * The fds stay the caller's. Call before evloop_start(). 0 or -errno (the terminal is left
 * untouched).
 */
int console_create(struct console **out, struct evloop *loop, const struct stopper *stop, int in_fd,
                   int out_fd);

/*
 * Starts feeding input to sink (copied). Call before evloop_start(), once. Input that epoll
 * cannot watch (a regular file, /dev/null) is pumped through the loop instead. 0 or -errno.
 */
int console_attach(struct console *c, const struct console_input *sink);

/* Takes up to len bytes of buf for out_fd without ever blocking; how many. Any thread. */
size_t console_write(struct console *c, const void *buf, size_t len);

/* The terminal's size in characters (0 x 0 until it has one), when stdin or stdout is a
 * terminal: true. */
bool console_size(struct console *c, uint16_t *cols, uint16_t *rows);

/* How many bytes console_write() would take now. Any thread. */
size_t console_output_room(struct console *c);

/* The sink has room again. Any thread, lock-free: it only wakes the loop through an eventfd. */
void console_rx_ready(struct console *c);

/* Puts the terminal back as console_create() found it. Idempotent (one tcsetattr). NULL-safe. */
void console_restore(struct console *c);

/*
 * Restores the terminal, writes what output still waits for up to CONSOLE_FLUSH_MS (a reader that
 * has stopped reading gets no more), stops watching, frees (NULL-safe). With the loop stopped or
 * on it.
 */
void console_destroy(struct console *c);

#endif
