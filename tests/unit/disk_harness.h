/* SPDX-License-Identifier: MIT */
/*
 * What test_disk_open and test_disk_aio share: temporary files on real filesystems and a shorter
 * disk_open(). The helpers ck_assert, so they may only be called from inside a test.
 */
#ifndef KVMINI_TESTS_UNIT_DISK_HARNESS_H
#define KVMINI_TESTS_UNIT_DISK_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "devices/disk/disk.h"

#define BLK   4096u
#define NBLK  256u
#define FSIZE ((uint64_t)BLK * NBLK) /* 1 MiB */

/* Temporary files of the running test, removed by the fixture even when an assertion fails. */
extern char tmp_paths[8][PATH_MAX];

/* $TMPDIR, or /tmp. */
const char *tmp_dir(void);
/* A new file of size bytes and the given mode in dir, listed in tmp_paths; at most 8 per test. */
const char *make_file_in(const char *dir, uint64_t size, mode_t mode);
/* make_file_in(tmp_dir(), size, 0600). */
const char *make_file(uint64_t size);
/* Removes the running test's tmp_paths (files or empty directories): the tcases' fixture. */
void tmp_cleanup(void);
/* disk_open() with its options as arguments. */
int open_disk(struct disk *d, const char *path, bool ro, enum disk_cache cache, const char *serial,
              char *err, size_t errlen);

#endif
