/* SPDX-License-Identifier: MIT */
/* One-line messages on stderr, all prefixed "kvmini: " so they stand out from guest output. */
#ifndef KVMINI_LOG_H
#define KVMINI_LOG_H

#include <stdarg.h>

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
