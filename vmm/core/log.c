// SPDX-License-Identifier: MIT
#include "vmm/core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The guest console may have the terminal in raw mode, where "\n" does not return the carriage:
 * ending every message with "\r\n" keeps kvmini's lines readable in both modes.
 */
static void vlog(const char *level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void vlog(const char *level, const char *fmt, va_list ap)
{
    char line[1024];
    int n = snprintf(line, sizeof(line), "kvmini: %s", level);

    if (n >= 0 && (size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    log_sanitize(line);
    n = strlen(line);
    if (n > (int)sizeof(line) - 3)
        n = sizeof(line) - 3;
    memcpy(line + n, "\r\n", 3);
    /* One write: lines from several threads never interleave mid-line. */
    if (write(STDERR_FILENO, line, n + 2) < 0) {
        /* Nowhere left to report it. */
    }
}

void log_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog("error: ", fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog("warning: ", fmt, ap);
    va_end(ap);
}

void log_sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

bool log_budget_take(struct log_budget *b)
{
    uint64_t n = __atomic_fetch_add(&b->used, 1, __ATOMIC_RELAXED);

    if (n == b->limit)
        log_warn("%s", b->rest);
    return n < b->limit;
}

void log_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog("", fmt, ap);
    va_end(ap);
}
