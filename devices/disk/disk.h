/* SPDX-License-Identifier: MIT */
/*
 * A disk image on the host: a raw file or a block device, opened and locked once at start-up, and
 * an asynchronous engine that moves data between it and guest memory off the vCPU threads.
 *
 * Opening (disk_open) happens before KVM is touched, so a bad --disk is reported like a bad
 * kernel: one line, a documented exit code. The image is locked with flock(): LOCK_EX read-write,
 * LOCK_SH read-only, both non-blocking, so two kvmini processes never write one image and a
 * read-only user never sees it change underneath.
 *
 * The engine (disk_aio) is io_uring when the kernel allows it and a small thread pool otherwise
 * (or when the options ask for threads). Requests are submitted and reaped by one caller at a time
 * (the device serialises them with its own lock); completions are announced on an eventfd the
 * caller watches on the event loop.
 */
#ifndef KVMINI_DEVICES_DISK_DISK_H
#define KVMINI_DEVICES_DISK_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum disk_cache {
    DISK_CACHE_WRITEBACK, /* host page cache; FLUSH is fdatasync */
    DISK_CACHE_NONE,      /* O_DIRECT; FLUSH is still fdatasync (the device's own cache) */
};

/*
 * How requests reach the image. AUTO is io_uring when the kernel offers it with every opcode used
 * (readv, writev, fsync, fallocate), else threads; IO_URING fails with io_uring's own error
 * instead of falling back.
 */
enum disk_engine {
    DISK_ENGINE_AUTO,
    DISK_ENGINE_IO_URING,
    DISK_ENGINE_THREADS,
};

#define DISK_SERIAL_MAX 20 /* VIRTIO_BLK_ID_BYTES */

/* What --disk says (vmm/cli.c fills it), and the engine (from KVMINI_DISK_ENGINE there). */
struct disk_options {
    const char *path;
    bool readonly;
    enum disk_cache cache;
    const char *serial; /* GET_ID string, at most DISK_SERIAL_MAX bytes; NULL: the basename, cut */
    enum disk_engine engine;
};

/* "io_uring", "threads", or NULL or "" for AUTO: 0, or -EINVAL for anything else. */
int disk_engine_parse(const char *name, enum disk_engine *out);

struct disk {
    char *path; /* owned copy, for messages */
    int fd;
    bool readonly;
    bool direct; /* opened with O_DIRECT: buffers, offsets and lengths must be aligned */
    bool is_blockdev;
    uint64_t size;         /* bytes; a multiple of 512 is not guaranteed, the device rounds down */
    uint32_t block_size;   /* logical block: the device's, 512 for files (more if O_DIRECT needs) */
    uint32_t mem_align;    /* O_DIRECT buffer address alignment (a power of 2); 1 when not direct */
    bool can_discard;      /* read-write, and (files) the filesystem punches holes; see disk.c */
    bool can_write_zeroes; /* read-write: the engine zeroes by fallocate or, failing that, writes */
    char serial[DISK_SERIAL_MAX + 1];
    enum disk_engine engine;
};

/*
 * What disk_open() refuses in the options themselves, before any file is touched: no path, a
 * serial over DISK_SERIAL_MAX bytes. 0, or -EINVAL with a one-line reason in err.
 */
int disk_options_check(const struct disk_options *opts, char *err, size_t errlen);

/*
 * Opens and locks the image. 0, or -errno with a one-line reason in err (it names the file and
 * the fix, no newline): -ENOENT/-EACCES cannot open, -EROFS read-write asked of a file that is
 * only readable (add ,ro), -EBUSY locked by another process, -EINVAL not a regular file or block
 * device, an empty one (under 512 bytes), a serial over 20 bytes, or O_DIRECT refused. On failure
 * d holds nothing to close.
 */
int disk_open(struct disk *d, const struct disk_options *opts, char *err, size_t errlen);
/* Closes the file (which drops the lock) and frees path. Idempotent after a successful open. */
void disk_close(struct disk *d);

