// SPDX-License-Identifier: MIT
/*
 * The C half of the runtime. Everything here runs at CPL3: start.S drops there as soon as the
 * descriptor tables are loaded, so even the IDT is filled in at native speed on PVM hosts.
 */
#include "guests/tiny/abi.h"
#include "guests/tiny/tiny.h"

struct idt_gate {
    uint16_t off_lo;
    uint16_t sel;
    uint8_t ist;
    uint8_t type;
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t reserved;
};

#define GATE_INTR64 0x8e /* present 64-bit interrupt gate: IF stays clear in handlers */

extern struct idt_gate tiny_idt[TINY_IDT_ENTRIES];
extern const uint64_t tiny_exc_stubs[32];
extern char tiny_kcall_entry[];

/* Entered from start.S with iretq, never called. */
__attribute__((noreturn)) void tiny_user_start(unsigned int cpu, const char *cmdline);
__attribute__((noreturn)) void tiny_exception_report(unsigned int vec, uint64_t rip, uint64_t err,
                                                     unsigned int cpu);

static void set_gate(unsigned int vec, uint64_t handler, unsigned int dpl)
{
    volatile struct idt_gate *g = &tiny_idt[vec];

    g->off_lo = (uint16_t)handler;
    g->sel = SEL_KCODE;
    g->ist = 0;
    g->type = (uint8_t)(GATE_INTR64 | dpl << 5);
    g->off_mid = (uint16_t)(handler >> 16);
    g->off_hi = (uint32_t)(handler >> 32);
    g->reserved = 0;
}

void tiny_user_start(unsigned int cpu, const char *cmdline)
{
    /*
     * Every vCPU writes the same gates: the stores are identical, so a vCPU that is already
     * done sees no change, and none of them can fault before its own copy is complete.
     */
    for (unsigned int v = 0; v < 32; v++)
        set_gate(v, tiny_exc_stubs[v], v == 3 ? 3 : 0);
    set_gate(TINY_VEC_KCALL, (uintptr_t)tiny_kcall_entry, 3);

    exit(main(cpu, cmdline ? cmdline : ""));
}

void tiny_exception_report(unsigned int vec, uint64_t rip, uint64_t err, unsigned int cpu)
{
    static int reporting[TINY_MAX_CPUS];

    /* A fault while reporting (a wrecked stack, say) must still end the guest, not loop. */
    if (__atomic_exchange_n(&reporting[cpu], 1, __ATOMIC_RELAXED))
        exit(TINY_EXIT_EXCEPTION + (int)vec);
    /* The faulting vCPU may hold the lock itself, so wait for it only so long. */
    for (int i = 0; i < 1000000 && !spin_trylock(&print_lock); i++)
        cpu_relax();
    printf_unlocked("tiny: exception %u at 0x%lx err 0x%lx\n", vec, rip, err);
    exit(TINY_EXIT_EXCEPTION + (int)vec);
}

void tiny_kcall(void (*fn)(void *), void *arg)
{
    __asm__ volatile("int %[vec]"
                     : "+a"(fn), "+D"(arg)
                     : [vec] "i"(TINY_VEC_KCALL)
                     : "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory", "cc");
}
