// SPDX-License-Identifier: MIT
/* The ELF loader against crafted files: each hostile shape must be refused with a reason. */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/boot.h"
#include "firmware/elf_load.h"
#include "firmware/layout.h"
#include "tests/unit/unit.h"

#define RAM_END   (16ULL << 20)
#define FILE_SIZE 0x3000

struct crafted {
    uint8_t bytes[FILE_SIZE];
    Elf64_Ehdr *eh;
    Elf64_Phdr *ph;
};

/* A valid image: one 4 KiB PT_LOAD at 1 MiB holding the entry, plus an optional note. */
static void craft(struct crafted *c, int nr_phdrs)
{
    memset(c, 0, sizeof(*c));
    c->eh = (Elf64_Ehdr *)c->bytes;
    c->ph = (Elf64_Phdr *)(c->bytes + sizeof(Elf64_Ehdr));
    memcpy(c->eh->e_ident, ELFMAG, SELFMAG);
    c->eh->e_ident[EI_CLASS] = ELFCLASS64;
    c->eh->e_ident[EI_DATA] = ELFDATA2LSB;
    c->eh->e_ident[EI_VERSION] = EV_CURRENT;
    c->eh->e_type = ET_EXEC;
    c->eh->e_machine = EM_X86_64;
    c->eh->e_version = EV_CURRENT;
    c->eh->e_entry = 0x100010;
    c->eh->e_phoff = sizeof(Elf64_Ehdr);
    c->eh->e_ehsize = sizeof(Elf64_Ehdr);
    c->eh->e_phentsize = sizeof(Elf64_Phdr);
    c->eh->e_phnum = (uint16_t)nr_phdrs;
    c->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD,
                             .p_flags = PF_R | PF_X,
                             .p_offset = 0x1000,
                             .p_paddr = 0x100000,
                             .p_vaddr = 0x100000,
                             .p_filesz = 0x1000,
                             .p_memsz = 0x2000,
                             .p_align = 0x1000 };
    memset(c->bytes + 0x1000, 0x90, 0x1000);
}

/* Appends a note (name, type, desc) at file offset 0x2000 and describes it with phdr idx. */
static void add_note(struct crafted *c, int idx, const char *name, uint32_t type, const void *desc,
                     uint32_t descsz)
{
    uint32_t namesz = (uint32_t)strlen(name) + 1;
    uint8_t *p = c->bytes + 0x2000;
    uint32_t hdr[3] = { namesz, descsz, type };

    memcpy(p, hdr, sizeof(hdr));
    memcpy(p + 12, name, namesz);
    memcpy(p + 12 + ((namesz + 3) & ~3u), desc, descsz);
    c->ph[idx] = (Elf64_Phdr){ .p_type = PT_NOTE,
                               .p_offset = 0x2000,
                               .p_filesz = 12 + ((namesz + 3) & ~3u) + ((descsz + 3) & ~3u),
                               .p_align = 4 };
}

static int probe(struct crafted *c, size_t size, struct kernel_plan *plan, char *why)
{
    return elf_probe(c->bytes, size, RAM_END, plan, why, 256);
}

START_TEST(accepts_a_plain_image)
{
    struct crafted c;
    struct kernel_plan plan;
    char why[256];
    static uint8_t ram[RAM_END];
    struct gmem mem;

    craft(&c, 1);
    ck_assert_int_eq(probe(&c, sizeof(c.bytes), &plan, why), 0);
    ck_assert_int_eq(plan.kind, ENTRY_64);
    ck_assert_uint_eq(plan.entry, 0x100010);
    ck_assert_uint_eq(plan.highest, 0x102000);

    memset(ram, 0xcc, sizeof(ram));
    gmem_init_fixed(&mem, 0, ram, sizeof(ram));
    ck_assert_int_eq(kernel_plan_load(&plan, c.bytes, &mem), 0);
    ck_assert_uint_eq(ram[0x100000], 0x90);
    ck_assert_uint_eq(ram[0x101fff], 0); /* BSS zeroed */
    ck_assert_uint_eq(ram[0x102000], 0xcc);
}
END_TEST

START_TEST(notes_choose_the_entry)
{
    struct crafted c;
    struct kernel_plan plan;
    char why[256];
    uint32_t pvh = 0x100020;
    uint64_t kvmini[2] = { 0x100040, KVMINI_NOTE_F_ALL_VCPUS };

    craft(&c, 2);
    add_note(&c, 1, "Xen", 18, &pvh, sizeof(pvh));
    ck_assert_int_eq(probe(&c, sizeof(c.bytes), &plan, why), 0);
    ck_assert_int_eq(plan.kind, ENTRY_PVH);
    ck_assert_uint_eq(plan.entry, 0x100020);

    craft(&c, 2);
    add_note(&c, 1, KVMINI_NOTE_NAME, KVMINI_NOTE_ENTRY64, kvmini, sizeof(kvmini));
    ck_assert_int_eq(probe(&c, sizeof(c.bytes), &plan, why), 0);
    ck_assert_int_eq(plan.kind, ENTRY_64);
    ck_assert_uint_eq(plan.entry, 0x100040);
    ck_assert_uint_eq(plan.note_flags, KVMINI_NOTE_F_ALL_VCPUS);
}
END_TEST

