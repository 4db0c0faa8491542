// SPDX-License-Identifier: MIT
#include "devices/virtio/blk.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "devices/virtio/blk_req.h"
#include "vmm/core/log.h"

/*
 * O_DIRECT takes guest buffers only when they are aligned; a request whose buffers are not goes
 * through a bounce buffer of at most BLK_BOUNCE_CHUNK bytes, one chunk after the other, and at
 * most BLK_BOUNCE_SLOTS requests bounce at once (the others wait their turn, in order). So
 * whatever a guest sends, a disk holds at most 8 MiB of bounce memory. The chunk is also the
 * size_max offered: a driver that keeps to it never makes a buffer larger than one chunk.
 */
#define BLK_BOUNCE_CHUNK (1u << 20)
#define BLK_BOUNCE_SLOTS 8

/*
 * One turn of the event loop starts at most BLK_BATCH requests and reaps at most BLK_REAP_ROUNDS
 * batches of completions; what is left waits for the next turn (again_fd), so signals and the
 * console are served in between whatever a guest keeps posting.
 */
#define BLK_BATCH       32
#define BLK_REAP_ROUNDS 8

/* One request in flight: its chain's head, the parsed request and the engine's view of it. */
struct blk_slot {
    struct disk_req io;
    struct blk_request req;
    uint16_t head;
    void *bounce;       /* O_DIRECT with guest buffers the disk cannot take as they are */
    size_t bounce_size; /* its size: the request's length, at most BLK_BOUNCE_CHUNK */
    uint64_t bounced;   /* bytes of the request done through it so far */
    struct iovec bounce_iov;
};

struct blk {
    struct virtio_dev vdev;
    struct disk disk;
    struct disk_aio *aio;
    struct virtio_blk_config config; /* constant: nothing in it is writable */
    char id[VIRTIO_BLK_ID_BYTES];
    char name[64]; /* "virtio-blk FILE", for the log */

    /*
     * Covers everything below and the queue itself: kicks arrive on the loop thread (ioeventfd)
     * or a vCPU thread (notify exit), completions on the loop thread, reset on a vCPU thread.
     * Taken before dev->lock, never after it.
     */
    pthread_mutex_t lock;
    int again_fd; /* eventfd: work left over for the next turn of the loop */
    bool running; /* DRIVER_OK and not stopped by a malformed request; atomic */
    struct blk_geometry geo;
    struct vq_chain chain; /* scratch for vq_pop: 16 KiB, so not on a stack */
    /*
     * A stack of free slot indices rather than a list through the slots: a slot is 4 KiB, and
     * only the ones a driver actually keeps in flight should ever be touched (VMM memory).
     */
    struct blk_slot *slots;
    uint16_t free_idx[BLK_QUEUE_SIZE];
    unsigned int nr_free;
    /* Requests waiting for a bounce buffer, oldest first (a ring of slot indices). */
    uint16_t bounce_wait[BLK_QUEUE_SIZE];
    unsigned int wait_head, nr_waiting;
    unsigned int nr_bouncing; /* bounce buffers allocated */
    uint64_t bounce_bytes;    /* their size */
    struct blk_stats stats;
};

static struct virtq *request_queue(struct blk *b)
{
    return &b->vdev.queues[0];
}

static struct blk_slot *slot_get(struct blk *b)
{
    return b->nr_free ? &b->slots[b->free_idx[--b->nr_free]] : NULL;
}

static void slot_put(struct blk *b, struct blk_slot *s)
{
    if (s->bounce) {
        free(s->bounce);
        s->bounce = NULL;
        b->nr_bouncing--;
        b->bounce_bytes -= s->bounce_size;
    }
    b->free_idx[b->nr_free++] = (uint16_t)(s - b->slots);
}

static void count(struct blk *b, const struct blk_request *r, uint8_t status)
{
    if (status == VIRTIO_BLK_S_UNSUPP) {
        b->stats.unsupported++;
        return;
    }
    if (status != VIRTIO_BLK_S_OK) {
        b->stats.errors++;
        return;
    }
    switch (r->type) {
    case VIRTIO_BLK_T_IN:
        b->stats.reads++;
        b->stats.bytes_read += r->len;
        break;
    case VIRTIO_BLK_T_OUT:
        b->stats.writes++;
        b->stats.bytes_written += r->len;
        break;
    case VIRTIO_BLK_T_FLUSH:
        b->stats.flushes++;
        break;
    case VIRTIO_BLK_T_DISCARD:
        b->stats.discards++;
        break;
    case VIRTIO_BLK_T_WRITE_ZEROES:
        b->stats.write_zeroes++;
        break;
    case VIRTIO_BLK_T_GET_ID:
        b->stats.get_ids++;
        break;
    }
}

