// SPDX-License-Identifier: MIT
/*
 * The disk engine's common half: checking requests, planning their steps (see disk_aio_impl.h),
 * and reaping. The back ends (disk_uring.c, disk_threads.c) only perform steps and hand back
 * their results.
 *
 * The event fd's rule: reap clears it before it looks for completions and sets it again if it
 * leaves any behind, and a back end sets it after it publishes one. So a completion that lands
 * while reap is running is either taken by that reap or announced after it: never lost.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/falloc.h>

#include "devices/disk/disk_aio_impl.h"

void aio_signal(struct disk_aio *a)
{
    /* Only fails when the counter would overflow, and then it is readable anyway. */
    (void)eventfd_write(a->efd, 1);
}

static void clear_event(struct disk_aio *a)
{
    eventfd_t v;

    (void)eventfd_read(a->efd, &v); /* EAGAIN: it was clear */
}

void aio_finish(struct disk_req *r, int64_t result)
{
    free(r->tail);
    r->tail = NULL;
    r->result = result;
}

static void finish_local(struct disk_aio *a, struct disk_req *r, int64_t result)
{
    aio_finish(r, result);
    r->next = NULL;
    if (a->local_tail)
        a->local_tail->next = r;
    else
        a->local_head = r;
    a->local_tail = r;
    aio_signal(a);
}

static bool is_write(enum disk_op op)
{
    return op == DISK_OP_WRITE || op == DISK_OP_DISCARD || op == DISK_OP_WRITE_ZEROES;
}

/*
 * Checks r and fills in the engine's fields: 0 if it needs the back end, or the result to finish
 * it with here (positive 1 stands for "done, result 0"; see disk_aio_submit()).
 */
static int64_t check_request(const struct disk_aio *a, struct disk_req *r)
{
    uint64_t total = 0, end;
    unsigned int i;

    r->done = 0;
    r->tail = NULL;
    r->stage = 0;
    r->next = NULL;
    switch (r->op) {
    case DISK_OP_READ:
    case DISK_OP_WRITE:
        if (r->iovcnt > IOV_MAX || (r->iovcnt && !r->iov))
            return -EINVAL;
        for (i = 0; i < r->iovcnt; i++)
            if (__builtin_add_overflow(total, (uint64_t)r->iov[i].iov_len, &total))
                return -EINVAL;
        break;
    case DISK_OP_DISCARD:
    case DISK_OP_WRITE_ZEROES:
        total = r->len;
        break;
    case DISK_OP_FLUSH:
        break;
    default:
        return -EINVAL;
    }
    /* A flush has no range, so whatever its offset holds does not matter. */
    if (r->op != DISK_OP_FLUSH &&
        (__builtin_add_overflow(r->offset, total, &end) || end > (uint64_t)INT64_MAX))
        return -EINVAL;
    if (is_write(r->op) && a->disk->readonly)
        return -EROFS;
    if (r->op == DISK_OP_DISCARD && !a->disk->can_discard)
        return -EOPNOTSUPP;
    r->total = total;
    if (total == 0 && r->op != DISK_OP_FLUSH)
        return 1;
    return 0;
}

/* The iovecs for [done, total) of a read or write: the caller's own until a transfer falls short.
 */
static int rest_of_iov(struct disk_req *r, const struct iovec **iov, int *cnt)
{
    uint64_t skip = r->done;
    unsigned int i = 0, n;

    if (skip == 0) {
        *iov = r->iov;
        *cnt = (int)r->iovcnt;
        return 0;
    }
    while (i < r->iovcnt && skip >= r->iov[i].iov_len)
        skip -= r->iov[i++].iov_len;
    /* done < total, so i < iovcnt here; keep the copy until r finishes (io_uring may read it). */
    if (!r->tail) {
        r->tail = calloc(r->iovcnt, sizeof(*r->tail));
        if (!r->tail)
            return -ENOMEM;
    }
    n = r->iovcnt - i;
    memcpy(r->tail, &r->iov[i], n * sizeof(*r->tail));
    r->tail[0].iov_base = (uint8_t *)r->tail[0].iov_base + skip;
    r->tail[0].iov_len -= skip;
    *iov = r->tail;
    *cnt = (int)n;
    return 0;
}

