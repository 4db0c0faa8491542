// SPDX-License-Identifier: MIT
/*
 * The ACPI tables, twice: parsed back here through firmware/acpi.h's structs, then handed to
 * ACPICA itself (acpica-tools), which is what Linux runs: `iasl -d` disassembles each table,
 * `iasl` recompiles the result, which must give back our bytes, and `acpiexec` loads the set
 * through the same FADT/MADT/DSDT code as the kernel. Run as `test_acpi acpica` for that second
 * part; it fails when the tools are missing (make deps installs acpica-tools).
 */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "firmware/acpi.h"
#include "tests/unit/unit.h"

#define RAM_SIZE (1u << 20)

struct rig {
    uint8_t *ram;
    struct gmem mem;
    uint64_t rsdp;
};

static void rig_init_cfg(struct rig *r, const struct acpi_config *cfg)
{
    r->ram = calloc(1, RAM_SIZE);
    ck_assert_ptr_nonnull(r->ram);
    gmem_init_fixed(&r->mem, 0, r->ram, RAM_SIZE);
    ck_assert_int_eq(acpi_write_tables(&r->mem, cfg, &r->rsdp), 0);
}

static void rig_init(struct rig *r, unsigned int nr_cpus)
{
    rig_init_cfg(r, &(struct acpi_config){ .nr_cpus = nr_cpus });
}

static void rig_fini(struct rig *r)
{
    free(r->ram);
}

/* A table's bytes, after checking they lie inside the ACPI window. */
static void *rig_at(struct rig *r, uint64_t gpa, uint64_t len)
{
    ck_assert_uint_ge(gpa, LAYOUT_ACPI_RSDP);
    ck_assert_uint_le(gpa + len, LAYOUT_ACPI_END);
    return r->ram + gpa;
}

static struct acpi_header *rig_sdt(struct rig *r, uint64_t gpa, const char *sig)
{
    struct acpi_header *h = rig_at(r, gpa, sizeof(*h));

    ck_assert_msg(!memcmp(h->signature, sig, 4), "expected %s at %#lx", sig, (long)gpa);
    rig_at(r, gpa, h->length);
    ck_assert_uint_eq(acpi_sum(h, h->length), 0);
    return h;
}

static struct acpi_rsdp *rig_rsdp(struct rig *r)
{
    struct acpi_rsdp *p = rig_at(r, r->rsdp, sizeof(*p));

    ck_assert_int_eq(memcmp(p->signature, "RSD PTR ", 8), 0);
    return p;
}

/* Finds sig among the XSDT's entries; NULL if absent. */
static struct acpi_header *rig_table(struct rig *r, const char *sig)
{
    struct acpi_header *x = rig_sdt(r, rig_rsdp(r)->xsdt_addr, "XSDT");
    size_t n = (x->length - sizeof(*x)) / 8;

    for (size_t i = 0; i < n; i++) {
        uint64_t a;
        struct acpi_header *h;

        memcpy(&a, (uint8_t *)(x + 1) + 8 * i, 8);
        h = rig_at(r, a, sizeof(*h));
        if (!memcmp(h->signature, sig, 4))
            return rig_sdt(r, a, sig);
    }
    return NULL;
}

static bool mem_has(const void *hay, size_t n, const void *needle, size_t m)
{
    return memmem(hay, n, needle, m) != NULL;
}

START_TEST(rsdp_and_xsdt)
{
    struct rig r;
    struct acpi_rsdp *p;
    struct acpi_header *x;

    rig_init(&r, 2);
    ck_assert_uint_eq(r.rsdp, LAYOUT_ACPI_RSDP);
    ck_assert_uint_eq(r.rsdp % 16, 0); /* the guest's scan looks at 16-byte boundaries */
    p = rig_rsdp(&r);
    ck_assert_uint_eq(p->revision, 2);
    ck_assert_uint_eq(p->length, sizeof(*p));
    ck_assert_uint_eq(acpi_sum(p, 20), 0);
    ck_assert_uint_eq(acpi_sum(p, sizeof(*p)), 0);
    x = rig_sdt(&r, p->xsdt_addr, "XSDT");
    ck_assert_uint_eq(x->length, sizeof(*x) + 2 * 8); /* FACP and APIC, nothing else */
    ck_assert_ptr_nonnull(rig_table(&r, "FACP"));
    ck_assert_ptr_nonnull(rig_table(&r, "APIC"));
    rig_fini(&r);
}
END_TEST