/* Status byte, then the chain back to the driver; written counts the status byte too. */
static void complete(struct blk *b, struct blk_slot *s, uint8_t status, uint32_t written)
{
    *(volatile uint8_t *)s->req.status_byte = status;
    count(b, &s->req, status);
    /* -EIO means the ring broke meanwhile: the driver resets and forgets this chain anyway. */
    vq_push(request_queue(b), s->head, written);
    slot_put(b, s);
}

/* O_DIRECT takes each buffer as it is only if its address and its length are aligned. */
static bool direct_aligned(const struct blk *b, const struct blk_request *r)
{
    uintptr_t addr_mask = b->disk.mem_align - 1, len_mask = b->disk.block_size - 1;

    for (unsigned int i = 0; i < r->nr_data; i++)
        if (((uintptr_t)r->data[i].iov_base & addr_mask) || (r->data[i].iov_len & len_mask))
            return false;
    return true;
}

static const enum disk_op disk_ops_by_io[] = {
    [BLK_IO_READ] = DISK_OP_READ,
    [BLK_IO_WRITE] = DISK_OP_WRITE,
    [BLK_IO_FLUSH] = DISK_OP_FLUSH,
    [BLK_IO_DISCARD] = DISK_OP_DISCARD,
    [BLK_IO_WRITE_ZEROES] = DISK_OP_WRITE_ZEROES,
};

/* The engine's view of the next piece of s: all of it, or its next chunk through the bounce. */
static void prepare_io(struct blk_slot *s)
{
    struct blk_request *r = &s->req;

    s->io = (struct disk_req){
        .op = disk_ops_by_io[r->io],
        .offset = r->offset,
        .len = r->len,
        .iov = r->data,
        .iovcnt = r->nr_data,
        .cookie = s,
    };
    if (s->bounce) {
        uint64_t left = r->len - s->bounced;

        s->bounce_iov = (struct iovec){ s->bounce, left < s->bounce_size ? left : s->bounce_size };
        if (r->io == BLK_IO_WRITE)
            iov_to_buf(r->data, r->nr_data, s->bounced, s->bounce, s->bounce_iov.iov_len);
        s->io.offset += s->bounced;
        s->io.iov = &s->bounce_iov;
        s->io.iovcnt = 1;
    }
}

/* Hands s (or its next chunk) to the engine; false if it had to be completed right away. */
static bool submit_io(struct blk *b, struct blk_slot *s)
{
    prepare_io(s);
    if (disk_aio_submit(b->aio, &s->io)) {
        complete(b, s, VIRTIO_BLK_S_IOERR, 1); /* cannot happen: depth is the queue size */
        return false;
    }
    return true;
}

/* Gives s a bounce buffer and starts it; false if it had to be completed right away. */
static bool bounce_start(struct blk *b, struct blk_slot *s)
{
    size_t size = s->req.len < BLK_BOUNCE_CHUNK ? s->req.len : BLK_BOUNCE_CHUNK;

    if (posix_memalign(&s->bounce, b->disk.block_size > 4096 ? b->disk.block_size : 4096, size)) {
        s->bounce = NULL;
        complete(b, s, VIRTIO_BLK_S_IOERR, 1);
        return false;
    }
    s->bounce_size = size;
    s->bounced = 0;
    b->nr_bouncing++;
    b->bounce_bytes += size;
    if (b->bounce_bytes > b->stats.bounce_bytes_peak)
        b->stats.bounce_bytes_peak = b->bounce_bytes;
    return submit_io(b, s);
}

/* Starts waiting requests while bounce buffers are free; returns whether any was completed. */
static bool bounce_resume(struct blk *b)
{
    bool pushed = false;

    while (b->nr_waiting && b->nr_bouncing < BLK_BOUNCE_SLOTS) {
        struct blk_slot *s = &b->slots[b->bounce_wait[b->wait_head]];

        b->wait_head = (b->wait_head + 1) % BLK_QUEUE_SIZE;
        b->nr_waiting--;
        pushed |= !bounce_start(b, s);
    }
    return pushed;
}