/* Up to AIO_ZERO_IOVS chunks of the zero buffer, covering as much of [done, total) as they can. */
static int zero_iov(struct disk_aio *a, struct disk_req *r, const struct iovec **iov, int *cnt)
{
    uint64_t left = r->total - r->done;
    unsigned int n = 0;

    if (!r->tail) {
        r->tail = calloc(AIO_ZERO_IOVS, sizeof(*r->tail));
        if (!r->tail)
            return -ENOMEM;
    }
    while (left > 0 && n < AIO_ZERO_IOVS) {
        size_t len = left < AIO_ZERO_CHUNK ? (size_t)left : AIO_ZERO_CHUNK;

        r->tail[n].iov_base = a->zeroes;
        r->tail[n++].iov_len = len;
        left -= len;
    }
    *iov = r->tail;
    *cnt = (int)n;
    return 0;
}

/* WRITE_ZEROES stages, in the order they are tried. */
enum { ZERO_BY_RANGE, ZERO_BY_HOLE, ZERO_BY_WRITING };

int aio_next_step(struct disk_aio *a, struct disk_req *r, struct aio_step *s)
{
    memset(s, 0, sizeof(*s));
    s->offset = (off_t)(r->offset + r->done);
    switch (r->op) {
    case DISK_OP_READ:
        s->kind = STEP_READV;
        return rest_of_iov(r, &s->iov, &s->iovcnt);
    case DISK_OP_WRITE:
        s->kind = STEP_WRITEV;
        return rest_of_iov(r, &s->iov, &s->iovcnt);
    case DISK_OP_FLUSH:
        s->kind = STEP_FSYNC;
        return 0;
    case DISK_OP_DISCARD:
        s->kind = STEP_FALLOCATE;
        s->mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
        s->len = (off_t)r->total;
        return 0;
    case DISK_OP_WRITE_ZEROES:
        if (r->stage == ZERO_BY_RANGE && atomic_load(&a->no_zero_range))
            r->stage = ZERO_BY_HOLE;
        if (r->stage == ZERO_BY_HOLE && atomic_load(&a->no_punch_hole))
            r->stage = ZERO_BY_WRITING;
        if (r->stage == ZERO_BY_WRITING) {
            s->kind = STEP_WRITEV;
            return zero_iov(a, r, &s->iov, &s->iovcnt);
        }
        s->kind = STEP_FALLOCATE;
        s->mode = FALLOC_FL_KEEP_SIZE |
                  (r->stage == ZERO_BY_RANGE ? FALLOC_FL_ZERO_RANGE : FALLOC_FL_PUNCH_HOLE);
        s->len = (off_t)r->total;
        return 0;
    }
    return -EINVAL; /* check_request() let no other op through */
}

static bool unsupported(int64_t res)
{
    return res == -EOPNOTSUPP || res == -ENOSYS;
}

bool aio_step_done(struct disk_aio *a, struct disk_req *r, int64_t res)
{
    bool moving = r->op == DISK_OP_READ || r->op == DISK_OP_WRITE ||
                  (r->op == DISK_OP_WRITE_ZEROES && r->stage == ZERO_BY_WRITING);

    /* Interrupted or momentarily out of resources: the same step again. */
    if (res == -EINTR || res == -EAGAIN)
        return false;
    if (r->op == DISK_OP_WRITE_ZEROES && !moving && unsupported(res)) {
        atomic_store(r->stage == ZERO_BY_RANGE ? &a->no_zero_range : &a->no_punch_hole, true);
        r->stage++;
        return false;
    }
    if (res < 0 || !moving) {
        aio_finish(r, res < 0 ? res : 0);
        return true;
    }
    /* Nothing moved although bytes remain: end of file, which must not make us spin. */
    if (res == 0) {
        aio_finish(r, -EIO);
        return true;
    }
    r->done += (uint64_t)res < r->total - r->done ? (uint64_t)res : r->total - r->done;
    if (r->done < r->total)
        return false;
    aio_finish(r, r->op == DISK_OP_WRITE_ZEROES ? 0 : (int64_t)r->total);
    return true;
}