START_TEST(fadt_fields)
{
    struct rig r;
    struct acpi_fadt *f;
    struct acpi_facs *facs;

    rig_init(&r, 1);
    f = (struct acpi_fadt *)rig_table(&r, "FACP");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(f->hdr.length, sizeof(*f));
    ck_assert_uint_eq(f->hdr.revision, 6);
    ck_assert_uint_eq(f->flags & ACPI_FADT_HW_REDUCED, 0);
    ck_assert_uint_ne(f->flags & ACPI_FADT_RESET_REG_SUP, 0);
    ck_assert_uint_eq(f->sci_int, GSI_ACPI_SCI);
    ck_assert_uint_eq(f->smi_cmd, 0);
    ck_assert_uint_eq(f->pm1a_evt_blk, PORT_ACPI_PM1A_EVT);
    ck_assert_uint_eq(f->pm1_evt_len, 4);
    ck_assert_uint_eq(f->x_pm1a_evt_blk.space_id, ACPI_GAS_IO);
    ck_assert_uint_eq(f->x_pm1a_evt_blk.address, PORT_ACPI_PM1A_EVT);
    ck_assert_uint_eq(f->x_pm1a_evt_blk.bit_width, 32);
    ck_assert_uint_eq(f->pm1a_cnt_blk, PORT_ACPI_PM1A_CNT);
    ck_assert_uint_eq(f->pm1_cnt_len, 2);
    ck_assert_uint_eq(f->x_pm1a_cnt_blk.address, PORT_ACPI_PM1A_CNT);
    ck_assert_uint_eq(f->x_pm1a_cnt_blk.bit_width, 16);
    ck_assert_uint_eq(f->pm_tmr_len, 0);
    ck_assert_uint_eq(f->reset_reg.space_id, ACPI_GAS_IO);
    ck_assert_uint_eq(f->reset_reg.bit_width, 8);
    ck_assert_uint_eq(f->reset_reg.address, PORT_ACPI_RESET);
    ck_assert_uint_eq(f->reset_value, ACPI_RESET_VALUE);
    ck_assert_uint_ne(f->iapc_boot_arch & ACPI_BOOT_8042, 0);
    ck_assert_uint_ne(f->iapc_boot_arch & ACPI_BOOT_NO_VGA, 0);
    ck_assert_uint_ne(f->iapc_boot_arch & ACPI_BOOT_NO_CMOS_RTC, 0);
    /* Both DSDT pointers agree; the FACS is 64-byte aligned. */
    ck_assert_uint_eq(f->dsdt, f->x_dsdt);
    rig_sdt(&r, f->x_dsdt, "DSDT");
    ck_assert_uint_eq(f->firmware_ctrl % 64, 0);
    facs = rig_at(&r, f->firmware_ctrl, sizeof(*facs));
    ck_assert_int_eq(memcmp(facs->signature, "FACS", 4), 0);
    ck_assert_uint_eq(facs->length, 64);
    rig_fini(&r);
}
END_TEST

