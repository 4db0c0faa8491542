// SPDX-License-Identifier: MIT
/* The core's pure parts: bus registration and dispatch, guest-memory range checks, stop codes. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/core/bus.h"
#include "vmm/mem/gmem.h"
#include "vmm/core/stop.h"
#include "tests/unit/unit.h"

struct probe {
    uint64_t off;
    uint32_t len;
    bool is_write;
    int calls;
};

static void probe_io(void *dev, uint64_t off, void *data, uint32_t len, bool is_write)
{
    struct probe *p = dev;

    p->off = off;
    p->len = len;
    p->is_write = is_write;
    p->calls++;
    if (!is_write)
        memset(data, 0x5a, len);
}

START_TEST(bus_rejects_overlaps)
{
    struct bus bus;
    struct probe p = { 0 };

    bus_init(&bus, "test");
    ck_assert_int_eq(bus_add(&bus, 0x100, 0x10, probe_io, &p, "a"), 0);
    ck_assert_int_eq(bus_add(&bus, 0x200, 0x10, probe_io, &p, "b"), 0);
    ck_assert_int_eq(bus_add(&bus, 0x10f, 1, probe_io, &p, "end"), -EEXIST);
    ck_assert_int_eq(bus_add(&bus, 0xf0, 0x11, probe_io, &p, "start"), -EEXIST);
    ck_assert_int_eq(bus_add(&bus, 0x0, 0x1000, probe_io, &p, "around"), -EEXIST);
    ck_assert_int_eq(bus_add(&bus, 0x205, 1, probe_io, &p, "inside"), -EEXIST);
    ck_assert_int_eq(bus_add(&bus, 0x110, 0xf0, probe_io, &p, "gap"), 0); /* exactly fills */
    ck_assert_int_eq(bus_add(&bus, 0x300, 0, probe_io, &p, "empty"), -EINVAL);
    ck_assert_int_eq(bus_add(&bus, UINT64_MAX, 2, probe_io, &p, "wrap"), -EINVAL);
    ck_assert_int_eq(bus_add(&bus, UINT64_MAX - 1, 1, probe_io, &p, "top"), 0);
    bus_freeze(&bus);
    ck_assert_int_eq(bus_add(&bus, 0x1000, 1, probe_io, &p, "late"), -EPERM);
    bus_fini(&bus);
}
END_TEST

START_TEST(bus_del_removes_exactly_one)
{
    struct bus bus;
    struct probe p = { 0 };

    bus_init(&bus, "test");
    ck_assert_int_eq(bus_add(&bus, 0x60, 1, probe_io, &p, "data"), 0);
    ck_assert_int_eq(bus_add(&bus, 0x64, 1, probe_io, &p, "cmd"), 0);
    ck_assert_int_eq(bus_del(&bus, 0x61), -ENOENT); /* not the start of a range */
    ck_assert_int_eq(bus_del(&bus, 0x60), 0);
    ck_assert_int_eq(bus_del(&bus, 0x60), -ENOENT);
    ck_assert_ptr_null(bus_find(&bus, 0x60));
    ck_assert_str_eq(bus_find(&bus, 0x64)->name, "cmd");
    ck_assert_int_eq(bus_add(&bus, 0x60, 4, probe_io, &p, "again"), 0); /* the space is free */
    bus_freeze(&bus);
    ck_assert_int_eq(bus_del(&bus, 0x60), -EPERM);
    bus_fini(&bus);
}
END_TEST

START_TEST(bus_dispatches_offsets)
{
    struct bus bus;
    struct probe a = { 0 }, b = { 0 };
    uint32_t v = 0;

    bus_init(&bus, "test");
    for (int i = 0; i < 40; i++) /* enough to make the table grow */
        ck_assert_int_eq(bus_add(&bus, 0x10000 + i * 0x100, 0x10, probe_io, &a, "many"), 0);
    ck_assert_int_eq(bus_add(&bus, 0x3f8, 8, probe_io, &b, "uart"), 0);
    bus_freeze(&bus);

    ck_assert_int_eq(bus_access(&bus, 0x3fd, &v, 1, false), 0);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_uint_eq(b.off, 5);
    ck_assert_uint_eq(v & 0xff, 0x5a);
    ck_assert_int_eq(bus_access(&bus, 0x10000 + 7 * 0x100 + 4, &v, 4, true), 0);
    ck_assert_uint_eq(a.off, 4);
    ck_assert(a.is_write);
    ck_assert_str_eq(bus_find(&bus, 0x3f8)->name, "uart");
    ck_assert_ptr_null(bus_find(&bus, 0x400));
    bus_fini(&bus);
}
END_TEST

START_TEST(bus_unclaimed_reads_all_ones)
{
    struct bus bus;
    struct probe p = { 0 };
    uint64_t v = 0;

    bus_init(&bus, "test");
    ck_assert_int_eq(bus_add(&bus, 0x1000, 4, probe_io, &p, "reg"), 0);
    ck_assert_int_eq(bus_access(&bus, 0x2000, &v, 8, false), -ENOENT);
    ck_assert_uint_eq(v, UINT64_MAX);
    /* Straddling the end of a range: nobody owns the whole access. */
    v = 0;
    ck_assert_int_eq(bus_access(&bus, 0x1002, &v, 4, false), -ENOENT);
    ck_assert_uint_eq(v, UINT64_MAX >> 32);
    ck_assert_int_eq(bus_access(&bus, 0x1000, &v, 8, true), -ENOENT);
    ck_assert_int_eq(p.calls, 0);
    bus_fini(&bus);
}
END_TEST