int disk_aio_create_engine(struct disk_aio **out, struct disk *d, unsigned int depth,
                           enum disk_engine engine, struct threads *threads, int *event_fd)
{
    size_t align = d->block_size > 4096 ? d->block_size : 4096;
    struct disk_aio *a;
    int rc;

    *out = NULL;
    if (depth == 0 || depth > AIO_MAX_DEPTH || d->fd < 0)
        return -EINVAL;
    a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->disk = d;
    a->depth = depth;
    a->threads = threads;
    atomic_init(&a->no_zero_range, false);
    atomic_init(&a->no_punch_hole, false);
    rc = posix_memalign(&a->zeroes, align, AIO_ZERO_CHUNK);
    if (rc) {
        rc = -rc;
        goto err_free;
    }
    memset(a->zeroes, 0, AIO_ZERO_CHUNK);
    a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (a->efd < 0) {
        rc = -errno;
        goto err_free_zeroes;
    }

    a->be = engine == DISK_ENGINE_THREADS ? &aio_threads_backend : &aio_uring_backend;
    rc = a->be->init(a);
    if (rc < 0 && engine == DISK_ENGINE_AUTO) {
        /* No io_uring here (old kernel, seccomp, io_uring_disabled): threads do the same job. */
        a->be = &aio_threads_backend;
        rc = a->be->init(a);
    }
    if (rc < 0)
        goto err_close;
    *event_fd = a->efd;
    *out = a;
    return 0;

err_close:
    close(a->efd);
err_free_zeroes:
    free(a->zeroes);
err_free:
    free(a);
    return rc;
}

int disk_aio_create(struct disk_aio **out, struct disk *d, unsigned int depth,
                    struct threads *threads, int *event_fd)
{
    return disk_aio_create_engine(out, d, depth, d->engine, threads, event_fd);
}

const char *disk_aio_engine_name(const struct disk_aio *a)
{
    return a->be->name;
}

int disk_aio_submit(struct disk_aio *a, struct disk_req *r)
{
    int64_t early;
    int rc;

    if (a->inflight >= a->depth)
        return -EAGAIN;
    a->inflight++;
    early = check_request(a, r);
    if (early) {
        finish_local(a, r, early > 0 ? 0 : early);
        return 0;
    }
    rc = a->be->submit(a, r);
    if (rc < 0)
        finish_local(a, r, rc);
    return 0;
}

void disk_aio_kick(struct disk_aio *a)
{
    a->be->kick(a);
}

static size_t take_local(struct disk_aio *a, struct disk_req **done, size_t max)
{
    size_t n = 0;

    while (n < max && a->local_head) {
        done[n++] = a->local_head;
        a->local_head = a->local_head->next;
    }
    if (!a->local_head)
        a->local_tail = NULL;
    return n;
}

size_t disk_aio_reap(struct disk_aio *a, struct disk_req **done, size_t max, bool wait)
{
    size_t n = 0;
    bool more = false;

    if (max == 0)
        return 0;
    for (;;) {
        clear_event(a);
        n += take_local(a, done + n, max - n);
        if (n < max)
            n += a->be->harvest(a, done + n, max - n, &more);
        else
            more = true; /* cheaper to let the next reap look than to ask the back end */
        /* Nothing local is left unless n == max, so everything in flight is in the back end. */
        if (n > 0 || !wait || a->inflight == 0)
            break;
        a->be->wait(a);
    }
    a->inflight -= (unsigned int)n;
    if (more || a->local_head)
        aio_signal(a);
    return n;
}

unsigned int disk_aio_inflight(const struct disk_aio *a)
{
    return a->inflight;
}

void disk_aio_destroy(struct disk_aio *a)
{
    struct disk_req *done[64];

    if (!a)
        return;
    while (a->inflight > 0)
        disk_aio_reap(a, done, sizeof(done) / sizeof(done[0]), true);
    a->be->fini(a);
    close(a->efd);
    free(a->zeroes);
    free(a);
}