/* Moves an open disk out of d (which then holds nothing to close) to a new owner. */
struct disk disk_take(struct disk *d);

enum disk_op {
    DISK_OP_READ,         /* preadv(iov) at offset */
    DISK_OP_WRITE,        /* pwritev(iov) at offset */
    DISK_OP_FLUSH,        /* fdatasync */
    DISK_OP_DISCARD,      /* fallocate(PUNCH_HOLE | KEEP_SIZE) of [offset, offset + len) */
    DISK_OP_WRITE_ZEROES, /* fallocate(ZERO_RANGE | KEEP_SIZE), then PUNCH_HOLE, then writes */
};

/*
 * One request. The caller owns it (and its iov) until it comes back from disk_aio_reap(). The
 * engine never splits or bounces: read/write iovecs must already satisfy O_DIRECT alignment when
 * the disk is direct. A short read/write is completed by the engine itself (resubmitting the rest),
 * so result is either the full length or -errno. A read that meets end of file early is -EIO.
 * Failures the engine finds itself come back through reap like any other: -EINVAL for a malformed
 * request (unknown op, more than IOV_MAX iovecs, a range past INT64_MAX), -EROFS for a write,
 * discard or write-zeroes on a read-only disk, -EOPNOTSUPP for a discard the host cannot do.
 */
struct disk_req {
    enum disk_op op;
    uint64_t offset;
    uint64_t len; /* DISCARD/WRITE_ZEROES only; READ/WRITE take it from iov */
    const struct iovec *iov;
    unsigned int iovcnt;
    int64_t result; /* set by the engine: bytes moved (0 for FLUSH etc.) or -errno */
    void *cookie;   /* the caller's */

    /* Engine-private. */
    uint64_t done;      /* bytes moved (or zeroed) so far */
    uint64_t total;     /* bytes to move: the iov's sum, or len */
    struct iovec *tail; /* heap copy of what is left after a short transfer, or NULL */
    unsigned int stage; /* WRITE_ZEROES: which way of zeroing is being tried */
    struct disk_req *next;
};

struct disk_aio;
struct threads;

/*
 * Creates d's engine (d->engine) with room for depth requests in flight. *event_fd becomes readable
 * when completions are waiting (owned by the engine; watch it, drain it with disk_aio_reap()).
 * Worker threads, if the engine has them, enter threads (vmm/core/threads.h; may be NULL).
 * 0 or -errno.
 */
int disk_aio_create(struct disk_aio **out, struct disk *d, unsigned int depth,
                    struct threads *threads, int *event_fd);

/* disk_aio_create() with another engine than d's own (tests compare them). depth: 1 to 32768. */
int disk_aio_create_engine(struct disk_aio **out, struct disk *d, unsigned int depth,
                           enum disk_engine engine, struct threads *threads, int *event_fd);

/* "io_uring" or "threads": for --stats and the docs. */
const char *disk_aio_engine_name(const struct disk_aio *a);

/*
 * Queues r. 0 (r comes back from disk_aio_reap(), perhaps with an error found right here), or
 * -EAGAIN when depth requests are already in flight (r is untouched). Queued requests may wait
 * until disk_aio_kick(), so callers can batch a whole ring's worth into one system call.
 */
int disk_aio_submit(struct disk_aio *a, struct disk_req *r);
void disk_aio_kick(struct disk_aio *a);

/*
 * Moves up to max completed requests into done[] and returns how many (clears the event fd when
 * it has taken everything). With wait, blocks until at least one completes if any is in flight.
 */
size_t disk_aio_reap(struct disk_aio *a, struct disk_req **done, size_t max, bool wait);

/* Requests submitted and not yet reaped. */
unsigned int disk_aio_inflight(const struct disk_aio *a);

/* Waits for everything in flight (results dropped), then frees the engine. NULL-safe. */
void disk_aio_destroy(struct disk_aio *a);

#endif
