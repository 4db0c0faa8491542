// SPDX-License-Identifier: MIT
/*
 * Nothing but the exit: the first CPL3 instruction of main writes status 0 to the debug-exit port.
 * Cold-start benchmarks time it to see the VMM's own cost apart from any guest work (make bench).
 */
#include "guests/tiny/tiny.h"

int main(unsigned int cpu, const char *cmdline)
{
    (void)cpu;
    (void)cmdline;
    exit(0);
}