START_TEST(gmem_checks_whole_range)
{
    static uint8_t ram[0x4000];
    struct gmem m;

    gmem_init_fixed(&m, 0x10000, ram, sizeof(ram));
    ck_assert_ptr_eq(gmem_ptr(&m, 0x10000, sizeof(ram)), ram);
    ck_assert_ptr_eq(gmem_ptr(&m, 0x13fff, 1), ram + 0x3fff);
    ck_assert_ptr_null(gmem_ptr(&m, 0x13fff, 2));              /* runs off the end */
    ck_assert_ptr_null(gmem_ptr(&m, 0xffff, 2));               /* starts before */
    ck_assert_ptr_null(gmem_ptr(&m, 0x14000, 0));              /* one past the end */
    ck_assert_ptr_null(gmem_ptr(&m, 0x10010, UINT64_MAX));     /* length wraps */
    ck_assert_ptr_null(gmem_ptr(&m, UINT64_MAX, 2));           /* address wraps */
    ck_assert_ptr_null(gmem_ptr(&m, UINT64_MAX - 0x10, 0x20)); /* sum wraps */
    ck_assert_ptr_eq(gmem_ptr(&m, 0x12000, 0), ram + 0x2000);
    ck_assert_int_eq(gmem_write(&m, 0x13ffe, "abc", 3), -EFAULT);
    ck_assert_int_eq(gmem_write(&m, 0x13ffd, "abc", 3), 0);
    ck_assert_mem_eq(ram + 0x3ffd, "abc", 3);
}
END_TEST

START_TEST(gmem_splits_around_the_hole)
{
    struct gmem m;

    ck_assert_int_eq(gmem_init(&m, 0), -EINVAL);
    ck_assert_int_eq(gmem_init(&m, 4097), -EINVAL);
    ck_assert_int_eq(gmem_init(&m, 4ULL << 30), 0);
    ck_assert_uint_eq(m.nr, 2);
    ck_assert_uint_eq(m.regions[0].gpa, 0);
    ck_assert_uint_eq(m.regions[0].size, 3ULL << 30);
    ck_assert_uint_eq(m.regions[1].gpa, 4ULL << 30);
    ck_assert_uint_eq(m.regions[1].size, 1ULL << 30);
    ck_assert_uint_eq(gmem_low_end(&m), 3ULL << 30);
    ck_assert_ptr_null(gmem_ptr(&m, 0xd0000000ULL, 4));    /* the hole is not RAM */
    ck_assert_ptr_null(gmem_ptr(&m, (3ULL << 30) - 4, 8)); /* no access across the hole */
    ck_assert_ptr_nonnull(gmem_ptr(&m, (5ULL << 30) - 8, 8));
    ck_assert_ptr_null(gmem_ptr(&m, (5ULL << 30) - 8, 9));
    gmem_fini(&m);

    ck_assert_int_eq(gmem_init(&m, 128ULL << 20), 0);
    ck_assert_uint_eq(m.nr, 1);
    gmem_fini(&m);
}
END_TEST

START_TEST(stop_codes_are_distinct)
{
    ck_assert_int_eq(stop_exit_status(STOP_GUEST_EXIT, 7), 7);
    ck_assert_int_eq(stop_exit_status(STOP_GUEST_EXIT, 0x1ff), 0xff);
    ck_assert_int_eq(stop_exit_status(STOP_POWEROFF, 0), 0);
    ck_assert_int_eq(stop_exit_status(STOP_RESET, 0), 0);
    ck_assert_int_eq(stop_exit_status(STOP_TRIPLE_FAULT, 0), EXIT_TRIPLE_FAULT);
    ck_assert_int_eq(stop_exit_status(STOP_GUEST_ERROR, 0), EXIT_GUEST_ERROR);
    ck_assert_int_eq(stop_exit_status(STOP_ENTRY_FAILED, 0), EXIT_ENTRY_FAILED);
    ck_assert_int_eq(stop_exit_status(STOP_SIGNAL, 15), 143);
    ck_assert_int_eq(stop_exit_status(STOP_NO_EXITS, 0), EXIT_NO_EXITS);
    ck_assert_int_ne(EXIT_NO_EXITS, EXIT_GUEST_PANIC);
    ck_assert_str_eq(stop_cause_name(STOP_NO_EXITS), "no VM exit on a PVM host");
    ck_assert_str_eq(stop_cause_name(STOP_TRIPLE_FAULT), "guest triple fault");
    ck_assert_str_eq(stop_cause_name((enum stop_cause)99), "unknown");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, bus_rejects_overlaps);
    tcase_add_test(tc, bus_del_removes_exactly_one);
    tcase_add_test(tc, bus_dispatches_offsets);
    tcase_add_test(tc, bus_unclaimed_reads_all_ones);
    tcase_add_test(tc, gmem_checks_whole_range);
    tcase_add_test(tc, gmem_splits_around_the_hole);
    tcase_add_test(tc, stop_codes_are_distinct);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