START_TEST(dsdt_content)
{
    /* Name (_S5, Package (4) {5, 5, 0, 0}) */
    static const uint8_t s5[] = {
        0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 5, 0x0a, 5, 0, 0
    };
    static const uint8_t pvpanic_io[] = { 0x47, 1, 0x05, 0x05, 0x05, 0x05, 1, 1 };
    static const uint8_t com1_io[] = { 0x47, 1, 0xf8, 0x03, 0xf8, 0x03, 1, 8 };
    static const uint8_t com1_irq[] = { 0x22, 1 << GSI_COM1, 0 };
    static const uint8_t pnp0501[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
    struct rig r;
    struct acpi_fadt *f;
    struct acpi_header *d;

    static_assert(ACPI_S5_SLP_TYP == 5, "update the expected \\_S5 bytes");
    rig_init(&r, 1);
    f = (struct acpi_fadt *)rig_table(&r, "FACP");
    d = rig_sdt(&r, f->x_dsdt, "DSDT");
    ck_assert_uint_eq(d->revision, 2);
    ck_assert(mem_has(d, d->length, s5, sizeof(s5)));
    ck_assert(mem_has(d, d->length, "QEMU0001", 9));
    ck_assert(mem_has(d, d->length, pvpanic_io, sizeof(pvpanic_io)));
    ck_assert(mem_has(d, d->length, pnp0501, sizeof(pnp0501)));
    ck_assert(mem_has(d, d->length, com1_io, sizeof(com1_io)));
    ck_assert(mem_has(d, d->length, com1_irq, sizeof(com1_irq)));
    rig_fini(&r);
}
END_TEST

/* With a CMOS clock the FADT names its century byte and the DSDT has a PNP0B00; without, neither.
 */
START_TEST(cmos_rtc_or_not)
{
    static const uint8_t pnp0b00[] = { 0x0c, 0x41, 0xd0, 0x0b, 0x00 };
    static const uint8_t rtc_io[] = { 0x47, 1, 0x70, 0, 0x70, 0, 1, 2 };
    static const uint8_t rtc_irq[] = { 0x22, 0x00, 0x01 }; /* IRQ 8: bit 0 of the high byte */

    for (int with = 0; with < 2; with++) {
        struct rig r;
        struct acpi_fadt *f;
        struct acpi_header *d;

        rig_init_cfg(&r, &(struct acpi_config){ .nr_cpus = 1, .cmos_rtc = with });
        f = (struct acpi_fadt *)rig_table(&r, "FACP");
        d = rig_sdt(&r, f->x_dsdt, "DSDT");
        ck_assert_uint_eq(!(f->iapc_boot_arch & ACPI_BOOT_NO_CMOS_RTC), with);
        ck_assert_uint_eq(f->century, with ? 0x32 : 0);
        ck_assert_uint_eq(mem_has(d, d->length, pnp0b00, sizeof(pnp0b00)), with);
        ck_assert_uint_eq(mem_has(d, d->length, rtc_io, sizeof(rtc_io)), with);
        ck_assert_uint_eq(mem_has(d, d->length, rtc_irq, sizeof(rtc_irq)), with);
        rig_fini(&r);
    }
}
END_TEST

static void check_madt_in(struct rig *r, unsigned int nr_cpus)
{
    struct acpi_madt *m;
    unsigned int lapics = 0, ioapics = 0, isos = 0, nmis = 0;
    bool irq0 = false, sci = false;

    m = (struct acpi_madt *)rig_table(r, "APIC");
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->lapic_addr, LAYOUT_LAPIC_BASE);
    ck_assert_uint_eq(m->flags & ACPI_MADT_PCAT_COMPAT, 0);
    for (size_t off = sizeof(*m); off < m->hdr.length;) {
        const uint8_t *e = (const uint8_t *)m + off;

        ck_assert_uint_ge(e[1], 2);
        ck_assert_uint_le(off + e[1], m->hdr.length);
        if (e[0] == ACPI_MADT_LAPIC) {
            const struct acpi_madt_lapic *l = (const void *)e;

            ck_assert_uint_eq(l->length, sizeof(*l));
            ck_assert_uint_eq(l->apic_id, lapics);
            ck_assert_uint_eq(l->processor_uid, lapics);
            ck_assert_uint_eq(l->flags, ACPI_MADT_ENABLED);
            lapics++;
        } else if (e[0] == ACPI_MADT_IOAPIC) {
            const struct acpi_madt_ioapic *io = (const void *)e;

            ck_assert_uint_eq(io->address, LAYOUT_IOAPIC_BASE);
            ck_assert_uint_eq(io->gsi_base, 0);
            ioapics++;
        } else if (e[0] == ACPI_MADT_ISO) {
            const struct acpi_madt_iso *iso = (const void *)e;

            irq0 |= iso->source == 0 && iso->gsi == 2 && iso->flags == 0;
            sci |= iso->source == GSI_ACPI_SCI && iso->gsi == GSI_ACPI_SCI &&
                   iso->flags == (ACPI_MPS_ACTIVE_HIGH | ACPI_MPS_LEVEL);
            isos++;
        } else if (e[0] == ACPI_MADT_LAPIC_NMI) {
            const struct acpi_madt_lapic_nmi *n = (const void *)e;

            ck_assert_uint_eq(n->processor_uid, 0xff);
            ck_assert_uint_eq(n->lint, 1);
            nmis++;
        } else {
            ck_abort_msg("unexpected MADT entry type %u", e[0]);
        }
        off += e[1];
    }
    ck_assert_uint_eq(lapics, nr_cpus);
    ck_assert_uint_eq(ioapics, 1);
    ck_assert_uint_eq(isos, 2);
    ck_assert(irq0 && sci);
    ck_assert_uint_eq(nmis, 1);
}

