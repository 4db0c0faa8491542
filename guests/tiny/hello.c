// SPDX-License-Identifier: MIT
/* The smallest end-to-end check: one line over the UART, then exit status 0. */
#include "guests/tiny/tiny.h"

int main(unsigned int cpu, const char *cmdline)
{
    (void)cmdline;
    if (cpu != 0)
        park();
    puts("Hello from the kvmini tiny guest");
    return 0;
}
