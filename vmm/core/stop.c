// SPDX-License-Identifier: MIT
#include "vmm/core/stop.h"

int stop_exit_status(enum stop_cause cause, int status)
{
    switch (cause) {
    case STOP_GUEST_EXIT:
        return status & 0xff;
    case STOP_NONE:
    case STOP_POWEROFF:
    case STOP_RESET:
    case STOP_USER_QUIT:
        return EXIT_OK;
    case STOP_SIGNAL:
        return EXIT_SIGNAL_BASE + status;
    case STOP_TRIPLE_FAULT:
        return EXIT_TRIPLE_FAULT;
    case STOP_GUEST_ERROR:
        return EXIT_GUEST_ERROR;
    case STOP_ENTRY_FAILED:
        return EXIT_ENTRY_FAILED;
    case STOP_GUEST_PANIC:
        return EXIT_GUEST_PANIC;
    case STOP_VMM_ERROR:
        return EXIT_VMM_ERROR;
    case STOP_NO_EXITS:
        return EXIT_NO_EXITS;
    }
    return EXIT_VMM_ERROR;
}

const char *stop_cause_name(enum stop_cause cause)
{
    static const char *const names[] = {
        [STOP_NONE] = "no stop",
        [STOP_GUEST_EXIT] = "guest exit through the debug-exit port",
        [STOP_POWEROFF] = "guest power-off",
        [STOP_RESET] = "guest reset request",
        [STOP_USER_QUIT] = "quit from the console (Ctrl-A x)",
        [STOP_SIGNAL] = "signal",
        [STOP_TRIPLE_FAULT] = "guest triple fault",
        [STOP_GUEST_ERROR] = "KVM internal error",
        [STOP_ENTRY_FAILED] = "KVM refused to enter the guest",
        [STOP_GUEST_PANIC] = "guest panic",
        [STOP_VMM_ERROR] = "kvmini error",
        [STOP_NO_EXITS] = "no VM exit on a PVM host",
    };

    if ((unsigned)cause < sizeof(names) / sizeof(names[0]) && names[cause])
        return names[cause];
    return "unknown";
}
