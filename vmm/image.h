/* SPDX-License-Identifier: MIT */
/* Files named on the command line, mapped and checked before the VM exists. */
#ifndef KVMINI_IMAGE_H
#define KVMINI_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/kernel_plan.h"

struct mapped_file {
    const char *path;
    void *data;
    size_t size;
};

struct boot_files {
    struct mapped_file kernel;
    struct mapped_file initrd; /* data NULL when there is none */
    struct kernel_plan plan;
    uint64_t initrd_addr;
};

/*
 * Maps the kernel (and initrd) and checks they can boot in mem_size bytes of RAM with this
 * command line. On failure prints one line and returns the process exit status to use
 * (EXIT_NO_FILE, EXIT_BAD_IMAGE, EXIT_USAGE); returns 0 on success.
 */
int boot_files_open(struct boot_files *files, const char *kernel, const char *initrd,
                    const char *cmdline, uint64_t mem_size);
void boot_files_close(struct boot_files *files);

#endif
