/* SPDX-License-Identifier: MIT */
/*
 * Output to a host fd (kvmini's stdout) that never blocks the thread that writes: what the fd
 * cannot take at once waits in a bounded ring, and the event loop writes it when the fd becomes
 * writable again. When the ring is full, outbuf_write() takes fewer bytes than offered, so the
 * device in front shows back-pressure the way hardware does (a UART keeps THRE clear), and the
 * room callback runs once the ring has drained to half.
 *
 * A reader that stops reading (a stalled pipe, a frozen ssh session) therefore costs at most
 * OUTBUF_CAP bytes and never holds up a vCPU, the event loop or a stop.
 *
 * How writes avoid blocking without changing the fd's flags, which it shares with the shell: a
 * pipe, FIFO or terminal is opened again through /proc/self/fd with O_NONBLOCK (a file
 * description of our own); a socket is written with MSG_DONTWAIT; a regular file or /dev/null
 * never blocks and is written as it is.
 */
#ifndef KVMINI_DEVICES_OUTBUF_H
#define KVMINI_DEVICES_OUTBUF_H

#include <stddef.h>

#include "vmm/core/evloop.h"

#define OUTBUF_CAP (64 * 1024)

struct outbuf;

/*
 * Writes to fd (which stays the caller's). room(room_ctx) runs on the loop thread, without locks
 * of this module held, after a short write once there is room again. Call before evloop_start().
 * 0 or -errno.
 */
int outbuf_create(struct outbuf **out, struct evloop *loop, int fd, void (*room)(void *ctx),
                  void *room_ctx);

/* Takes up to len bytes of buf, in order after those taken before; how many. Any thread. */
size_t outbuf_write(struct outbuf *o, const void *buf, size_t len);

/* How many bytes outbuf_write() would take now. Any thread. */
size_t outbuf_room(struct outbuf *o);

/*
 * Writes what is still queued for up to flush_ms milliseconds (a reader that has stopped reading
 * gets no more), then stops watching and frees. With the loop stopped or on it. NULL-safe.
 */
void outbuf_destroy(struct outbuf *o, unsigned int flush_ms);

#endif
