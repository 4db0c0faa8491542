// SPDX-License-Identifier: MIT
/*
 * Exit latency as a guest sees it: the average rdtsc round trip of a port write and of an MMIO
 * read, each minus an empty loop of the same length, all timed at CPL3.
 */
#include "guests/tiny/tiny.h"

#define DEFAULT_ITERATIONS 20000
#define HV_LEAF_BASE       0x40000000
#define HV_LEAF_TIMING     0x40000010 /* EAX: TSC frequency in kHz (VMware/KVM convention) */

static uint64_t tsc_khz(void)
{
    if (cpuid(HV_LEAF_BASE, 0).eax < HV_LEAF_TIMING)
        return 0;
    return cpuid(HV_LEAF_TIMING, 0).eax;
}

static uint64_t per_iteration(uint64_t total, uint64_t baseline, uint64_t n)
{
    return total > baseline ? (total - baseline) / n : 0;
}

static uint64_t to_ns(uint64_t cycles, uint64_t khz)
{
    return khz ? cycles * 1000000 / khz : 0;
}

int main(unsigned int cpu, const char *cmdline)
{
    uint64_t n, t, base, pio, mmio, pio_cycles, mmio_cycles, khz;

    if (cpu != 0)
        park();
    n = cmdline_uint(cmdline, "exitlat.n", DEFAULT_ITERATIONS);
    if (!n)
        n = 1;

    /* The empty asm keeps the compiler from deleting or folding the baseline loop. */
    t = rdtsc();
    for (uint64_t i = 0; i < n; i++)
        __asm__ volatile("" : : : "memory");
    base = rdtsc() - t;

    t = rdtsc();
    for (uint64_t i = 0; i < n; i++)
        outb(PORT_POST_CODE, 0);
    pio = rdtsc() - t;

    t = rdtsc();
    for (uint64_t i = 0; i < n; i++)
        (void)mmio_read32(LAYOUT_DEBUG_MMIO + DEBUG_MMIO_PROBE);
    mmio = rdtsc() - t;

    pio_cycles = per_iteration(pio, base, n);
    mmio_cycles = per_iteration(mmio, base, n);
    khz = tsc_khz();
    printf("exitlat: n=%lu pio_cycles=%lu mmio_cycles=%lu tsc_khz=%lu pio_ns=%lu mmio_ns=%lu\n", n,
           pio_cycles, mmio_cycles, khz, to_ns(pio_cycles, khz), to_ns(mmio_cycles, khz));
    return 0;
}
