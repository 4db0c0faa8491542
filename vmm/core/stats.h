/* SPDX-License-Identifier: MIT */
/*
 * Exit statistics (--stats): what the guest made the VMM do. Each vCPU counts into its own
 * struct, so the hot path takes no lock; the tables are merged and printed once at exit.
 */
#ifndef KVMINI_STATS_H
#define KVMINI_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define STATS_MAX_REASONS 64
#define STATS_ADDR_SLOTS  128 /* distinct (bus, address, direction) keys tracked per vCPU */

enum stats_space {
    STATS_PIO = 1,
    STATS_MMIO = 2,
};

struct stats_addr {
    uint64_t addr;
    uint8_t space; /* enum stats_space; 0 = empty slot */
    uint8_t is_write;
    uint8_t handled;
    uint64_t count;
};

struct vcpu_stats {
    uint64_t exits;
    uint64_t by_reason[STATS_MAX_REASONS];
    struct stats_addr addrs[STATS_ADDR_SLOTS];
    uint64_t addrs_untracked; /* exits whose key found no free slot */
    uint64_t first_run_ns;    /* CLOCK_MONOTONIC when the thread first entered KVM_RUN */
    uint64_t run_ns;          /* wall time from first KVM_RUN to thread end */
    uint64_t vmm_ns;          /* of which outside KVM_RUN, handling exits */
};

void stats_count_exit(struct vcpu_stats *s, uint32_t reason);
void stats_count_access(struct vcpu_stats *s, enum stats_space space, uint64_t addr, bool is_write,
                        bool handled);

/* Name of a KVM exit reason ("IO", "MMIO", "HLT", ...). */
const char *stats_exit_name(uint32_t reason);

/*
 * Prints the report: per-vCPU totals, exits by reason, the busiest addresses with the name of the
 * device that owns each (looked up through name_of, may return NULL).
 */
void stats_print(FILE *out, const struct vcpu_stats *per_vcpu, unsigned int nr_vcpus,
                 const char *(*name_of)(void *ctx, enum stats_space space, uint64_t addr),
                 void *ctx);

/*
 * Prints kvmini's peak RSS and how much of it is the guest mapping (guest memory, host pages
 * backing it), so the difference is what the VMM itself costs.
 */
void stats_print_memory(FILE *out, void *guest, size_t guest_size);

/* Monotonic clock in nanoseconds. */
uint64_t stats_now_ns(void);

#endif
