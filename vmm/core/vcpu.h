/* SPDX-License-Identifier: MIT */
/*
 * One vCPU: its KVM fd and run area, the state it boots in, and the thread that runs it (KVM_RUN,
 * then the exit switch). The VM (vm.h) owns an array of them; CPUID is set per vCPU (cpuid.c).
 */
#ifndef KVMINI_VCPU_H
#define KVMINI_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

#include "vmm/core/stats.h"

struct vm;

struct vcpu {
    struct vm *vm;
    unsigned int index; /* also its APIC id */
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    bool started;
    struct kvm_regs boot_regs;
    struct kvm_sregs boot_sregs;
    bool wait_for_sipi;   /* an AP that sleeps until the BSP sends INIT/SIPI */
    unsigned int in_hand; /* atomic: 0 in KVM_RUN, else the exit being handled + 1 (reports) */
    struct vcpu_stats stats;
};

/* Creates vCPU index of vm (KVM fd, run area, CPUID). 0 or -errno (printed). */
int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int index);
/* Loads boot_regs/boot_sregs, or parks an AP until INIT/SIPI (wait_for_sipi). 0 or -errno. */
int vcpu_set_boot_state(struct vcpu *vcpu);
/* Starts the vCPU's thread. 0 or -errno. */
int vcpu_start(struct vcpu *vcpu);
/* Makes the vCPU leave KVM_RUN soon (a stop is pending). Safe from any thread. */
void vcpu_kick(struct vcpu *vcpu);
/* Unmaps the run area and closes the fd; the thread must have ended. */
void vcpu_destroy(struct vcpu *vcpu);

/* CPUID (cpuid.c): fetched once per VM, specialised per vCPU (APIC id, topology). 0 or -errno. */
int cpuid_init(struct vm *vm);
int cpuid_apply(struct vm *vm, struct vcpu *vcpu);

#endif
