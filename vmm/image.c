// SPDX-License-Identifier: MIT
#include "vmm/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware/boot.h"
#include "firmware/bzimage.h"
#include "firmware/elf_load.h"
#include "firmware/layout.h"
#include "vmm/core/log.h"
#include "vmm/core/stop.h"

/* Reads len bytes at off; the number read, short only when the file ended early, or -errno. */
static ssize_t read_at(int fd, void *buf, size_t len, off_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, off + (off_t)done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* A file shrank (or could not be read) after kvmini measured it: one line, EXIT_BAD_IMAGE. */
static int read_failed(const struct boot_file *f, const char *what, ssize_t got)
{
    if (got < 0)
        log_error("cannot read %s '%s': %s", what, f->path, strerror((int)-got));
    else
        log_error("%s '%s' shrank while kvmini read it (%zd of %zu bytes); do not change it while "
                  "kvmini starts",
                  what, f->path, got, f->size);
    return EXIT_BAD_IMAGE;
}

/* Opens a regular, non-empty file and measures it; the fd stays open in f. */
static int open_file(struct boot_file *f, const char *path, const char *what)
{
    struct stat st;

    f->path = path;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        log_error("cannot open %s '%s': %s; check the path", what, path, strerror(errno));
        return EXIT_NO_FILE;
    }
    if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        log_error("%s '%s' is not a regular file; give the path of a file", what, path);
        return EXIT_NO_FILE;
    }
    if (st.st_size == 0) {
        log_error("%s '%s' is empty; give a %s image", what, path, what);
        return EXIT_BAD_IMAGE;
    }
    f->size = (size_t)st.st_size;
    return 0;
}

/* The whole kernel into kvmini's own memory: libelf and the loaders then read no file. */
static int read_kernel(struct boot_file *k, const char *path)
{
    ssize_t got;
    int rc;

    if ((rc = open_file(k, path, "kernel")))
        return rc;
    k->data = malloc(k->size);
    if (!k->data) {
        log_error("kernel '%s' (%zu MiB) does not fit in kvmini's memory", path, k->size >> 20);
        return EXIT_VMM_ERROR;
    }
    got = read_at(k->fd, k->data, k->size, 0);
    close(k->fd);
    k->fd = -1;
    return got == (ssize_t)k->size ? 0 : read_failed(k, "kernel", got);
}

static int plan_kernel(struct boot_files *files, const char *kernel, uint64_t ram_end)
{
    const struct boot_file *k = &files->kernel;
    char why[256];
    int rc;

    if (elf_is_elf(k->data, k->size))
        rc = elf_probe(k->data, k->size, ram_end, &files->plan, why, sizeof(why));
    else if (bzimage_is_bzimage(k->data, k->size))
        rc = bzimage_probe(k->data, k->size, ram_end, &files->plan, why, sizeof(why));
    else {
        snprintf(why, sizeof(why), "neither an ELF64 kernel nor a bzImage");
        rc = -ENOEXEC;
    }
    if (rc) {
        log_error("kernel '%s' is not a kernel kvmini can boot: %s", kernel, why);
        return EXIT_BAD_IMAGE;
    }
    return 0;
}

/*
 * The one place that computes how long --append may be: what kvmini passes (LAYOUT_CMDLINE_MAX,
 * with its NUL), or less if the kernel says so (a bzImage's cmdline_size).
 */
static int check_cmdline(const char *cmdline, const struct kernel_plan *plan)
{
    size_t len = cmdline ? strlen(cmdline) : 0;

    if (plan->cmdline_max && plan->cmdline_max < LAYOUT_CMDLINE_MAX - 1 &&
        len > plan->cmdline_max) {
        log_error("--append is %zu bytes; this kernel accepts at most %llu; shorten it", len,
                  (unsigned long long)plan->cmdline_max);
        return EXIT_USAGE;
    }
    if (len > LAYOUT_CMDLINE_MAX - 1) {
        log_error("--append is %zu bytes, longer than the %d kvmini passes; shorten it", len,
                  LAYOUT_CMDLINE_MAX - 1);
        return EXIT_USAGE;
    }
    return 0;
}

int boot_files_open(struct boot_files *files, const char *kernel, const char *initrd,
                    const char *cmdline, uint64_t mem_size)
{
    uint64_t ram_end = mem_size < LAYOUT_MMIO_HOLE_START ? mem_size : LAYOUT_MMIO_HOLE_START;
    uint64_t initrd_limit = ram_end;
    int rc;

    memset(files, 0, sizeof(*files));
    files->kernel.fd = files->initrd.fd = -1;
    if ((rc = read_kernel(&files->kernel, kernel)) || (rc = plan_kernel(files, kernel, ram_end)))
        return rc;
    if ((rc = check_cmdline(cmdline, &files->plan)))
        return rc;
    if (!initrd)
        return 0;
    if ((rc = open_file(&files->initrd, initrd, "initrd")))
        return rc;
    /* Below what the kernel can reach (bzImage says), and below 2 GiB as Linux prefers. */
    if (files->plan.initrd_addr_max && files->plan.initrd_addr_max < initrd_limit - 1)
        initrd_limit = files->plan.initrd_addr_max + 1;
    if (initrd_limit > 0x80000000)
        initrd_limit = 0x80000000;
    files->initrd_addr = boot_place_high(files->plan.highest, initrd_limit, files->initrd.size);
    if (!files->initrd_addr) {
        log_error("initrd '%s' (%zu KiB) does not fit in guest RAM above the kernel; give more "
                  "--mem",
                  initrd, files->initrd.size >> 10);
        return EXIT_BAD_IMAGE;
    }
    return 0;
}

int boot_files_load_initrd(struct boot_files *files, const struct gmem *mem)
{
    struct boot_file *f = &files->initrd;
    void *dst;
    ssize_t got;

    if (f->fd < 0)
        return 0;
    dst = gmem_ptr(mem, files->initrd_addr, f->size);
    if (!dst) {
        log_error("initrd '%s' does not fit in guest memory; give more --mem", f->path);
        return EXIT_BAD_IMAGE;
    }
    got = read_at(f->fd, dst, f->size, 0);
    close(f->fd);
    f->fd = -1;
    return got == (ssize_t)f->size ? 0 : read_failed(f, "initrd", got);
}

void boot_files_close(struct boot_files *files)
{
    free(files->kernel.data);
    if (files->kernel.fd >= 0)
        close(files->kernel.fd);
    if (files->initrd.fd >= 0)
        close(files->initrd.fd);
    memset(files, 0, sizeof(*files));
    files->kernel.fd = files->initrd.fd = -1;
}
