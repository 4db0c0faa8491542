/* SPDX-License-Identifier: MIT */
/* One-line messages on stderr, all prefixed "kvmini: " so they stand out from guest output. */
#ifndef KVMINI_LOG_H
#define KVMINI_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Replaces control characters in s with '?', so a message that quotes what a user or a guest
 * gave (a path, an argument) stays one line on a terminal. Every log line goes through it.
 */
void log_sanitize(char *s);

/*
 * A budget for a warning a guest can cause at will (a broken ring after every reset, accesses to
 * unmapped addresses): the first `limit` are printed, the next one is replaced by the warning
 * `rest` (which says the rest will not be), and nothing after that, so a guest cannot flood the
 * host's log. Thread-safe.
 */
struct log_budget {
    uint64_t used; /* atomic */
    unsigned int limit;
    const char *rest;
};

#define LOG_BUDGET(limit_, rest_) ((struct log_budget){ .limit = (limit_), .rest = (rest_) })

/* Whether this warning may be printed; takes one from the budget. */
bool log_budget_take(struct log_budget *b);

#endif
