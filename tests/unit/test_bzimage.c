// SPDX-License-Identifier: MIT
/* The bzImage loader against crafted headers: what Linux's boot protocol allows, and what not. */
#include <asm/bootparam.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/boot.h"
#include "firmware/bzimage.h"
#include "firmware/layout.h"
#include "tests/unit/unit.h"

#define RAM_END   (64ULL << 20)
#define SETUP     4 /* setup sectors */
#define KERNEL_AT ((SETUP + 1) * 512)
#define IMG_SIZE  (KERNEL_AT + 0x10000)

struct image {
    uint8_t bytes[IMG_SIZE];
    struct setup_header *h;
};

static void craft(struct image *im)
{
    memset(im, 0, sizeof(*im));
    im->h = (struct setup_header *)(im->bytes + 0x1f1);
    im->h->setup_sects = SETUP;
    im->h->boot_flag = 0xaa55;
    im->h->header = 0x53726448;
    im->h->version = 0x020f;
    im->h->loadflags = LOADED_HIGH;
    im->h->syssize = 0x10000 / 16;
    im->h->relocatable_kernel = 1;
    im->h->kernel_alignment = 0x200000;
    im->h->xloadflags = XLF_KERNEL_64;
    im->h->cmdline_size = 2047;
    im->h->initrd_addr_max = 0x7fffffff;
    im->h->pref_address = 0x1000000;
    im->h->init_size = 0x800000;
    im->bytes[0x201] = 0x6a; /* header length, as the jump at 0x200 encodes it */
    memset(im->bytes + KERNEL_AT, 0x90, 0x10000);
}

static int probe(struct image *im, size_t size, struct kernel_plan *plan, char *why)
{
    return bzimage_probe(im->bytes, size, RAM_END, plan, why, 256);
}

START_TEST(plans_a_valid_image)
{
    static struct image im;
    struct kernel_plan plan;
    char why[256];

    craft(&im);
    ck_assert(bzimage_is_bzimage(im.bytes, sizeof(im.bytes)));
    ck_assert_int_eq(probe(&im, sizeof(im.bytes), &plan, why), 0);
    ck_assert_int_eq(plan.kind, ENTRY_64);
    ck_assert_uint_eq(plan.seg[0].paddr, 0x1000000);
    ck_assert_uint_eq(plan.entry, 0x1000200);
    ck_assert_uint_eq(plan.seg[0].offset, KERNEL_AT);
    ck_assert_uint_eq(plan.seg[0].memsz, 0x800000); /* init_size, more than the file */
    ck_assert_uint_eq(plan.cmdline_max, 2047);
    ck_assert_uint_eq(plan.initrd_addr_max, 0x7fffffff);
    ck_assert_ptr_eq(plan.setup_header, im.bytes + 0x1f1);
    ck_assert_uint_eq(plan.setup_header_len, 0x202 + 0x6a - 0x1f1);

    /* An unaligned preferred address is rounded up to kernel_alignment. */
    im.h->pref_address = 0x1100000;
    ck_assert_int_eq(probe(&im, sizeof(im.bytes), &plan, why), 0);
    ck_assert_uint_eq(plan.seg[0].paddr, 0x1200000);
}
END_TEST

