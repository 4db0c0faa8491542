// SPDX-License-Identifier: MIT
/*
 * Opening a disk image: one open(2), checks that it is something we can serve blocks from, a
 * non-blocking flock(), and a few cheap probes. Every failure is one line that names the file and
 * what to do about it, because this runs before the VM exists and the user reads it directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/falloc.h>
#include <linux/fs.h>

#include "devices/disk/disk.h"
#include "vmm/core/log.h"

#define MIN_SIZE 512

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        log_sanitize(err); /* it quotes paths and serials: one line, whatever they hold */
    }
    return rc;
}

/* The last path component, cut to 20 bytes without splitting a UTF-8 sequence. */
static void default_serial(char *out, const char *path)
{
    const char *base = strrchr(path, '/');
    size_t n;

    base = base ? base + 1 : path;
    n = strlen(base);
    if (n > DISK_SERIAL_MAX) {
        n = DISK_SERIAL_MAX;
        while (n > 0 && ((unsigned char)base[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(out, base, n);
    out[n] = '\0';
}

static int open_image(const struct disk_options *o, char *err, size_t errlen)
{
    /*
     * O_NONBLOCK so a FIFO named by mistake cannot hang us in open(); it is cleared again below
     * because io_uring returns -EAGAIN instead of waiting on files opened non-blocking.
     */
    int flags = (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    int fd, e;

    if (o->cache == DISK_CACHE_NONE)
        flags |= O_DIRECT;
    fd = open(o->path, flags);
    if (fd >= 0)
        return fd;
    e = errno;
    switch (e) {
    case ENOENT:
        return fail(err, errlen, -ENOENT, "%s: no such file; check the disk path", o->path);
    case EISDIR:
        return fail(err, errlen, -EINVAL,
                    "%s: is a directory; a disk is a raw image file or a block device", o->path);
    case EROFS:
        return fail(err, errlen, -EROFS,
                    "%s: on a read-only filesystem; add ,ro to use it read-only", o->path);
    case EACCES:
    case EPERM:
        /* Readable but not writable is a common, fixable case: say so. */
        if (!o->readonly) {
            int rfd = open(o->path, (flags & ~O_RDWR) | O_RDONLY);

            if (rfd >= 0) {
                close(rfd);
                return fail(err, errlen, -EROFS,
                            "%s: not writable by this user; add ,ro to use it read-only", o->path);
            }
        }
        return fail(err, errlen, -EACCES,
                    "%s: permission denied; check its permissions (and those of its directories)",
                    o->path);
    case EINVAL:
        if (flags & O_DIRECT)
            return fail(err, errlen, -EINVAL,
                        "%s: this filesystem refuses O_DIRECT; use cache=writeback", o->path);
        break;
    }
    return fail(err, errlen, -e, "%s: cannot open: %s", o->path, strerror(e));
}

/*
 * O_DIRECT alignment: statx(STATX_DIOALIGN) (Linux 6.1+ for files) knows the filesystem's answer.
 * Without it, the logical block size for both offsets and buffers: 512 for files is what local
 * filesystems on 512-byte-sector disks accept, and the classic rule for block devices.
 */
static void direct_alignment(struct disk *d)
{
    uint32_t off_align = d->block_size, mem_align = d->block_size;

#ifdef STATX_DIOALIGN
    struct statx stx;

    if (statx(d->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
        (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align != 0) {
        if (stx.stx_dio_offset_align > off_align)
            off_align = stx.stx_dio_offset_align;
        if (stx.stx_dio_mem_align != 0)
            mem_align = stx.stx_dio_mem_align;
    }
#endif
    d->block_size = off_align;
    d->mem_align = mem_align;
}

/*
 * Whether discard can work, decided without touching data. A zero-length fallocate() is EINVAL
 * before any filesystem is asked, so for files we punch a hole just past the end of file (with
 * KEEP_SIZE): there is no data there to lose, and a filesystem without hole punching says
 * EOPNOTSUPP (some, XFS for one, still update the file's mtime: metadata, never data). Block
 * devices implement PUNCH_HOLE as a no-fallback zeroout that only the device can accept or refuse,
 * so they are offered and a refusal comes back per request as -EOPNOTSUPP. Write-zeroes is always
 * offered on a writable disk: the engine falls back to writing zeroes.
 */
static void probe_fallocate(struct disk *d)
{
    d->can_write_zeroes = !d->readonly;
    d->can_discard = !d->readonly;
    if (d->readonly || d->is_blockdev)
        return;
    if (fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)d->size, 4096) < 0 &&
        (errno == EOPNOTSUPP || errno == ENOSYS))
        d->can_discard = false;
}

static int image_size(struct disk *d, const struct stat *st, char *err, size_t errlen)
{
    if (d->is_blockdev) {
        int bsz;

        if (ioctl(d->fd, BLKGETSIZE64, &d->size) < 0 || ioctl(d->fd, BLKSSZGET, &bsz) < 0) {
            int e = errno;

            return fail(err, errlen, -e, "%s: cannot read the block device's geometry: %s", d->path,
                        strerror(e));
        }
        if (bsz < 512 || (bsz & (bsz - 1)) != 0)
            return fail(err, errlen, -EINVAL, "%s: odd logical block size %d; use a file image",
                        d->path, bsz);
        d->block_size = (uint32_t)bsz;
    } else {
        d->size = (uint64_t)st->st_size;
        d->block_size = 512;
    }
    if (d->size < MIN_SIZE)
        return fail(err, errlen, -EINVAL,
                    "%s: empty (%llu bytes, less than one 512-byte sector); grow it, e.g. "
                    "truncate -s 64M %s",
                    d->path, (unsigned long long)d->size, d->path);
    return 0;
}

static int lock_image(struct disk *d, char *err, size_t errlen)
{
    int e;

    if (flock(d->fd, (d->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0)
        return 0;
    if (errno == EWOULDBLOCK)
        return fail(err, errlen, -EBUSY,
                    "%s: in use by another process (it is locked); stop that VM, or add ,ro to "
                    "both to share it read-only",
                    d->path);
    e = errno;
    return fail(err, errlen, -e, "%s: cannot lock: %s", d->path, strerror(e));
}

int disk_options_check(const struct disk_options *opts, char *err, size_t errlen)
{
    if (!opts || !opts->path || !opts->path[0])
        return fail(err, errlen, -EINVAL, "disk: no path given");
    if (opts->serial && strlen(opts->serial) > DISK_SERIAL_MAX)
        return fail(err, errlen, -EINVAL, "%s: serial \"%s\" is longer than %d bytes; shorten it",
                    opts->path, opts->serial, DISK_SERIAL_MAX);
    return 0;
}

int disk_open(struct disk *d, const struct disk_options *opts, char *err, size_t errlen)
{
    struct stat st;
    int fl, rc;

    memset(d, 0, sizeof(*d));
    d->fd = -1;
    if (err && errlen)
        err[0] = '\0';
    if ((rc = disk_options_check(opts, err, errlen)))
        return rc;

    d->path = strdup(opts->path);
    if (!d->path)
        return fail(err, errlen, -ENOMEM, "%s: out of memory", opts->path);
    d->readonly = opts->readonly;
    d->direct = opts->cache == DISK_CACHE_NONE;
    d->engine = opts->engine;
    if (opts->serial)
        strcpy(d->serial, opts->serial);
    else
        default_serial(d->serial, opts->path);

    rc = open_image(opts, err, errlen);
    if (rc < 0)
        goto err_free;
    d->fd = rc;

    fl = fcntl(d->fd, F_GETFL);
    if (fl < 0 || fcntl(d->fd, F_SETFL, fl & ~O_NONBLOCK) < 0 || fstat(d->fd, &st) < 0) {
        int e = errno;

        rc = fail(err, errlen, -e, "%s: %s", d->path, strerror(e));
        goto err_close;
    }
    if (S_ISBLK(st.st_mode)) {
        d->is_blockdev = true;
    } else if (!S_ISREG(st.st_mode)) {
        rc = fail(err, errlen, -EINVAL, "%s: %s; a disk is a raw image file or a block device",
                  d->path,
                  S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file or block device");
        goto err_close;
    }
    /* Lock before measuring, so the size we report is not one another writer is changing. */
    rc = lock_image(d, err, errlen);
    if (rc < 0)
        goto err_close;
    rc = image_size(d, &st, err, errlen);
    if (rc < 0)
        goto err_close;
    d->mem_align = 1;
    if (d->direct)
        direct_alignment(d);
    probe_fallocate(d);
    return 0;

err_close:
    close(d->fd); /* also drops the lock */
    d->fd = -1;
err_free:
    free(d->path);
    d->path = NULL;
    return rc;
}

int disk_engine_parse(const char *name, enum disk_engine *out)
{
    if (!name || !*name)
        *out = DISK_ENGINE_AUTO;
    else if (!strcmp(name, "io_uring"))
        *out = DISK_ENGINE_IO_URING;
    else if (!strcmp(name, "threads"))
        *out = DISK_ENGINE_THREADS;
    else
        return -EINVAL;
    return 0;
}

struct disk disk_take(struct disk *d)
{
    struct disk taken = *d;

    d->fd = -1;
    d->path = NULL;
    return taken;
}

void disk_close(struct disk *d)
{
    if (!d)
        return;
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
    free(d->path);
    d->path = NULL;
}