/* Hands a parsed request to the engine; false if it had to be completed right away. */
static bool submit(struct blk *b, struct blk_slot *s)
{
    struct blk_request *r = &s->req;
    bool data = r->io == BLK_IO_READ || r->io == BLK_IO_WRITE;

    if (data && !r->len) {
        complete(b, s, VIRTIO_BLK_S_OK, 1);
        return false;
    }
    if (data && b->disk.direct && !direct_aligned(b, r)) {
        if (b->nr_bouncing < BLK_BOUNCE_SLOTS)
            return bounce_start(b, s);
        /* Its turn comes when a bounce buffer is freed (on_completion), in order. */
        b->bounce_wait[(b->wait_head + b->nr_waiting++) % BLK_QUEUE_SIZE] =
            (uint16_t)(s - b->slots);
        return true;
    }
    return submit_io(b, s);
}

/* Starts the request in b->chain; returns whether it was completed (pushed) already. */
static bool start_request(struct blk *b, struct blk_slot *s, bool *malformed)
{
    struct blk_request *r = &s->req;
    size_t n;

    s->head = b->chain.head;
    switch (blk_parse(&b->chain, &b->geo, r)) {
    case BLK_PARSE_IO:
        return !submit(b, s);
    case BLK_PARSE_GET_ID:
        n = iov_from_buf(r->data, r->nr_data, 0, b->id, sizeof(b->id));
        complete(b, s, VIRTIO_BLK_S_OK, (uint32_t)n + 1);
        return true;
    case BLK_PARSE_STATUS:
        complete(b, s, r->status, 1);
        return true;
    case BLK_PARSE_MALFORMED:
        break;
    }
    /* Nowhere to put a status: give the chain back and stop until the driver resets us. */
    *malformed = true;
    b->stats.errors++;
    vq_push(request_queue(b), s->head, 0);
    slot_put(b, s);
    return true;
}

/* Errors here are the transport's (an irqfd write failing): nothing the request can change. */
static void notify(struct blk *b)
{
    virtio_notify(&b->vdev, 0);
}

/*
 * Takes every available chain and kicks the engine once for the lot; returns whether any chain
 * was completed already (the caller owes the driver an interrupt). Stops early only when every
 * slot is in flight: then the next completion calls this again, because with EVENT_IDX the driver
 * will not kick for chains it posts meanwhile (avail_event was not re-armed).
 */
/* Leaves the rest for the next turn of the loop. Any thread. */
static void defer(struct blk *b)
{
    uint64_t one = 1;

    b->stats.deferred++;
    if (write(b->again_fd, &one, sizeof(one)) < 0) {
        /* Only when the counter would overflow: a wakeup is pending anyway. */
    }
}

static bool process_queue(struct blk *b)
{
    struct virtq *vq = request_queue(b);
    bool pushed = false, malformed = false;
    unsigned int budget = BLK_BATCH;
    int rc = 0;

    /* Never more chains in flight than the queue size, and there are that many slots. */
    while (!malformed && b->nr_free) {
        if (!budget--) {
            defer(b);
            break;
        }
        rc = vq_pop(vq, &b->chain);
        if (rc < 0)
            break;
        if (rc == 0) {
            if (vq_set_avail_event(vq))
                continue;
            break;
        }
        pushed |= start_request(b, slot_get(b), &malformed);
    }
    disk_aio_kick(b->aio);
    if (rc < 0 || malformed) {
        __atomic_store_n(&b->running, false, __ATOMIC_RELAXED);
        virtio_set_needs_reset(&b->vdev,
                               malformed ? "request without header or status byte" : NULL);
    }
    return pushed;
}

/* A piece of s is done: completes s, or starts its next chunk (returning false then). */
static bool finish_io(struct blk *b, struct blk_slot *s)
{
    struct blk_request *r = &s->req;
    uint8_t status = VIRTIO_BLK_S_OK;
    uint32_t written = 1;

    if (s->bounce && s->io.result >= 0) {
        if (r->io == BLK_IO_READ)
            iov_from_buf(r->data, r->nr_data, s->bounced, s->bounce, s->bounce_iov.iov_len);
        s->bounced += s->bounce_iov.iov_len;
        if (s->bounced < r->len)
            return !submit_io(b, s);
    }
    if (s->io.result == -EOPNOTSUPP && r->io == BLK_IO_DISCARD) {
        status = VIRTIO_BLK_S_UNSUPP;
    } else if (s->io.result < 0) {
        status = VIRTIO_BLK_S_IOERR;
    } else if (r->io == BLK_IO_READ) {
        written += (uint32_t)r->len; /* at most seg_max buffers of a chain below 4 GiB */
    }
    complete(b, s, status, written);
    return true;
}

