// SPDX-License-Identifier: MIT
/*
 * Can this host's KVM run a stock kernel? The scripts that choose between the host and the nested
 * rig ask this guest (tests/lib/kvm-host.sh). It times the same loop at CPL3 and at CPL0: hardware
 * virtualization runs both at one speed (so does the rig's TCG), while PVM emulates every CPL0
 * instruction, thousands of times slower, and a stock kernel dies there.
 *
 * Exit 0: CPL0 runs at hardware speed. Exit 1: CPL0 is emulated. The best of several rounds
 * counts, so one preempted round cannot decide.
 */
#include "guests/tiny/tiny.h"

#define LOOPS           200000
#define ROUNDS          5
#define EMULATED_FACTOR 20 /* hardware: about 1; PVM: about 3000 */

static void count_down(void *n)
{
    uint64_t left = (uintptr_t)n;

    __asm__ volatile("1: dec %0\n\tjnz 1b" : "+r"(left));
}

static uint64_t cycles(int at_cpl0)
{
    uint64_t start = rdtsc();

    if (at_cpl0)
        tiny_kcall(count_down, (void *)(uintptr_t)LOOPS);
    else
        count_down((void *)(uintptr_t)LOOPS);
    return rdtsc() - start;
}

int main(unsigned int cpu, const char *cmdline)
{
    uint64_t cpl3 = UINT64_MAX, cpl0 = UINT64_MAX;

    (void)cmdline;
    if (cpu != 0)
        park();
    for (int i = 0; i < ROUNDS; i++) {
        uint64_t c3 = cycles(0), c0 = cycles(1);

        cpl3 = c3 < cpl3 ? c3 : cpl3;
        cpl0 = c0 < cpl0 ? c0 : cpl0;
    }
    if (!cpl3)
        cpl3 = 1;
    printf("probe: %u loops took %lu TSC cycles at CPL3 and %lu at CPL0 (%lux)\n", LOOPS, cpl3,
           cpl0, cpl0 / cpl3);
    if (cpl0 / cpl3 >= EMULATED_FACTOR) {
        puts(
            "probe: CPL0 code is emulated on this KVM (as on PVM): a stock kernel cannot run here");
        return 1;
    }
    puts("probe: CPL0 code runs at hardware speed");
    return 0;
}
