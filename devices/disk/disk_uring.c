// SPDX-License-Identifier: MIT
/*
 * The io_uring back end: one ring per disk, one SQE per step, the request itself as user_data.
 * The kernel announces every CQE on the engine's event fd (io_uring_register_eventfd), so the
 * event loop needs no other wake-up.
 *
 * A request holds at most one SQE or CQE at any moment and at most depth requests are in flight,
 * so a ring of depth entries (its CQ is twice that) can neither run out of SQEs nor overflow.
 * Follow-up steps (the rest of a short transfer, the next write-zeroes fallback) are queued from
 * reap, after the CQE that called for them, and submitted before reap returns.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "devices/disk/disk_aio_impl.h"

static const int needed[] = {
    IORING_OP_READV,
    IORING_OP_WRITEV,
    IORING_OP_FSYNC,
    IORING_OP_FALLOCATE,
};

/*
 * io_uring operations are not system calls, so seccomp never sees them: a thread that could
 * submit any operation could open files or sockets through the ring. The ring is created
 * disabled, allowed only the engine's own operations with no SQE flags and no later
 * registrations, then enabled. Kernels before 5.10 lack this: the ring then works unrestricted.
 */
static int restrict_ops(struct io_uring *ring)
{
    struct io_uring_restriction res[sizeof(needed) / sizeof(needed[0]) + 1];
    unsigned int n = 0;

    for (unsigned int i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
        res[n++] = (struct io_uring_restriction){ .opcode = IORING_RESTRICTION_SQE_OP,
                                                  .sqe_op = (uint8_t)needed[i] };
    res[n++] = (struct io_uring_restriction){ .opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED,
                                              .sqe_flags = 0 };
    /* By system call: Debian's liburing 2.3 declares the wrappers but does not export them. */
    if (syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_RESTRICTIONS, res, n) < 0 ||
        syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
        return -errno;
    return 0;
}

static int uring_init(struct disk_aio *a)
{
    struct io_uring_probe *probe;
    bool restricted = true;
    unsigned int i;
    int rc;

    rc = io_uring_queue_init(a->depth, &a->ring, IORING_SETUP_R_DISABLED);
    if (rc == -EINVAL) {
        restricted = false;
        rc = io_uring_queue_init(a->depth, &a->ring, 0);
    }
    if (rc < 0)
        return rc;
    /* A kernel older than an opcode fails it per request; we would rather know now. */
    probe = io_uring_get_probe_ring(&a->ring);
    if (!probe) {
        rc = -EOPNOTSUPP;
        goto err_exit;
    }
    for (i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
        if (!io_uring_opcode_supported(probe, needed[i]))
            rc = -EOPNOTSUPP;
    io_uring_free_probe(probe);
    if (rc < 0)
        goto err_exit;
    rc = io_uring_register_eventfd(&a->ring, a->efd);
    if (rc < 0)
        goto err_exit;
    if (restricted && (rc = restrict_ops(&a->ring)) < 0)
        goto err_exit;
    return 0;

err_exit:
    io_uring_queue_exit(&a->ring);
    return rc;
}

static void uring_fini(struct disk_aio *a)
{
    io_uring_queue_exit(&a->ring);
}

/* Queues r's next step (without submitting it). 0 or -errno. */
static int queue_step(struct disk_aio *a, struct disk_req *r)
{
    struct io_uring_sqe *sqe;
    struct aio_step s;
    int fd = a->disk->fd, rc;

    rc = aio_next_step(a, r, &s);
    if (rc < 0)
        return rc;
    sqe = io_uring_get_sqe(&a->ring);
    if (!sqe) {
        /* Cannot happen by the sizing above; if it does, make room rather than fail. */
        io_uring_submit(&a->ring);
        sqe = io_uring_get_sqe(&a->ring);
        if (!sqe)
            return -EBUSY;
    }
    switch (s.kind) {
    case STEP_READV:
        io_uring_prep_readv(sqe, fd, s.iov, (unsigned int)s.iovcnt, (uint64_t)s.offset);
        break;
    case STEP_WRITEV:
        io_uring_prep_writev(sqe, fd, s.iov, (unsigned int)s.iovcnt, (uint64_t)s.offset);
        break;
    case STEP_FSYNC:
        io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
        break;
    case STEP_FALLOCATE:
        io_uring_prep_fallocate(sqe, fd, s.mode, s.offset, s.len);
        break;
    }
    io_uring_sqe_set_data(sqe, r);
    return 0;
}

static int uring_submit(struct disk_aio *a, struct disk_req *r)
{
    return queue_step(a, r);
}

static void uring_kick(struct disk_aio *a)
{
    /* On failure the SQEs stay queued; the next submit or wait hands them over. */
    (void)io_uring_submit(&a->ring);
}

static size_t uring_harvest(struct disk_aio *a, struct disk_req **done, size_t max, bool *more)
{
    struct io_uring_cqe *cqe;
    bool queued = false;
    size_t n = 0;

    while (n < max && io_uring_peek_cqe(&a->ring, &cqe) == 0) {
        struct disk_req *r = io_uring_cqe_get_data(cqe);
        int res = cqe->res;
        int rc;

        io_uring_cqe_seen(&a->ring, cqe);
        if (!aio_step_done(a, r, res)) {
            rc = queue_step(a, r);
            if (rc == 0) {
                queued = true;
                continue;
            }
            aio_finish(r, rc);
        }
        done[n++] = r;
    }
    if (queued)
        (void)io_uring_submit(&a->ring);
    *more = io_uring_cq_ready(&a->ring) > 0;
    return n;
}

static void uring_wait(struct disk_aio *a)
{
    struct io_uring_cqe *cqe;
    int rc;

    /* Submits anything not yet kicked, or the wait could be for requests the kernel never saw. */
    rc = io_uring_submit_and_wait(&a->ring, 1);
    if (rc < 0 && rc != -EINTR)
        (void)io_uring_wait_cqe(&a->ring, &cqe);
}

const struct aio_backend aio_uring_backend = {
    .name = "io_uring",
    .init = uring_init,
    .fini = uring_fini,
    .submit = uring_submit,
    .kick = uring_kick,
    .harvest = uring_harvest,
    .wait = uring_wait,
};
