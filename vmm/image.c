// SPDX-License-Identifier: MIT
#include "vmm/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware/boot.h"
#include "firmware/bzimage.h"
#include "firmware/elf_load.h"
#include "firmware/layout.h"
#include "vmm/core/log.h"
#include "vmm/core/stop.h"

static int map_file(struct mapped_file *f, const char *path, const char *what)
{
    struct stat st;
    int fd, rc = 0;

    f->path = path;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_error("cannot open %s '%s': %s; check the path", what, path, strerror(errno));
        return EXIT_NO_FILE;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        log_error("%s '%s' is not a regular file; give the path of a file", what, path);
        rc = EXIT_NO_FILE;
        goto out;
    }
    if (st.st_size == 0) {
        log_error("%s '%s' is empty; give a %s image", what, path, what);
        rc = EXIT_BAD_IMAGE;
        goto out;
    }
    f->size = (size_t)st.st_size;
    /* Private and writable: libelf may touch what it reads; nothing reaches the file. */
    f->data = mmap(NULL, f->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (f->data == MAP_FAILED) {
        f->data = NULL;
        log_error("cannot map %s '%s': %s", what, path, strerror(errno));
        rc = EXIT_NO_FILE;
    }
out:
    close(fd);
    return rc;
}

static int plan_kernel(struct boot_files *files, const char *kernel, uint64_t ram_end)
{
    const struct mapped_file *k = &files->kernel;
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
    if ((rc = map_file(&files->kernel, kernel, "kernel")) ||
        (rc = plan_kernel(files, kernel, ram_end)))
        return rc;
    if ((rc = check_cmdline(cmdline, &files->plan)))
        return rc;
    if (!initrd)
        return 0;
    if ((rc = map_file(&files->initrd, initrd, "initrd")))
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

void boot_files_close(struct boot_files *files)
{
    if (files->kernel.data)
        munmap(files->kernel.data, files->kernel.size);
    if (files->initrd.data)
        munmap(files->initrd.data, files->initrd.size);
    memset(files, 0, sizeof(*files));
}
