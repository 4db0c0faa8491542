/* SPDX-License-Identifier: MIT */
/*
 * The CPL3 library of the tiny guests. Everything here runs at CPL3 with IOPL=3 and a TSS I/O
 * bitmap that allows every port, so port I/O and MMIO exit straight to the VMM without any CPL0
 * code in between, on hosts that honour IOPL at CPL3 and on those that do not.
 *
 * The runtime reads one word of the command line itself: `tiny.iopl=0` runs main() with IOPL 0,
 * the way a host that ignores IOPL does, so that tests can show the bitmap alone is enough.
 */
#ifndef TINY_H
#define TINY_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/layout.h"

/* Each program defines this; it runs on every vCPU at CPL3 (cpu = initial APIC id). */
int main(unsigned int cpu, const char *cmdline);

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;

    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;

    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;

    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* A plain mov: the form every VMM's MMIO instruction decoder handles. */
static inline uint32_t mmio_read32(uint64_t addr)
{
    return *(volatile uint32_t *)(uintptr_t)addr;
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)addr = v;
}

/* LFENCE keeps earlier instructions from drifting past the timestamp. */
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

struct cpuid_regs {
    uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_regs r;

    __asm__ volatile("cpuid"
                     : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                     : "a"(leaf), "c"(subleaf));
    return r;
}

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" : : : "memory");
}

/* vCPUs the VMM started: kvmini puts the count in CPUID.1:EBX[23:16]; 0 means one. */
unsigned int cpu_count(void);

typedef struct {
    int locked;
} spinlock_t;

void spin_lock(spinlock_t *l);
int spin_trylock(spinlock_t *l);
void spin_unlock(spinlock_t *l);

/*
 * Output goes to the COM1 8250. printf and puts hold print_lock so vCPUs do not interleave
 * lines; hold it yourself and use printf_unlocked to build one line from several calls.
 */
extern spinlock_t print_lock;
void serial_putc(char c);
void serial_write(const char *s);
int puts(const char *s); /* appends a newline, like libc */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int printf_unlocked(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes V to the debug-exit port (kvmini exits with status V), then spins if that returns. */
__attribute__((noreturn)) void exit(int v);
/* For vCPUs with nothing left to do: CPL3 cannot hlt, so they spin on pause. */
__attribute__((noreturn)) void park(void);

/*
 * Finds "key=value" (or a bare "key", value "") among the space-separated words of cmdline and
 * copies the value, truncated to len - 1 bytes, into buf. Returns 1 if found, 0 if not.
 */
int cmdline_get(const char *cmdline, const char *key, char *buf, size_t len);
/* Decimal or 0x-prefixed hex; 0 on success, -1 on junk, an empty string or overflow. */
int parse_uint(const char *s, uint64_t *out);
/* The key's value as a number, or def when it is missing or malformed. */
uint64_t cmdline_uint(const char *cmdline, const char *key, uint64_t def);

/*
 * Runs fn(arg) at CPL0 on this CPU's kernel stack and returns to CPL3. For the rare privileged
 * operation only: on PVM hosts fn is emulated instruction by instruction.
 */
void tiny_kcall(void (*fn)(void *), void *arg);

/*
 * An exception ends the guest: the runtime prints "tiny: exception V at RIP err E" from CPL0 and
 * exits with TINY_EXIT_EXCEPTION + V. A program may set this hook to print more first; it runs at
 * CPL0 with print_lock held (so print with printf_unlocked), and if it faults in turn the guest
 * ends at once with TINY_EXIT_NESTED_FAULT.
 */
extern void (*tiny_exception_hook)(unsigned int vec, uint64_t rip);

/* RFLAGS.IOPL as this CPU sees it: 3 as the runtime asks, 0 where the host ignores that. */
static inline unsigned int current_iopl(void)
{
    uint64_t rflags;

    __asm__ volatile("pushfq; popq %0" : "=r"(rflags));
    return (unsigned int)(rflags >> 12) & 3;
}

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
