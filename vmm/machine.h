/* SPDX-License-Identifier: MIT */
/*
 * The machine: a VM plus the devices of a kvmini PC, assembled from the configuration. This is
 * the one place that names every device; the rest of the core only knows buses, irqs and loops.
 */
#ifndef KVMINI_MACHINE_H
#define KVMINI_MACHINE_H

#include "vmm/cli.h"
#include "vmm/image.h"
#include "vmm/vm.h"

struct console;
struct debugdev;
struct pci_bus;

struct machine {
    struct vm vm;
    struct console *console; /* kept for restoring the terminal */
    struct debugdev *debug;  /* kept for the boot-time marks in --stats */
    struct pci_bus *pci;     /* where PCI devices (virtio) are plugged in */
    uint64_t started_ns;     /* when main() started: the origin of every time in --stats */
};

/*
 * Creates the VM (taking kvm_fd), loads the kernel and initrd, writes the boot tables and adds
 * the devices. started_ns is when kvmini started, for --stats. Returns 0 or the exit status to use;
 * on failure call machine_destroy().
 */
int machine_create(struct machine *m, int kvm_fd, const struct vm_config *cfg,
                   const struct boot_files *files, uint64_t started_ns);

/* After the run: restores the terminal, prints why the VM stopped and --stats. */
void machine_finish(struct machine *m, enum stop_cause cause, int status);

void machine_destroy(struct machine *m);

#endif
