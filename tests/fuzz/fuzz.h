/* SPDX-License-Identifier: MIT */
/* What every libFuzzer target here shares: its entry point and the check that fails it. */
#ifndef KVMINI_TESTS_FUZZ_H
#define KVMINI_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is a crash libFuzzer records, with the input that caused it. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

#endif
