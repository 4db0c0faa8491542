/* SPDX-License-Identifier: MIT */
/*
 * A virtual machine: the KVM VM fd, guest memory, the two buses, the interrupt plumbing, the event
 * loop and the vCPUs. The VM names no device: the code that assembles a machine (machine.c)
 * creates devices, hands them the buses/irq/loop, and registers a destructor here.
 */
#ifndef KVMINI_VM_H
#define KVMINI_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/core/bus.h"
#include "vmm/core/evloop.h"
#include "vmm/mem/gmem.h"
#include "vmm/core/irq.h"
#include "vmm/core/irqroute.h"
#include "vmm/core/log.h"
#include "vmm/core/stats.h"
#include "vmm/core/stop.h"
#include "vmm/core/stop_watch.h"
#include "vmm/core/threads.h"
#include "vmm/core/vcpu.h"

/* The fixed PC devices (about 11) plus a virtio device and its transport per disk and NIC. */
#define VM_MAX_DEVICES 48

struct vm_device {
    const char *name;
    void *dev;
    void (*destroy)(void *dev);
};

/* Called with the vector when a level-triggered interrupt is acknowledged (split irqchip). */
struct eoi_listener {
    void (*eoi)(void *ctx, uint8_t vector);
    void *ctx;
};

struct vm {
    int kvm_fd;
    int vm_fd;
    int run_size;
    bool is_pvm; /* the host's KVM is PVM: CPL0 guest code is emulated (vmm/core/pvm.h) */
    bool split_irqchip;
    bool readonly_mem;
    bool tsc_deadline; /* the in-kernel LAPIC can do TSC-deadline mode */
    uint32_t tsc_khz;

    struct gmem mem;
    struct bus pio;
    struct bus mmio;
    struct evloop loop;
    struct stopper stopper;  /* what devices call to stop the VM */
    struct irq_sink irq;     /* what devices raise interrupts through */
    struct msi_sender msi;   /* what an emulated IOAPIC delivers through */
    struct eoi_listener eoi; /* set by whoever emulates the IOAPIC */

    struct irqroute routes;       /* KVM's GSI routing: IOAPIC pin routes, MSI routes, irqfds */
    struct irq_routes irq_routes; /* what PCI devices bind MSI-X and doorbells through */
    struct pin_routes pin_routes; /* what kvmini's IOAPIC publishes its pins' MSIs through */

    unsigned int nr_vcpus;
    unsigned int nr_vcpus_planned; /* what CPUID reports, set before any vCPU exists */
    struct vcpu *vcpus;
    struct kvm_cpuid2 *cpuid;

    struct vm_device devices[VM_MAX_DEVICES];
    unsigned int nr_devices;

    int signal_fd;                /* SIGINT/SIGTERM/SIGHUP, read on the event loop */
    bool any_exit;                /* some vCPU has returned from KVM_RUN with an exit (atomic) */
    int no_exit_timer_fd;         /* PVM hosts: the no-exit watch (vmm/core/pvm.h), or -1 */
    unsigned int no_exit_seconds; /* PVM hosts: how long a guest may go without one */
    bool stats_enabled;
    struct log_budget unmapped_warnings; /* accesses to unmapped addresses: a guest can loop */

    struct threads threads;    /* every thread the VM runs; machine.c sets their guard */
    struct stop_watch watch;   /* a stop completes within stop_seconds, or kvmini exits */
    unsigned int stop_seconds; /* 0: STOP_WATCH_SECONDS */

    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    bool go; /* every thread is guarded: vCPUs may run the guest (under stop_lock) */
    enum stop_cause stop_cause;
    int stop_status;
    volatile int stopping; /* read by vCPU threads between exits */
};

/*
 * Opens kvm_dev and checks the API version and the capabilities kvmini needs. On failure prints
 * one line saying what is wrong and how to fix it, and returns -errno.
 */
int kvm_open_checked(const char *kvm_dev, int *kvm_fd);

/* Largest vCPU count KVM allows for one VM. */
unsigned int kvm_max_vcpus(int kvm_fd);

/*
 * Creates the VM: memory of mem_size with its memslots, the irqchip (split when KVM can),
 * nr_vcpus vCPUs with CPUID, the event loop. Takes ownership of kvm_fd. 0 or -errno (printed).
 */
int vm_create(struct vm *vm, int kvm_fd, uint64_t mem_size, unsigned int nr_vcpus);

/* Registers dev to be destroyed, in reverse order of registration, when the VM is. */
int vm_add_device(struct vm *vm, const char *name, void *dev, void (*destroy)(void *dev));

/*
 * Blocks SIGINT, SIGTERM, SIGHUP (and SIGUSR1, the vCPU kick, and SIGWINCH, which the console
 * reads from a signalfd of its own) in the calling thread and the threads it starts. Call first
 * thing in main(): one that arrives while the VM is being set up then waits for vm_run()'s signalfd
 * and stops the VM the orderly way (the terminal restored), instead of killing kvmini half-way.
 */
void vm_block_stop_signals(void);

/*
 * Freezes the buses, starts the stop watchdog, the event loop and the vCPUs, guards the calling
 * thread as the main one, lets the vCPUs run, and waits for a stop request.
 */
int vm_run(struct vm *vm, enum stop_cause *cause, int *status);

/*
 * Called by each vCPU thread before it first runs the guest: waits until every thread of the VM
 * has its guard on. false: the VM stopped meanwhile, do not run.
 */
bool vm_wait_go(struct vm *vm);

/* Asks the VM to stop; the first request wins. Safe from any thread. */
void vm_request_stop(struct vm *vm, enum stop_cause cause, int status);

/* Destroys devices in reverse order, then vCPUs, memory and fds. Safe on a partial VM. */
void vm_destroy(struct vm *vm);

#endif