static void check_madt(unsigned int nr_cpus)
{
    struct rig r;

    rig_init(&r, nr_cpus);
    check_madt_in(&r, nr_cpus);
    rig_fini(&r);
}

START_TEST(madt_per_cpu_count)
{
    check_madt(1);
    check_madt(2);
    check_madt(64);
    check_madt(ACPI_MAX_CPUS);
}
END_TEST

START_TEST(bad_config_and_memory)
{
    struct acpi_config cfg = { .nr_cpus = 0 };
    uint8_t *small = calloc(1, LAYOUT_ACPI_RSDP + 0x100);
    struct gmem mem;
    uint64_t rsdp = 0;

    ck_assert_ptr_nonnull(small);
    gmem_init_fixed(&mem, 0, small, LAYOUT_ACPI_RSDP + 0x100);
    ck_assert_int_eq(acpi_write_tables(&mem, &cfg, &rsdp), -EINVAL);
    cfg.nr_cpus = ACPI_MAX_CPUS + 1;
    ck_assert_int_eq(acpi_write_tables(&mem, &cfg, &rsdp), -EINVAL);
    ck_assert_int_eq(acpi_write_tables(&mem, NULL, &rsdp), -EINVAL);
    cfg.nr_cpus = 1;
    ck_assert_int_eq(acpi_write_tables(&mem, &cfg, &rsdp), -EFAULT); /* window not all RAM */
    ck_assert_uint_eq(rsdp, 0);
    free(small);
}
END_TEST

/* Rewriting (a reset) leaves no second MADT of the earlier, larger layout behind. */
START_TEST(rewrite_clears_window)
{
    struct rig r;
    struct acpi_config cfg = { .nr_cpus = 1 };
    unsigned int madts = 0;

    rig_init(&r, 64);
    ck_assert_int_eq(acpi_write_tables(&r.mem, &cfg, &r.rsdp), 0);
    for (uint64_t a = LAYOUT_ACPI_RSDP; a < LAYOUT_ACPI_END; a += 4)
        madts += !memcmp(r.ram + a, "APIC", 4);
    ck_assert_uint_eq(madts, 1);
    check_madt_in(&r, 1);
    rig_fini(&r);
}
END_TEST

/* --- ACPICA's view -----------------------------------------------------------------------------
 */

#ifndef KVMINI_IASL
#define KVMINI_IASL ""
#endif
#ifndef KVMINI_ACPIEXEC
#define KVMINI_ACPIEXEC ""
#endif

