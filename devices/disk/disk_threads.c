// SPDX-License-Identifier: MIT
/*
 * The thread-pool back end, for hosts without io_uring: a few workers take requests from a queue
 * and carry out each one to the end with ordinary system calls (preadv, pwritev, fdatasync,
 * fallocate), then put it on a completed list.
 *
 * A worker sets the event fd only when it makes that list non-empty: while it is non-empty the
 * fd is already set, or a reap has cleared it and is about to take the list (see disk_aio.c).
 */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "devices/disk/disk_aio_impl.h"
#include "vmm/core/threads.h"

static int64_t run_step(int fd, const struct aio_step *s)
{
    ssize_t n = -1;

    switch (s->kind) {
    case STEP_READV:
        n = preadv(fd, s->iov, s->iovcnt, s->offset);
        break;
    case STEP_WRITEV:
        n = pwritev(fd, s->iov, s->iovcnt, s->offset);
        break;
    case STEP_FSYNC:
        n = fdatasync(fd);
        break;
    case STEP_FALLOCATE:
        n = fallocate(fd, s->mode, s->offset, s->len);
        break;
    }
    return n < 0 ? -errno : n;
}

static void run_request(struct disk_aio *a, struct disk_req *r)
{
    struct aio_step s;
    int rc;

    for (;;) {
        rc = aio_next_step(a, r, &s);
        if (rc < 0) {
            aio_finish(r, rc);
            return;
        }
        if (aio_step_done(a, r, run_step(a->disk->fd, &s)))
            return;
    }
}

static void *worker(void *arg)
{
    struct disk_aio *a = arg;
    struct aio_threads *t = &a->t;
    struct disk_req *r;
    bool was_empty;

    pthread_mutex_lock(&t->lock);
    for (;;) {
        while (!t->stop && !t->work_head)
            pthread_cond_wait(&t->work_cv, &t->lock);
        r = t->work_head;
        if (!r)
            break; /* stopping, and nothing left to do */
        t->work_head = r->next;
        if (!t->work_head)
            t->work_tail = NULL;
        pthread_mutex_unlock(&t->lock);

        run_request(a, r);

        pthread_mutex_lock(&t->lock);
        r->next = NULL;
        was_empty = !t->done_head;
        if (t->done_tail)
            t->done_tail->next = r;
        else
            t->done_head = r;
        t->done_tail = r;
        pthread_cond_signal(&t->done_cv);
        if (was_empty) {
            pthread_mutex_unlock(&t->lock);
            aio_signal(a);
            pthread_mutex_lock(&t->lock);
        }
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

static void stop_workers(struct aio_threads *t)
{
    unsigned int i;

    pthread_mutex_lock(&t->lock);
    t->stop = true;
    pthread_cond_broadcast(&t->work_cv);
    pthread_mutex_unlock(&t->lock);
    for (i = 0; i < t->nthreads; i++)
        pthread_join(t->tid[i], NULL);
    t->nthreads = 0;
}

static int pool_init(struct disk_aio *a)
{
    struct aio_threads *t = &a->t;
    unsigned int want = a->depth < AIO_MAX_THREADS ? a->depth : AIO_MAX_THREADS;
    const struct thread_id id = { .cls = THREAD_WORKER, .index = THREAD_INDEX_NEXT };
    int rc = 0;

    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->work_cv, NULL);
    pthread_cond_init(&t->done_cv, NULL);
    while (t->nthreads < want) {
        rc = threads_start(a->threads, &t->tid[t->nthreads], &id, "kvmini-disk", worker, a);
        if (rc < 0)
            break;
        t->nthreads++;
    }
    if (rc < 0) {
        stop_workers(t);
        pthread_cond_destroy(&t->done_cv);
        pthread_cond_destroy(&t->work_cv);
        pthread_mutex_destroy(&t->lock);
    }
    return rc;
}

static void pool_fini(struct disk_aio *a)
{
    struct aio_threads *t = &a->t;

    stop_workers(t);
    pthread_cond_destroy(&t->done_cv);
    pthread_cond_destroy(&t->work_cv);
    pthread_mutex_destroy(&t->lock);
}

static int threads_submit(struct disk_aio *a, struct disk_req *r)
{
    struct aio_threads *t = &a->t;

    if (t->staged_tail)
        t->staged_tail->next = r;
    else
        t->staged_head = r;
    t->staged_tail = r;
    return 0;
}

static void threads_kick(struct disk_aio *a)
{
    struct aio_threads *t = &a->t;

    if (!t->staged_head)
        return;
    pthread_mutex_lock(&t->lock);
    if (t->work_tail)
        t->work_tail->next = t->staged_head;
    else
        t->work_head = t->staged_head;
    t->work_tail = t->staged_tail;
    pthread_cond_broadcast(&t->work_cv);
    pthread_mutex_unlock(&t->lock);
    t->staged_head = t->staged_tail = NULL;
}

static size_t threads_harvest(struct disk_aio *a, struct disk_req **done, size_t max, bool *more)
{
    struct aio_threads *t = &a->t;
    size_t n = 0;

    pthread_mutex_lock(&t->lock);
    while (n < max && t->done_head) {
        done[n++] = t->done_head;
        t->done_head = t->done_head->next;
    }
    if (!t->done_head)
        t->done_tail = NULL;
    *more = t->done_head != NULL;
    pthread_mutex_unlock(&t->lock);
    return n;
}

static void threads_wait(struct disk_aio *a)
{
    struct aio_threads *t = &a->t;

    threads_kick(a); /* what is only staged would never complete */
    pthread_mutex_lock(&t->lock);
    while (!t->done_head)
        pthread_cond_wait(&t->done_cv, &t->lock);
    pthread_mutex_unlock(&t->lock);
}

const struct aio_backend aio_threads_backend = {
    .name = "threads",
    .init = pool_init,
    .fini = pool_fini,
    .submit = threads_submit,
    .kick = threads_kick,
    .harvest = threads_harvest,
    .wait = threads_wait,
};