/* One turn's work on the loop thread: completions, then (after them, or when told) the queue. */
static void serve(struct blk *b, bool queue_anyway)
{
    struct disk_req *done[32];
    unsigned int rounds = 0;
    bool pushed = false;
    size_t n;

    pthread_mutex_lock(&b->lock);
    while ((n = disk_aio_reap(b->aio, done, 32, false)) > 0) {
        for (size_t i = 0; i < n; i++)
            pushed |= finish_io(b, done[i]->cookie);
        /* Freed bounce buffers go to waiting requests; chunks and those go to the engine now. */
        pushed |= bounce_resume(b);
        disk_aio_kick(b->aio);
        if (++rounds == BLK_REAP_ROUNDS) {
            defer(b);
            break;
        }
    }
    /* Slots came free: chains posted while all were busy may be waiting without a kick. */
    if ((pushed || queue_anyway) && __atomic_load_n(&b->running, __ATOMIC_ACQUIRE))
        pushed |= process_queue(b);
    if (pushed)
        notify(b);
    pthread_mutex_unlock(&b->lock);
}

static void on_completion(void *opaque, uint32_t events)
{
    (void)events;
    serve(opaque, false);
}

static void on_again(void *opaque, uint32_t events)
{
    struct blk *b = opaque;
    uint64_t count;

    (void)events;
    if (read(b->again_fd, &count, sizeof(count)) < 0) {
        /* Spurious: nothing was left over. */
    }
    serve(b, true);
}

static void blk_queue_notify(struct virtio_dev *dev, unsigned int q)
{
    struct blk *b = dev->priv;

    (void)q; /* one queue: the core checked q */
    pthread_mutex_lock(&b->lock);
    if (__atomic_load_n(&b->running, __ATOMIC_ACQUIRE) && process_queue(b))
        notify(b);
    pthread_mutex_unlock(&b->lock);
}

/* Under dev->lock: only what the driver negotiated, then the flag that lets kicks through. */
static int blk_activate(struct virtio_dev *dev)
{
    struct blk *b = dev->priv;

    b->geo.discard = virtio_has_feature(dev, VIRTIO_BLK_F_DISCARD);
    b->geo.write_zeroes = virtio_has_feature(dev, VIRTIO_BLK_F_WRITE_ZEROES);
    __atomic_store_n(&b->running, true, __ATOMIC_RELEASE);
    return 0;
}

/* Status 0: the guest's buffers must not be touched after this returns, so wait for the disk. */
static void blk_reset(struct virtio_dev *dev)
{
    struct blk *b = dev->priv;
    struct disk_req *done[32];
    size_t n;

    pthread_mutex_lock(&b->lock);
    __atomic_store_n(&b->running, false, __ATOMIC_RELAXED);
    while (disk_aio_inflight(b->aio)) {
        n = disk_aio_reap(b->aio, done, 32, true);
        for (size_t i = 0; i < n; i++)
            slot_put(b, done[i]->cookie);
    }
    for (; b->nr_waiting; b->nr_waiting--, b->wait_head = (b->wait_head + 1) % BLK_QUEUE_SIZE)
        slot_put(b, &b->slots[b->bounce_wait[b->wait_head]]);
    pthread_mutex_unlock(&b->lock);
}

static void blk_read_config(struct virtio_dev *dev, uint32_t off, void *data, uint32_t len)
{
    struct blk *b = dev->priv;

    memcpy(data, (const uint8_t *)&b->config + off, len);
}

static const struct virtio_dev_ops blk_ops = {
    .config_size = sizeof(struct virtio_blk_config),
    .activate = blk_activate,
    .reset = blk_reset,
    .queue_notify = blk_queue_notify,
    .read_config = blk_read_config,
};

static uint64_t offered_features(const struct disk *d)
{
    uint64_t f = (1ULL << VIRTIO_BLK_F_SIZE_MAX) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
                 (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH);

    if (d->readonly)
        return f | (1ULL << VIRTIO_BLK_F_RO);
    if (d->can_discard)
        f |= 1ULL << VIRTIO_BLK_F_DISCARD;
    if (d->can_write_zeroes)
        f |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
    return f;
}

