// SPDX-License-Identifier: MIT
/* Temporary files and disk_open() for the disk tests (disk_harness.h). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/disk_harness.h"

char tmp_paths[8][PATH_MAX];
static int ntmp;

const char *tmp_dir(void)
{
    const char *d = getenv("TMPDIR");

    return d && *d ? d : "/tmp";
}

const char *make_file_in(const char *dir, uint64_t size, mode_t mode)
{
    char *p;
    int fd;

    ck_assert_int_lt(ntmp, 8);
    p = tmp_paths[ntmp++];
    snprintf(p, PATH_MAX, "%s/kvmini-disk-XXXXXX", dir);
    fd = mkstemp(p);
    ck_assert_msg(fd >= 0, "mkstemp in %s: %s", dir, strerror(errno));
    ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
    ck_assert_int_eq(fchmod(fd, mode), 0);
    close(fd);
    return p;
}

const char *make_file(uint64_t size)
{
    return make_file_in(tmp_dir(), size, 0600);
}

void tmp_cleanup(void)
{
    while (ntmp > 0) {
        ntmp--;
        unlink(tmp_paths[ntmp]);
        rmdir(tmp_paths[ntmp]);
    }
}

int open_disk(struct disk *d, const char *path, bool ro, enum disk_cache cache, const char *serial,
              char *err, size_t errlen)
{
    struct disk_options o = { .path = path, .readonly = ro, .cache = cache, .serial = serial };

    return disk_open(d, &o, err, errlen);
}
