// SPDX-License-Identifier: MIT
/*
 * Misbehaves on purpose, one way per run (cmdline fault=NAME), so tests can check that the VMM
 * survives and reports each case. Exit status 0 means the VMM answered the way a machine should.
 */
#include "guests/tiny/abi.h"
#include "guests/tiny/tiny.h"

#define UNMAPPED_MMIO 0xc0000000ULL /* in the hole, below the debug page and the PCI window */
#define PAST_RAM      0x80000000ULL /* tests run with --mem 128M */
#define ROM_ADDR      0xf0000ULL    /* inside kvmini's read-only slot */
#define UNUSED_PORT8  0x2f8         /* COM2: absent */
#define PCI_CONF_DATA 0xcfc         /* PCI config data, no address selected: all ones */
#define FLOOD_READS   1000

struct idt_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

/* Runs at CPL0 through tiny_kcall: with a zero-limit IDT no vector can be delivered. */
static void load_empty_idt(void *arg)
{
    static const struct idt_ptr empty = { 0, 0 };

    (void)arg;
    __asm__ volatile("lidt %0" : : "m"(empty));
}

static int triple(void)
{
    puts("fault: triple fault next");
    tiny_kcall(load_empty_idt, NULL);
    /* #BP cannot be delivered, nor the #GP that follows, nor the #DF: shutdown. */
    __asm__ volatile("int3");
    puts("fault: still running after the triple fault");
    return 1;
}

/* A read of nothing must give all ones, and a write there must not stick. */
static int unbacked(const char *name, uint64_t addr)
{
    uint32_t v;

    mmio_write32(addr, 0x12345678);
    v = mmio_read32(addr);
    printf("fault: %s read 0x%lx = 0x%x\n", name, addr, v);
    return v == 0xffffffff ? 0 : 1;
}

/* Many unbacked accesses in a row, at different addresses, for VMMs that rate-limit warnings. */
static int mmio_flood(void)
{
    unsigned int bad = 0;

    for (unsigned int i = 0; i < FLOOD_READS; i++) {
        uint64_t addr = UNMAPPED_MMIO + (uint64_t)i * 0x1000;

        mmio_write32(addr, i);
        bad += mmio_read32(addr) != 0xffffffff;
    }
    printf("fault: mmioflood %u accesses, %u not all ones\n", FLOOD_READS, bad);
    return bad ? 1 : 0;
}

static int rom(void)
{
    volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)ROM_ADDR;
    uint32_t before = *p, after;
    int kept;

    *p = 0xdeadbeef;
    after = *p;
    kept = after != before;
    printf("fault: rom write kept=%s\n", kept ? "yes" : "no");
    return kept ? 1 : 0;
}

static int port(void)
{
    uint8_t b = inb(UNUSED_PORT8);
    uint32_t l = inl(PCI_CONF_DATA);

    printf("fault: port 0x%x = 0x%x, port 0x%x = 0x%x\n", UNUSED_PORT8, b, PCI_CONF_DATA, l);
    return b == 0xff && l == 0xffffffff ? 0 : 1;
}

/*
 * An access to unmapped MMIO by an instruction KVM's emulator does not implement (SSE pcmpeqb):
 * KVM cannot complete the exit. At CPL3 it injects #UD into the guest; at CPL0 it gives up and
 * exits with an emulation failure, which kvmini reports (RIP, instruction bytes) and stops on.
 */
static void unemulatable_access(void *arg)
{
    uint64_t addr = UNMAPPED_MMIO;

    (void)arg;
    __asm__ volatile(".byte 0x66, 0x0f, 0x74, 0x00" /* pcmpeqb (%%rax), %%xmm0 */
                     :
                     : "a"(addr)
                     : "memory");
}

extern unsigned char tiny_tss[];

/*
 * CPL3 port I/O with the TSS's I/O bitmap gone: it still works where the host honours IOPL=3
 * (exit 0), and #GPs where IOPL is 0 (tiny.iopl=0, or a host that ignores it), which the runtime
 * must report from CPL0 (exit 32 + 13) instead of faulting again on its own port I/O.
 */
static int no_io_bitmap(unsigned int cpu)
{
    volatile uint16_t *iomap_base =
        (volatile uint16_t *)(tiny_tss + (cpu << TINY_TSS_STRIDE_SHIFT) + TINY_TSS_IOMAP_BASE);

    printf("fault: IOPL %u at CPL3; removing the I/O bitmap, then port 0x%x\n", current_iopl(),
           PORT_DEBUG_EXIT);
    *iomap_base = 0xffff; /* past the TSS limit: the CPU finds no bitmap */
    exit(0);
}

static void fault_in_hook(unsigned int vec, uint64_t rip)
{
    (void)vec;
    (void)rip;
    __asm__ volatile("ud2");
}

/* A fault inside the runtime's own CPL0 exception path must end the guest, not loop. */
static int nested(void)
{
    tiny_exception_hook = fault_in_hook;
    __asm__ volatile("ud2");
    puts("fault: ud2 did not fault");
    return 1;
}

/*
 * Output as fast as port I/O goes, ignoring THRE: string I/O moves 4 KiB to COM1 per exit. When
 * nothing reads kvmini's stdout, kvmini must drop what its host side cannot take, never wait.
 */
static int flood(void)
{
    static char text[4096];

    for (size_t i = 0; i < sizeof(text); i++)
        text[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
    for (;;) {
        const char *p = text;
        size_t n = sizeof(text);

        __asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(PORT_COM1) : "memory");
    }
    return 1;
}

static void spin_forever(void *arg)
{
    (void)arg;
    for (;;)
        cpu_relax();
}

static int streq(const char *a, const char *b)
{
    return !memcmp(a, b, strlen(b) + 1);
}

int main(unsigned int cpu, const char *cmdline)
{
    char name[16];

    if (cpu != 0)
        park();
    if (!cmdline_get(cmdline, "fault", name, sizeof(name)))
        name[0] = '\0';

    if (streq(name, "triple"))
        return triple();
    if (streq(name, "mmio"))
        return unbacked("mmio", UNMAPPED_MMIO);
    if (streq(name, "noram"))
        return unbacked("noram", PAST_RAM);
    if (streq(name, "mmioflood"))
        return mmio_flood();
    if (streq(name, "rom"))
        return rom();
    if (streq(name, "port"))
        return port();
    if (streq(name, "emul")) {
        unemulatable_access(NULL);
        puts("fault: emul completed, but KVM cannot emulate it");
        return 1;
    }
    if (streq(name, "emul0")) {
        tiny_kcall(unemulatable_access, NULL);
        puts("fault: emul0 completed, but KVM cannot emulate it");
        return 1;
    }
    if (streq(name, "flood"))
        return flood();
    if (streq(name, "noiobitmap"))
        return no_io_bitmap(cpu);
    if (streq(name, "nested"))
        return nested();
    /* Stuck at CPL0 before a single VM exit, as a stock kernel is on some PVM hosts. */
    if (streq(name, "hang0"))
        tiny_kcall(spin_forever, NULL);
    /* Busy at CPL3 for good, after the exits that print this line. */
    if (streq(name, "hang")) {
        puts("fault: hanging at CPL3");
        spin_forever(NULL);
    }
    if (streq(name, "ud")) {
        __asm__ volatile("ud2");
        puts("fault: ud2 did not fault");
        return 1;
    }
    puts("fault: unknown case");
    return 2;
}