static void fill_config(struct blk *b)
{
    struct virtio_blk_config *c = &b->config;
    uint32_t block_sectors = b->disk.block_size >> BLK_SECTOR_SHIFT;

    /* A tail shorter than a logical block cannot be addressed: round the capacity down. */
    c->capacity = htole64((b->disk.size / b->disk.block_size) * block_sectors);
    c->size_max = htole32(BLK_BOUNCE_CHUNK);
    c->seg_max = htole32(BLK_SEG_MAX);
    c->blk_size = htole32(b->disk.block_size);
    c->num_queues = htole16(1);
    c->max_discard_sectors = htole32(BLK_MAX_RANGE_SECTORS);
    c->max_discard_seg = htole32(1);
    c->discard_sector_alignment = htole32(block_sectors);
    c->max_write_zeroes_sectors = htole32(BLK_MAX_RANGE_SECTORS);
    c->max_write_zeroes_seg = htole32(1);

    b->geo.capacity = le64toh(c->capacity);
    b->geo.block_size = b->disk.block_size;
    b->geo.readonly = b->disk.readonly;
    /* Zero-padded, and NUL-terminated when shorter than 20 bytes, as GET_ID wants. */
    memcpy(b->id, b->disk.serial, sizeof(b->id)); /* disk_open() zero-fills the rest */
}

int blk_create(struct blk **out, struct disk *disk, struct gmem *mem, struct evloop *loop)
{
    struct blk *b = calloc(1, sizeof(*b));
    int event_fd, rc = -ENOMEM;

    if (!b) {
        disk_close(disk);
        return -ENOMEM;
    }
    b->disk = disk_take(disk);
    b->slots = calloc(BLK_QUEUE_SIZE, sizeof(*b->slots));
    if (!b->slots)
        goto err_disk;
    for (unsigned int i = 0; i < BLK_QUEUE_SIZE; i++)
        b->free_idx[b->nr_free++] = (uint16_t)(BLK_QUEUE_SIZE - 1 - i);
    fill_config(b);
    if ((rc = -pthread_mutex_init(&b->lock, NULL)))
        goto err_slots;
    if ((rc = virtio_dev_init(&b->vdev, VIRTIO_ID_BLOCK, offered_features(&b->disk), 1,
                              BLK_QUEUE_SIZE, mem, &blk_ops, b)))
        goto err_lock;
    snprintf(b->name, sizeof(b->name), "virtio-blk %s", b->disk.path);
    b->vdev.name = b->name;
    if ((rc = disk_aio_create(&b->aio, &b->disk, BLK_QUEUE_SIZE, loop->threads, &event_fd)))
        goto err_vdev;
    if ((rc = evloop_add(loop, event_fd, EPOLLIN, on_completion, b)))
        goto err_aio;
    b->again_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b->again_fd < 0) {
        rc = -errno;
        goto err_watch;
    }
    if ((rc = evloop_add(loop, b->again_fd, EPOLLIN, on_again, b)))
        goto err_again;
    *out = b;
    return 0;

err_again:
    close(b->again_fd);
err_watch:
    evloop_del(loop, event_fd);
err_aio:
    disk_aio_destroy(b->aio);
err_vdev:
    virtio_dev_fini(&b->vdev);
err_lock:
    pthread_mutex_destroy(&b->lock);
err_slots:
    free(b->slots);
err_disk:
    disk_close(&b->disk);
    free(b);
    return rc;
}

void blk_destroy(struct blk *b)
{
    if (!b)
        return;
    disk_aio_destroy(b->aio); /* waits: the guest's memory is still mapped */
    close(b->again_fd);
    for (unsigned int i = 0; i < BLK_QUEUE_SIZE; i++)
        free(b->slots[i].bounce);
    virtio_dev_fini(&b->vdev);
    pthread_mutex_destroy(&b->lock);
    free(b->slots);
    disk_close(&b->disk);
    free(b);
}

struct virtio_dev *blk_vdev(struct blk *b)
{
    return &b->vdev;
}

const char *blk_engine_name(const struct blk *b)
{
    return disk_aio_engine_name(b->aio);
}

void blk_get_stats(struct blk *b, struct blk_stats *out)
{
    pthread_mutex_lock(&b->lock);
    *out = b->stats;
    pthread_mutex_unlock(&b->lock);
}