struct tool_dir {
    char path[64];
};

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[256];
    FILE *f;
    char *buf = NULL;
    long n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = calloc(1, (size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        if (len)
            *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

static void spill(const char *dir, const char *name, const void *p, size_t len)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static int run(const char *dir, const char *cmd, const char *log)
{
    char line[1024];

    snprintf(line, sizeof(line), "cd '%s' && %s >'%s' 2>&1", dir, cmd, log);
    return system(line);
}

/* A case-insensitive search, for iasl's "Warning"/"warning" alike. */
static const char *find_word(const char *text, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = text; *p; p++)
        if (!strncasecmp(p, word, n))
            return p;
    return NULL;
}

/*
 * Disassembles name, recompiles the result and compares it with what we wrote. Returns NULL, or
 * why the table is not clean. A header's checksum and creator fields are left out of the
 * comparison (iasl stamps its own creator), so the checksum is judged by the disassembler.
 */
static const char *iasl_check(const char *dir, const char *name, const void *tbl, size_t len,
                              bool has_header)
{
    static const char *const bad[] = { "warning", "error", "incorrect", "invalid", "****" };
    char cmd[256], base[64], *log, *dsl, *aml;
    const char *why = NULL;
    size_t aml_len = 0;

    snprintf(base, sizeof(base), "%.*s", (int)strcspn(name, "."), name);
    snprintf(cmd, sizeof(cmd), "%s -d %s", KVMINI_IASL, name);
    if (run(dir, cmd, "d.log") != 0)
        return "iasl -d failed";
    log = slurp(dir, "d.log", NULL);
    snprintf(cmd, sizeof(cmd), "%s.dsl", base);
    dsl = slurp(dir, cmd, NULL);
    if (!log || !dsl)
        why = "no iasl -d output";
    for (size_t i = 0; !why && i < sizeof(bad) / sizeof(bad[0]); i++)
        if (find_word(log, bad[i]) || find_word(dsl, bad[i]))
            why = "iasl -d complained";
    free(log);
    free(dsl);
    if (why)
        return why;

    snprintf(cmd, sizeof(cmd), "%s -oa -p %s_rt %s.dsl", KVMINI_IASL, base, base);
    if (run(dir, cmd, "c.log") != 0)
        return "recompiling the disassembly failed";
    log = slurp(dir, "c.log", NULL);
    if (!log || !strstr(log, "Compilation successful. 0 Errors, 0 Warnings, 0 Remarks"))
        why = "recompiling the disassembly was not clean";
    free(log);
    if (why)
        return why;
    snprintf(cmd, sizeof(cmd), "%s_rt.aml", base);
    aml = slurp(dir, cmd, &aml_len);
    if (!aml || aml_len != len)
        why = "recompiled table has another length";
    for (size_t i = 0; !why && i < len; i++) {
        bool stamped = has_header && (i == 9 || (i >= 28 && i < 36));

        if (!stamped && ((const uint8_t *)tbl)[i] != (uint8_t)aml[i])
            why = "recompiled table differs";
    }
    free(aml);
    return why;
}

/*
 * acpiexec loads the tables through ACPICA's table manager, as Linux does, evaluates \_S5 and
 * decodes each device's _CRS with ACPICA's resource parser. Its built-in interface tests poke
 * optional hardware we do not have (PM2's ARB_DIS, GPE blocks, the PM timer) and report that as
 * "Unexpected AE_..." lines: those are expected; anything else that looks like a complaint is not.
 * expect lists strings the output must hold (NULL-terminated).
 */
static const char *acpiexec_check(const char *dir, const char *files, const char *const *expect,
                                  bool rtc)
{
    static const char *const bad[] = { "warning",   "error",    "exception",
                                       "incorrect", "mismatch", "GetCurrentResources failed" };
    char cmd[512], *log, *line;
    const char *why = NULL;

    snprintf(cmd, sizeof(cmd),
             "%s -b 'evaluate \\_S5;resources \\_SB.COM1;resources \\_SB.PEVT%s' %s",
             KVMINI_ACPIEXEC, rtc ? ";resources \\_SB.RTC" : "", files);
    if (run(dir, cmd, "x.log") != 0)
        return "acpiexec failed";
    log = slurp(dir, "x.log", NULL);
    if (!log)
        return "no acpiexec output";
    for (; *expect && !why; expect++)
        if (!strstr(log, *expect))
            why = "acpiexec output lacks an expected value";
    for (line = strtok(log, "\n"); line && !why; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "Unexpected AE_BAD_ADDRESS from Acpi", 35) ||
            !strncmp(line, "Unexpected AE_BAD_PARAMETER from Acpi", 37) ||
            !strncmp(line, "Unexpected AE_SUPPORT from AcpiGetTimer", 39))
            continue;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            if (find_word(line, bad[i]))
                why = "acpiexec complained";
    }
    free(log);
    return why;
}