START_TEST(rejects_hostile_files)
{
    struct crafted c;
    struct kernel_plan plan;
    char why[256];
    uint32_t pvh_outside = 0x900000;

    craft(&c, 1);
    ck_assert_int_eq(probe(&c, 3, &plan, why), -ENOEXEC);     /* shorter than the magic */
    ck_assert_int_ne(probe(&c, 0x80, &plan, why), 0);         /* truncated inside the headers */
    ck_assert_int_eq(probe(&c, 0x1800, &plan, why), -EINVAL); /* segment past end of file */
    ck_assert_ptr_nonnull(strstr(why, "past the end of the file"));

    craft(&c, 1);
    c.eh->e_machine = EM_AARCH64;
    ck_assert_int_eq(probe(&c, sizeof(c.bytes), &plan, why), -ENOEXEC);
    ck_assert_ptr_nonnull(strstr(why, "another architecture"));

    craft(&c, 1);
    c.eh->e_ident[EI_CLASS] = ELFCLASS32;
    ck_assert_int_eq(probe(&c, sizeof(c.bytes), &plan, why), -ENOEXEC);

    craft(&c, 1);
    c.eh->e_entry = 0x200000;
    ck_assert_int_eq(probe(&c, sizeof(c.bytes), &plan, why), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "entry point"));

    craft(&c, 1);
    c.ph[0].p_paddr = 0x7000; /* over the boot tables */
    ck_assert_int_eq(probe(&c, sizeof(c.bytes), &plan, why), -ERANGE);
    ck_assert_ptr_nonnull(strstr(why, "firmware area"));

    craft(&c, 1);
    c.ph[0].p_memsz = RAM_END; /* does not fit */
    ck_assert_int_eq(probe(&c, sizeof(c.bytes), &plan, why), -ERANGE);
    ck_assert_ptr_nonnull(strstr(why, "--mem"));

    craft(&c, 1);
    c.ph[0].p_paddr = UINT64_MAX - 0x100; /* wraps */
    ck_assert_int_eq(probe(&c, sizeof(c.bytes), &plan, why), -ERANGE);

    craft(&c, 1);
    c.ph[0].p_offset = UINT64_MAX - 0x10; /* offset + size wraps */
    ck_assert_int_eq(probe(&c, sizeof(c.bytes), &plan, why), -EINVAL);

    craft(&c, 1);
    c.ph[0].p_filesz = 0x3000; /* file part larger than memory part */
    ck_assert_int_eq(probe(&c, sizeof(c.bytes), &plan, why), -EINVAL);

    craft(&c, 2);
    c.ph[1] = c.ph[0];
    c.ph[1].p_paddr = 0x101000; /* overlaps the first segment's BSS */
    ck_assert_int_eq(probe(&c, sizeof(c.bytes), &plan, why), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "overlap"));

    craft(&c, 2);
    add_note(&c, 1, "Xen", 18, &pvh_outside, sizeof(pvh_outside));
    ck_assert_int_eq(probe(&c, sizeof(c.bytes), &plan, why), -EINVAL);

    craft(&c, 2);
    add_note(&c, 1, "Xen", 18, &pvh_outside, sizeof(pvh_outside));
    c.ph[1].p_filesz = 0x100000; /* note segment beyond the file */
    ck_assert_int_eq(probe(&c, sizeof(c.bytes), &plan, why), -EINVAL);

    craft(&c, 0);
    c.eh->e_phoff = 0;
    ck_assert_int_eq(probe(&c, sizeof(c.bytes), &plan, why), -EINVAL);

    craft(&c, 1);
    c.eh->e_type = ET_DYN;
    ck_assert_int_eq(probe(&c, sizeof(c.bytes), &plan, why), -ENOEXEC);
}
END_TEST

START_TEST(initrd_placement)
{
    ck_assert_uint_eq(boot_place_high(0x200000, 0x800000, 0x1000), 0x7ff000);
    ck_assert_uint_eq(boot_place_high(0x200000, 0x800000, 0x1001), 0x7fe000);
    ck_assert_uint_eq(boot_place_high(0x200000, 0x800000, 0x600000), 0x200000);
    ck_assert_uint_eq(boot_place_high(0x200000, 0x800000, 0x600001), 0);
    ck_assert_uint_eq(boot_place_high(0x200000, 0x800000, UINT64_MAX), 0);
    ck_assert_uint_eq(boot_place_high(0x200000, 0x800000, 0), 0);
}
END_TEST

START_TEST(boot_tables_fit_and_map)
{
    static uint8_t ram[4 << 20];
    struct gmem mem;
    struct boot_e820 map[BOOT_E820_MAX];
    struct boot_info info = { .cmdline = "console=ttyS0" };
    char *big = malloc(LAYOUT_CMDLINE_MAX + 1);
    unsigned int n;

    gmem_init_fixed(&mem, 0, ram, sizeof(ram));
    n = boot_e820_build(&mem, map, BOOT_E820_MAX);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(map[2].addr + map[2].size, sizeof(ram));
    ck_assert_int_eq(boot_write_tables(&mem, &info), 0);
    ck_assert_str_eq((char *)ram + LAYOUT_CMDLINE, "console=ttyS0");

    memset(big, 'a', LAYOUT_CMDLINE_MAX);
    big[LAYOUT_CMDLINE_MAX] = 0;
    info.cmdline = big;
    ck_assert_int_eq(boot_write_tables(&mem, &info), -E2BIG);
    free(big);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("elf");
    TCase *tc = tcase_create("elf");

    tcase_add_test(tc, accepts_a_plain_image);
    tcase_add_test(tc, notes_choose_the_entry);
    tcase_add_test(tc, rejects_hostile_files);
    tcase_add_test(tc, initrd_placement);
    tcase_add_test(tc, boot_tables_fit_and_map);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
