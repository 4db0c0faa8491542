// SPDX-License-Identifier: MIT
#include "vmm/core/stats.h"

#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t stats_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void stats_count_exit(struct vcpu_stats *s, uint32_t reason)
{
    s->exits++;
    s->by_reason[reason < STATS_MAX_REASONS ? reason : STATS_MAX_REASONS - 1]++;
}

void stats_count_access(struct vcpu_stats *s, enum stats_space space, uint64_t addr, bool is_write,
                        bool handled)
{
    /* Open addressing: few distinct addresses, so probes stay short. */
    uint64_t h = (addr * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)space << 1) ^ is_write;

    for (unsigned int i = 0; i < STATS_ADDR_SLOTS; i++) {
        struct stats_addr *a = &s->addrs[(h + i) % STATS_ADDR_SLOTS];

        if (!a->space) {
            *a = (struct stats_addr){
                .addr = addr, .space = space, .is_write = is_write, .handled = handled
            };
        }
        if (a->space == space && a->addr == addr && a->is_write == is_write) {
            a->count++;
            return;
        }
    }
    s->addrs_untracked++;
}

const char *stats_exit_name(uint32_t reason)
{
    static const char *const names[] = {
        [KVM_EXIT_UNKNOWN] = "UNKNOWN",
        [KVM_EXIT_EXCEPTION] = "EXCEPTION",
        [KVM_EXIT_IO] = "IO",
        [KVM_EXIT_HYPERCALL] = "HYPERCALL",
        [KVM_EXIT_DEBUG] = "DEBUG",
        [KVM_EXIT_HLT] = "HLT",
        [KVM_EXIT_MMIO] = "MMIO",
        [KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
        [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
        [KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
        [KVM_EXIT_INTR] = "INTR",
        [KVM_EXIT_SET_TPR] = "SET_TPR",
        [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
        [KVM_EXIT_NMI] = "NMI",
        [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
        [KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
        [KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
    };

    if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
        return names[reason];
    return "OTHER";
}

static int by_count_desc(const void *a, const void *b)
{
    const struct stats_addr *x = a, *y = b;

    return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* Merges the per-vCPU address tables into one list (each key once). */
static size_t merge_addrs(const struct vcpu_stats *per_vcpu, unsigned int nr_vcpus,
                          struct stats_addr *out, size_t cap)
{
    size_t n = 0;

    for (unsigned int v = 0; v < nr_vcpus; v++) {
        for (unsigned int i = 0; i < STATS_ADDR_SLOTS; i++) {
            const struct stats_addr *a = &per_vcpu[v].addrs[i];
            size_t j;

            if (!a->space)
                continue;
            for (j = 0; j < n; j++)
                if (out[j].space == a->space && out[j].addr == a->addr &&
                    out[j].is_write == a->is_write)
                    break;
            if (j < n)
                out[j].count += a->count;
            else if (n < cap)
                out[n++] = *a;
        }
    }
    qsort(out, n, sizeof(*out), by_count_desc);
    return n;
}

void stats_print(FILE *out, const struct vcpu_stats *per_vcpu, unsigned int nr_vcpus,
                 const char *(*name_of)(void *ctx, enum stats_space space, uint64_t addr),
                 void *ctx)
{
    uint64_t total[STATS_MAX_REASONS] = { 0 }, untracked = 0;
    struct stats_addr *merged;
    size_t n;

    fprintf(out, "\r\n--- kvmini exit statistics ---\r\n");
    fprintf(out, "vcpu      exits     run ms   in VMM ms\r\n");
    for (unsigned int v = 0; v < nr_vcpus; v++) {
        const struct vcpu_stats *s = &per_vcpu[v];

        fprintf(out, "%4u %10llu %10.3f %11.3f\r\n", v, (unsigned long long)s->exits,
                s->run_ns / 1e6, s->vmm_ns / 1e6);
        for (unsigned int r = 0; r < STATS_MAX_REASONS; r++)
            total[r] += s->by_reason[r];
        untracked += s->addrs_untracked;
    }
    fprintf(out, "exits by reason:\r\n");
    for (unsigned int r = 0; r < STATS_MAX_REASONS; r++)
        if (total[r])
            fprintf(out, "  %-16s %10llu\r\n", stats_exit_name(r), (unsigned long long)total[r]);

    merged = calloc((size_t)nr_vcpus * STATS_ADDR_SLOTS, sizeof(*merged));
    if (!merged)
        return;
    n = merge_addrs(per_vcpu, nr_vcpus, merged, (size_t)nr_vcpus * STATS_ADDR_SLOTS);
    fprintf(out, "exits by address (busiest first):\r\n");
    for (size_t i = 0; i < n && i < 20; i++) {
        const struct stats_addr *a = &merged[i];
        const char *owner = name_of ? name_of(ctx, a->space, a->addr) : NULL;

        fprintf(out, "  %-4s %#12llx %-5s %-12s %10llu\r\n", a->space == STATS_PIO ? "pio" : "mmio",
                (unsigned long long)a->addr, a->is_write ? "write" : "read",
                owner ? owner : "(nothing)", (unsigned long long)a->count);
    }
    if (n > 20)
        fprintf(out, "  ... %zu more addresses\r\n", n - 20);
    if (untracked)
        fprintf(out, "  %llu exits at addresses beyond the table\r\n",
                (unsigned long long)untracked);
    free(merged);
}

static uint64_t peak_rss_kib(void)
{
    char line[256];
    unsigned long long kib = 0;
    FILE *f = fopen("/proc/self/status", "r");

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %llu kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/*
 * The guest memory's share of RSS, from the kernel's own accounting (smaps), so it is measured the
 * same way as the peak it is subtracted from (mincore would count huge pages differently): the
 * Rss of every mapping inside [guest, guest + size), in case the kernel split the region.
 */
static uint64_t guest_rss_kib(void *guest, size_t size)
{
    uintptr_t lo = (uintptr_t)guest, hi = lo + size;
    unsigned long long total = 0, kib, start, end;
    int inside = 0;
    char line[512];
    FILE *f = fopen("/proc/self/smaps", "r");

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%llx-%llx ", &start, &end) == 2)
            inside = start >= lo && end <= hi;
        else if (inside && sscanf(line, "Rss: %llu kB", &kib) == 1)
            total += kib;
    }
    fclose(f);
    return total;
}

void stats_print_memory(FILE *out, void *guest, size_t guest_size)
{
    uint64_t peak = peak_rss_kib(), in_guest = guest ? guest_rss_kib(guest, guest_size) : 0;

    /* Guest pages never leave once touched, so the count at exit is also their peak. */
    fprintf(out, "memory: peak RSS %llu KiB = guest RAM %llu KiB + VMM %llu KiB\r\n",
            (unsigned long long)peak, (unsigned long long)in_guest,
            (unsigned long long)(peak > in_guest ? peak - in_guest : 0));
}
