// SPDX-License-Identifier: MIT
/*
 * The host disk backend's disk_open() on real temporary files (shared helpers: disk_harness.h):
 * what it accepts and refuses, its one-line messages, its locks and the disk's serial.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/disk/disk.h"
#include "tests/unit/disk_harness.h"
#include "tests/unit/unit.h"

/* err is one line that names the file. */
static void assert_message(const char *err, const char *path, const char *hint)
{
    ck_assert_msg(strstr(err, path) != NULL, "message does not name %s: %s", path, err);
    ck_assert_msg(strchr(err, '\n') == NULL, "message is not one line: %s", err);
    if (hint)
        ck_assert_msg(strstr(err, hint) != NULL, "message lacks \"%s\": %s", hint, err);
}

START_TEST(open_regular_file)
{
    const char *path = make_file(FSIZE + 100);
    struct disk d;
    char err[256];

    ck_assert_int_eq(open_disk(&d, path, false, DISK_CACHE_WRITEBACK, NULL, err, sizeof(err)), 0);
    ck_assert_int_ge(d.fd, 0);
    ck_assert_str_eq(d.path, path);
    ck_assert(!d.readonly && !d.direct && !d.is_blockdev);
    ck_assert_uint_eq(d.size, FSIZE + 100); /* not rounded: that is the device's job */
    ck_assert_uint_eq(d.block_size, 512);
    ck_assert_uint_eq(d.mem_align, 1);
    ck_assert(d.can_write_zeroes);
    ck_assert_str_eq(d.serial, strrchr(path, '/') + 1);
    ck_assert_int_eq(fcntl(d.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    ck_assert_int_eq(fcntl(d.fd, F_GETFL) & O_NONBLOCK, 0);
    disk_close(&d);
    ck_assert_int_eq(d.fd, -1);
    disk_close(&d); /* idempotent */

    ck_assert_int_eq(open_disk(&d, path, true, DISK_CACHE_WRITEBACK, NULL, err, sizeof(err)), 0);
    ck_assert(d.readonly && !d.can_discard && !d.can_write_zeroes);
    disk_close(&d);
}
END_TEST

START_TEST(open_errors)
{
    const char *path;
    struct disk d;
    char err[256], missing[PATH_MAX + 32];

    snprintf(missing, sizeof(missing), "%s/kvmini-no-such-disk-%d.img", tmp_dir(), (int)getpid());
    ck_assert_int_eq(open_disk(&d, missing, false, 0, NULL, err, sizeof(err)), -ENOENT);
    assert_message(err, missing, NULL);
    ck_assert_ptr_null(d.path);

    ck_assert_int_eq(open_disk(&d, tmp_dir(), false, 0, NULL, err, sizeof(err)), -EINVAL);
    assert_message(err, tmp_dir(), "directory");
    ck_assert_int_eq(open_disk(&d, tmp_dir(), true, 0, NULL, err, sizeof(err)), -EINVAL);
    assert_message(err, tmp_dir(), "directory");

    ck_assert_int_eq(open_disk(&d, "/dev/null", false, 0, NULL, err, sizeof(err)), -EINVAL);
    assert_message(err, "/dev/null", "block device");

    path = make_file(0);
    ck_assert_int_eq(open_disk(&d, path, false, 0, NULL, err, sizeof(err)), -EINVAL);
    assert_message(err, path, "empty");
    path = make_file(511);
    ck_assert_int_eq(open_disk(&d, path, true, 0, NULL, err, sizeof(err)), -EINVAL);
    assert_message(err, path, "empty");
    path = make_file(512);
    ck_assert_int_eq(open_disk(&d, path, true, 0, NULL, err, sizeof(err)), 0);
    disk_close(&d);

    ck_assert_int_eq(open_disk(&d, "", false, 0, NULL, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(open_fifo_does_not_hang)
{
    char path[PATH_MAX];
    struct disk d;
    char err[256];

    snprintf(path, sizeof(path), "%s/kvmini-fifo-%d", tmp_dir(), (int)getpid());
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert_int_eq(open_disk(&d, path, true, 0, NULL, err, sizeof(err)), -EINVAL);
    assert_message(err, path, NULL);
    unlink(path);
}
END_TEST

START_TEST(open_read_only_file)
{
    const char *path = make_file_in(tmp_dir(), FSIZE, 0444);
    struct disk d;
    char err[256];

    /* Root opens 0444 files for writing anyway; the rest of the test still holds. */
    if (geteuid() != 0) {
        ck_assert_int_eq(open_disk(&d, path, false, 0, NULL, err, sizeof(err)), -EROFS);
        assert_message(err, path, ",ro");
    } else {
        fprintf(stderr,
                "test_disk_open: running as root: the -EROFS check on a 0444 file is skipped\n");
    }
    ck_assert_int_eq(open_disk(&d, path, true, 0, NULL, err, sizeof(err)), 0);
    disk_close(&d);
}
END_TEST

START_TEST(locks)
{
    const char *path = make_file(FSIZE);
    struct disk a, b, c;
    char err[256];

    ck_assert_int_eq(open_disk(&a, path, false, 0, NULL, err, sizeof(err)), 0);
    /* flock() belongs to the open file description, so a second open conflicts even here. */
    ck_assert_int_eq(open_disk(&b, path, false, 0, NULL, err, sizeof(err)), -EBUSY);
    assert_message(err, path, "in use by another process");
    ck_assert_int_eq(open_disk(&b, path, true, 0, NULL, err, sizeof(err)), -EBUSY);
    assert_message(err, path, ",ro");
    disk_close(&a);

    ck_assert_int_eq(open_disk(&a, path, true, 0, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(open_disk(&b, path, true, 0, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(open_disk(&c, path, false, 0, NULL, err, sizeof(err)), -EBUSY);
    disk_close(&a);
    disk_close(&b);

    /* Closing released the locks. */
    ck_assert_int_eq(open_disk(&c, path, false, 0, NULL, err, sizeof(err)), 0);
    disk_close(&c);
}
END_TEST

START_TEST(serials)
{
    char dir[PATH_MAX], path[PATH_MAX + 64];
    struct disk d;
    char err[256];
    int fd;

    ck_assert_int_eq(open_disk(&d, make_file(FSIZE), false, 0, "vol-0001", err, sizeof(err)), 0);
    ck_assert_str_eq(d.serial, "vol-0001");
    disk_close(&d);

    ck_assert_int_eq(
        open_disk(&d, tmp_paths[0], false, 0, "12345678901234567890", err, sizeof(err)), 0);
    ck_assert_str_eq(d.serial, "12345678901234567890");
    disk_close(&d);

    ck_assert_int_eq(
        open_disk(&d, tmp_paths[0], false, 0, "123456789012345678901", err, sizeof(err)), -EINVAL);
    assert_message(err, tmp_paths[0], "serial");

    /* The default is the basename, cut to 20 bytes, never inside a UTF-8 character. */
    snprintf(dir, sizeof(dir), "%s/kvmini-dir-XXXXXX", tmp_dir());
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/a-rather-long-disk-image-name.img", dir);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 4096), 0);
    close(fd);
    ck_assert_int_eq(open_disk(&d, path, true, 0, NULL, err, sizeof(err)), 0);
    ck_assert_str_eq(d.serial, "a-rather-long-disk-i");
    disk_close(&d);
    unlink(path);

    snprintf(path, sizeof(path), "%s/0123456789012345678\xc3\xa9.img", dir); /* é at 19..20 */
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 4096), 0);
    close(fd);
    ck_assert_int_eq(open_disk(&d, path, true, 0, NULL, err, sizeof(err)), 0);
    ck_assert_str_eq(d.serial, "0123456789012345678");
    disk_close(&d);
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *disk_open_suite(void)
{
    Suite *s = suite_create("disk open");
    TCase *open_tc = tcase_create("open");

    tcase_add_checked_fixture(open_tc, NULL, tmp_cleanup);
    tcase_add_test(open_tc, open_regular_file);
    tcase_add_test(open_tc, open_errors);
    tcase_add_test(open_tc, open_fifo_does_not_hang);
    tcase_add_test(open_tc, open_read_only_file);
    tcase_add_test(open_tc, locks);
    tcase_add_test(open_tc, serials);
    suite_add_tcase(s, open_tc);
    return s;
}

int main(void)
{
    return run_suite(disk_open_suite());
}