START_TEST(zero_page_keeps_the_kernel_header)
{
    static struct image im;
    static uint8_t ram[4 << 20];
    struct kernel_plan plan;
    struct gmem mem;
    char why[256];
    const struct boot_params *bp = (const void *)(ram + LAYOUT_BOOT_PARAMS);

    craft(&im);
    ck_assert_int_eq(probe(&im, sizeof(im.bytes), &plan, why), 0);
    gmem_init_fixed(&mem, 0, ram, sizeof(ram));
    struct boot_info info = {
        .cmdline = "console=ttyS0",
        .initrd_addr = 0x300000,
        .initrd_size = 0x1000,
        .rsdp_addr = LAYOUT_ACPI_RSDP,
        .setup_header = plan.setup_header,
        .setup_header_len = plan.setup_header_len,
    };
    ck_assert_int_eq(boot_write_tables(&mem, &info), 0);
    ck_assert_uint_eq(bp->hdr.version, 0x020f);      /* copied from the kernel */
    ck_assert_uint_eq(bp->hdr.init_size, 0x800000);  /* copied from the kernel */
    ck_assert_uint_eq(bp->hdr.type_of_loader, 0xff); /* ours */
    ck_assert_uint_eq(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
    ck_assert_uint_eq(bp->hdr.ramdisk_image, 0x300000);
    ck_assert_uint_eq(bp->hdr.ramdisk_size, 0x1000);
    ck_assert_uint_eq(bp->acpi_rsdp_addr, LAYOUT_ACPI_RSDP);
    ck_assert_uint_ge(bp->e820_entries, 3);
}
END_TEST

START_TEST(rejects_what_cannot_boot)
{
    static struct image im;
    struct kernel_plan plan;
    char why[256];

    craft(&im);
    ck_assert_int_eq(probe(&im, 0x300, &plan, why), -EINVAL); /* inside the header */
    ck_assert_int_eq(probe(&im, KERNEL_AT + 0x100, &plan, why), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "truncated"));

    /* A kernel part that ends before its 64-bit entry (found by fuzz_kernel): nothing to enter. */
    craft(&im);
    im.h->syssize = 0x100 / 16;
    im.h->init_size = 0x100;
    ck_assert_int_eq(probe(&im, KERNEL_AT + 0x100, &plan, why), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "too short to hold its 64-bit entry"));
    im.h->syssize = 0x200 / 16;
    ck_assert_int_eq(probe(&im, KERNEL_AT + 0x200, &plan, why), -EINVAL);
    im.h->syssize = 0x210 / 16;
    ck_assert_int_eq(probe(&im, KERNEL_AT + 0x210, &plan, why), 0);

    craft(&im);
    im.h->version = 0x0206;
    ck_assert_int_eq(probe(&im, sizeof(im.bytes), &plan, why), -ENOEXEC);
    ck_assert_ptr_nonnull(strstr(why, "2.12"));

    craft(&im);
    im.h->xloadflags = 0;
    ck_assert_int_eq(probe(&im, sizeof(im.bytes), &plan, why), -ENOEXEC);
    ck_assert_ptr_nonnull(strstr(why, "64-bit"));

    craft(&im);
    im.h->loadflags = 0;
    ck_assert_int_eq(probe(&im, sizeof(im.bytes), &plan, why), -ENOEXEC);

    craft(&im);
    im.h->init_size = 0xffffffff; /* needs 4 GiB */
    ck_assert_int_eq(probe(&im, sizeof(im.bytes), &plan, why), -ERANGE);
    ck_assert_ptr_nonnull(strstr(why, "--mem"));

    craft(&im);
    im.h->relocatable_kernel = 0;
    im.h->pref_address = 0x1000; /* over the boot tables */
    ck_assert_int_eq(probe(&im, sizeof(im.bytes), &plan, why), -ERANGE);

    craft(&im);
    im.h->pref_address = UINT64_MAX - 0x10; /* aligning it up wraps */
    ck_assert_int_eq(probe(&im, sizeof(im.bytes), &plan, why), -ERANGE);

    craft(&im);
    im.h->kernel_alignment = 0x300000;
    ck_assert_int_eq(probe(&im, sizeof(im.bytes), &plan, why), -EINVAL);

    craft(&im);
    im.h->syssize = 0xffffffff; /* payload far past the end of the file */
    ck_assert_int_eq(probe(&im, sizeof(im.bytes), &plan, why), -EINVAL);

    craft(&im);
    im.h->header = 0;
    ck_assert(!bzimage_is_bzimage(im.bytes, sizeof(im.bytes)));
    ck_assert_int_eq(probe(&im, sizeof(im.bytes), &plan, why), -ENOEXEC);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bzimage");
    TCase *tc = tcase_create("bzimage");

    tcase_add_test(tc, plans_a_valid_image);
    tcase_add_test(tc, zero_page_keeps_the_kernel_header);
    tcase_add_test(tc, rejects_what_cannot_boot);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