static void check_with_acpica(unsigned int nr_cpus, bool cmos_rtc)
{
    /* \_S5's SLP_TYP, then COM1's and pvpanic's (and the clock's) resources as ACPICA decodes them.
     */
    static const char *const base[] = { "[Integer] = 0000000000000005", "Address Minimum : 03F8",
                                        "Interrupt List : 4 ", "Address Minimum : 0505", NULL };
    static const char *const with_rtc[] = { "[Integer] = 0000000000000005",
                                            "Address Minimum : 03F8",
                                            "Interrupt List : 4 ",
                                            "Address Minimum : 0505",
                                            "Address Minimum : 0070",
                                            "Interrupt List : 8 ",
                                            NULL };
    char dir[] = "/tmp/kvmini-acpi-XXXXXX";
    struct rig r;
    struct acpi_fadt *f;
    struct acpi_header *x, *m, *d;
    uint8_t *bad;
    const char *why;
    char rm[64];

    ck_assert_ptr_nonnull(mkdtemp(dir));
    /* The richer configuration also carries the PCI root bridge. */
    rig_init_cfg(
        &r, &(struct acpi_config){ .nr_cpus = nr_cpus, .cmos_rtc = cmos_rtc, .pci = cmos_rtc });
    x = rig_sdt(&r, rig_rsdp(&r)->xsdt_addr, "XSDT");
    f = (struct acpi_fadt *)rig_table(&r, "FACP");
    m = rig_table(&r, "APIC");
    d = rig_sdt(&r, f->x_dsdt, "DSDT");
    spill(dir, "xsdt.dat", x, x->length);
    spill(dir, "facp.dat", f, f->hdr.length);
    spill(dir, "apic.dat", m, m->length);
    spill(dir, "facs.dat", r.ram + f->firmware_ctrl, sizeof(struct acpi_facs));
    spill(dir, "dsdt.aml", d, d->length);

    why = iasl_check(dir, "xsdt.dat", x, x->length, true);
    ck_assert_msg(!why, "XSDT: %s (in %s)", why, dir);
    why = iasl_check(dir, "facp.dat", f, f->hdr.length, true);
    ck_assert_msg(!why, "FADT: %s (in %s)", why, dir);
    why = iasl_check(dir, "apic.dat", m, m->length, true);
    ck_assert_msg(!why, "MADT: %s (in %s)", why, dir);
    why = iasl_check(dir, "facs.dat", r.ram + f->firmware_ctrl, sizeof(struct acpi_facs), false);
    ck_assert_msg(!why, "FACS: %s (in %s)", why, dir);
    why = iasl_check(dir, "dsdt.aml", d, d->length, true);
    ck_assert_msg(!why, "DSDT: %s (in %s)", why, dir);
    why = acpiexec_check(dir, "facp.dat apic.dat facs.dat dsdt.aml", cmos_rtc ? with_rtc : base,
                         cmos_rtc);
    ck_assert_msg(!why, "%s (in %s)", why, dir);

    /* The checks must be able to fail: a FADT with a broken checksum is caught by both. */
    bad = malloc(f->hdr.length);
    ck_assert_ptr_nonnull(bad);
    memcpy(bad, f, f->hdr.length);
    bad[9] ^= 0x5a;
    spill(dir, "badf.dat", bad, f->hdr.length);
    ck_assert_ptr_nonnull(iasl_check(dir, "badf.dat", bad, f->hdr.length, true));
    ck_assert_ptr_nonnull(
        acpiexec_check(dir, "badf.dat apic.dat facs.dat dsdt.aml", base, cmos_rtc));
    free(bad);

    snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(rm), 0);
    rig_fini(&r);
}

START_TEST(acpica_accepts_tables)
{
    check_with_acpica(1, false);
    check_with_acpica(64, true);
}
END_TEST

int main(int argc, char **argv)
{
    bool acpica = argc > 1 && !strcmp(argv[1], "acpica");
    Suite *s = suite_create("acpi");
    TCase *tc = tcase_create("core");

    if (acpica) {
        if (!*KVMINI_IASL || !*KVMINI_ACPIEXEC) {
            printf("FAIL: iasl/acpiexec were not found when configuring; install acpica-tools "
                   "(make deps) and reconfigure\n");
            return 1; /* make check installs acpica-tools: missing tools are a failure */
        }
        tcase_add_test(tc, acpica_accepts_tables);
        tcase_set_timeout(tc, 120);
    } else {
        tcase_add_test(tc, rsdp_and_xsdt);
        tcase_add_test(tc, fadt_fields);
        tcase_add_test(tc, dsdt_content);
        tcase_add_test(tc, cmos_rtc_or_not);
        tcase_add_test(tc, madt_per_cpu_count);
        tcase_add_test(tc, bad_config_and_memory);
        tcase_add_test(tc, rewrite_clears_window);
    }
    suite_add_tcase(s, tc);
    return run_suite(s);
}
