// SPDX-License-Identifier: MIT
/*
 * Every vCPU writes a port and checks in; the BSP waits for as many as the VMM says it started and
 * reports who came. Exits 0 only if all of them did.
 */
#include "guests/tiny/tiny.h"

/*
 * About 7 s at 3 GHz. The TSC counts wall time, so this holds even when emulation makes every
 * instruction 15-50x slower; it only runs out when a vCPU never starts.
 */
#define CHECKIN_TIMEOUT_CYCLES 20000000000ULL

static unsigned int checked_in;
static uint64_t checkin_mask;

int main(unsigned int cpu, const char *cmdline)
{
    unsigned int expected = cpu_count(), n;
    uint64_t start, mask;

    (void)cmdline;
    /* A port write on every vCPU: under tiny.iopl=0 it proves each one's TSS I/O bitmap. */
    outb(PORT_POST_CODE, (uint8_t)cpu);
    __atomic_fetch_or(&checkin_mask, 1ULL << cpu, __ATOMIC_RELAXED);
    __atomic_fetch_add(&checked_in, 1, __ATOMIC_RELEASE);
    if (cpu != 0)
        park();

    start = rdtsc();
    while (__atomic_load_n(&checked_in, __ATOMIC_ACQUIRE) < expected &&
           rdtsc() - start < CHECKIN_TIMEOUT_CYCLES)
        cpu_relax();

    n = __atomic_load_n(&checked_in, __ATOMIC_ACQUIRE);
    mask = __atomic_load_n(&checkin_mask, __ATOMIC_RELAXED);
    spin_lock(&print_lock);
    printf_unlocked("smp: %u of %u vCPUs checked in:", n, expected);
    for (unsigned int i = 0; i < 64; i++)
        if (mask & (1ULL << i))
            printf_unlocked(" %u", i);
    printf_unlocked("\n");
    spin_unlock(&print_lock);
    return n == expected ? 0 : 1;
}
