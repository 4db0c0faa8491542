/* SPDX-License-Identifier: MIT */
/*
 * Inside the disk engine: what disk_aio.c (requests, validation, the eventfd, write-zeroes
 * fallbacks) shares with its two back ends, disk_uring.c and disk_threads.c. Not for devices.
 *
 * A request is carried out as a series of steps (one readv, writev, fdatasync or fallocate each):
 * aio_next_step() says what the next one is, a back end performs it, and aio_step_done() folds its
 * result in and says whether the request is finished. Short transfers, EINTR and the write-zeroes
 * fallbacks are all just "not finished yet", so both back ends handle them the same way.
 */
#ifndef KVMINI_DEVICES_DISK_DISK_AIO_IMPL_H
#define KVMINI_DEVICES_DISK_DISK_AIO_IMPL_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "devices/disk/disk.h"

#define AIO_MAX_DEPTH   32768u      /* io_uring's own limit on ring entries */
#define AIO_ZERO_CHUNK  (64u << 10) /* one zero buffer, repeated in an iovec */
#define AIO_ZERO_IOVS   16u         /* so a write of zeroes moves at most 1 MiB per step */
#define AIO_MAX_THREADS 4u

enum aio_step_kind {
    STEP_READV,
    STEP_WRITEV,
    STEP_FSYNC,
    STEP_FALLOCATE,
};

struct aio_step {
    enum aio_step_kind kind;
    const struct iovec *iov; /* READV/WRITEV */
    int iovcnt;
    off_t offset; /* READV/WRITEV/FALLOCATE */
    off_t len;    /* FALLOCATE */
    int mode;     /* FALLOCATE */
};

struct aio_threads {
    pthread_mutex_t lock;
    pthread_cond_t work_cv;                 /* work queued, or stop */
    pthread_cond_t done_cv;                 /* something completed */
    struct disk_req *work_head, *work_tail; /* kicked, not yet taken by a worker */
    struct disk_req *done_head, *done_tail; /* finished by a worker, not yet reaped */
    bool stop;
    pthread_t tid[AIO_MAX_THREADS];
    unsigned int nthreads;
    /* The caller's thread only: submitted, not yet kicked. */
    struct disk_req *staged_head, *staged_tail;
};

struct aio_backend;

struct disk_aio {
    const struct aio_backend *be;
    struct disk *disk;
    struct threads *threads; /* where workers enter, or NULL */
    int efd;
    unsigned int depth;
    /* The caller's thread only (submit and reap are never concurrent). */
    unsigned int inflight;                    /* submitted and not yet reaped */
    struct disk_req *local_head, *local_tail; /* finished without the kernel */
    /* AIO_ZERO_CHUNK zero bytes, aligned for O_DIRECT; only ever read from. */
    void *zeroes;
    /* Learnt from the first EOPNOTSUPP, so later write-zeroes skip straight to what works. */
    atomic_bool no_zero_range, no_punch_hole;
    struct io_uring ring;
    struct aio_threads t;
};

struct aio_backend {
    const char *name;
    int (*init)(struct disk_aio *a);
    void (*fini)(struct disk_aio *a); /* nothing in flight any more */
    /* Starts r's first step (it may wait for kick). 0, or -errno: r is then finished locally. */
    int (*submit)(struct disk_aio *a, struct disk_req *r);
    void (*kick)(struct disk_aio *a);
    /* Moves up to max finished requests to done[]; *more: some are left. */
    size_t (*harvest)(struct disk_aio *a, struct disk_req **done, size_t max, bool *more);
    /* Blocks until harvest has something; only called with requests in the back end. */
    void (*wait)(struct disk_aio *a);
};

extern const struct aio_backend aio_uring_backend;
extern const struct aio_backend aio_threads_backend;

/* The next step of r: 0, or -errno (out of memory for a remainder iovec) to finish it with. */
int aio_next_step(struct disk_aio *a, struct disk_req *r, struct aio_step *s);
/* Folds in a step's result (bytes or -errno): true when r is finished and its result is set. */
bool aio_step_done(struct disk_aio *a, struct disk_req *r, int64_t res);
/* Sets r's result and frees what the engine hung on it. */
void aio_finish(struct disk_req *r, int64_t result);
/* Makes the event fd readable. */
void aio_signal(struct disk_aio *a);

#endif
