// SPDX-License-Identifier: MIT
/*
 * CPUID: what KVM can offer (KVM_GET_SUPPORTED_CPUID), adjusted per vCPU so each one reports its
 * own APIC id and the VM's topology, with the hypervisor leaves that tell a guest it runs on KVM.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/core/log.h"
#include "vmm/core/vm.h"

#define CPUID_MAX_ENTRIES 256
#define HV_LEAF_BASE      0x40000000u
#define HV_LEAF_TIMING    0x40000010u /* EAX: TSC kHz, EBX: APIC bus kHz (VMware's layout) */
#define KVM_APIC_BUS_KHZ  1000000u    /* KVM's emulated APIC timer runs at 1 GHz */

int cpuid_init(struct vm *vm)
{
    size_t size = sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *c = calloc(1, size);

    if (!c)
        return -ENOMEM;
    c->nent = CPUID_MAX_ENTRIES - 1; /* one spare for the timing leaf */
    if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
        int rc = -errno;

        log_error("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(-rc));
        free(c);
        return rc;
    }
    vm->cpuid = c;
    return 0;
}

static struct kvm_cpuid_entry2 *find_leaf(struct kvm_cpuid2 *c, uint32_t fn)
{
    for (uint32_t i = 0; i < c->nent; i++)
        if (c->entries[i].function == fn)
            return &c->entries[i];
    return NULL;
}

int cpuid_apply(struct vm *vm, struct vcpu *vcpu)
{
    size_t size = sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *c = malloc(size);
    struct kvm_cpuid_entry2 *e;
    uint32_t id = vcpu->index;
    int rc = 0;

    if (!c)
        return -ENOMEM;
    memcpy(c, vm->cpuid, sizeof(*c) + vm->cpuid->nent * sizeof(c->entries[0]));

    for (uint32_t i = 0; i < c->nent; i++) {
        e = &c->entries[i];
        switch (e->function) {
        case 1:
            /* Initial APIC id, and all vCPUs as logical processors of one package. */
            e->ebx = (e->ebx & 0x0000ffffu) | (id << 24) | ((vm->nr_vcpus_planned & 0xff) << 16);
            if (vm->nr_vcpus_planned > 1)
                e->edx |= 1u << 28; /* HTT: the count above is valid */
            e->ecx |= 1u << 31;     /* running under a hypervisor */
            /*
             * KVM's LAPIC emulates TSC-deadline mode but leaves advertising it to us. Without
             * it, and with no PIT to calibrate the LAPIC timer against, Linux has no timer.
             */
            if (vm->tsc_deadline)
                e->ecx |= 1u << 24;
            break;
        case 0xb:
        case 0x1f:
            e->edx = id; /* x2APIC id, in every sub-leaf */
            break;
        case HV_LEAF_BASE:
            if (e->eax < HV_LEAF_TIMING && vm->tsc_khz)
                e->eax = HV_LEAF_TIMING;
            break;
        default:
            break;
        }
    }
    if (vm->tsc_khz && !find_leaf(c, HV_LEAF_TIMING) && find_leaf(c, HV_LEAF_BASE)) {
        e = &c->entries[c->nent++];
        *e = (struct kvm_cpuid_entry2){
            .function = HV_LEAF_TIMING,
            .eax = vm->tsc_khz,
            .ebx = KVM_APIC_BUS_KHZ,
        };
    }
    if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0) {
        rc = -errno;
        log_error("KVM_SET_CPUID2 failed on vCPU %u: %s", vcpu->index, strerror(-rc));
    }
    free(c);
    return rc;
}
