/* SPDX-License-Identifier: MIT */
/*
 * Files named on the command line, read and checked before the VM exists. Nothing stays mapped:
 * the kernel is read into kvmini's own memory and the initrd straight into guest RAM, so a file
 * truncated or rewritten while kvmini starts gives a clear error, never a SIGBUS.
 */
#ifndef KVMINI_IMAGE_H
#define KVMINI_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/kernel_plan.h"
#include "vmm/mem/gmem.h"

struct boot_file {
    const char *path;
    void *data;  /* the kernel's bytes (malloc'd); NULL for the initrd, read at load time */
    size_t size; /* 0 when there is no such file */
    int fd;      /* the initrd, open until boot_files_load_initrd(); -1 otherwise */
};

struct boot_files {
    struct boot_file kernel;
    struct boot_file initrd;
    struct kernel_plan plan;
    uint64_t initrd_addr;
};

/*
 * Reads the kernel, opens the initrd, and checks they can boot in mem_size bytes of RAM with this
 * command line. On failure prints one line and returns the process exit status to use
 * (EXIT_NO_FILE, EXIT_BAD_IMAGE, EXIT_USAGE); returns 0 on success.
 */
int boot_files_open(struct boot_files *files, const char *kernel, const char *initrd,
                    const char *cmdline, uint64_t mem_size);

/*
 * Reads the initrd (if any) into mem at files->initrd_addr. 0, or the exit status after one line
 * (EXIT_BAD_IMAGE when the file shrank since boot_files_open()).
 */
int boot_files_load_initrd(struct boot_files *files, const struct gmem *mem);

void boot_files_close(struct boot_files *files);

#endif
