/* SPDX-License-Identifier: MIT */
/*
 * The machine: a VM plus the devices of a kvmini PC, assembled from the configuration. This is
 * the one place that names every device; the rest of the core only knows buses, irqs and loops.
 */
#ifndef KVMINI_MACHINE_H
#define KVMINI_MACHINE_H

#include "devices/disk/disk.h"
#include "vmm/cli.h"
#include "vmm/image.h"
#include "vmm/core/vm.h"

struct blk;
struct net;
struct console;
struct serial;
struct vcon;
struct debugdev;
struct pci_bus;
struct sandbox;

/* The --disk images, opened and locked before KVM is touched; machine_create() takes them. */
struct machine_disks {
    struct disk disk[KVMINI_MAX_DISKS];
    unsigned int n;
};

struct machine {
    struct vm vm;
    struct console *console;           /* kept for restoring the terminal */
    struct serial *serial;             /* COM1, which hvc0's output room also wakes */
    struct vcon *vcon;                 /* --console virtio: hvc0, or NULL */
    struct debugdev *debug;            /* kept for the boot-time marks in --stats */
    struct pci_bus *pci;               /* where PCI devices (virtio) are plugged in */
    struct blk *blk[KVMINI_MAX_DISKS]; /* kept for --stats */
    unsigned int nr_blk;
    struct net *nic[KVMINI_MAX_NICS]; /* kept for --stats */
    unsigned int nr_nics;
    uint64_t started_ns;     /* when main() started: the origin of every time in --stats */
    struct sandbox *sandbox; /* the seccomp filters (vmm/seccomp.h), or NULL with --seccomp off */
};

/* The --net backends, opened before KVM is touched; machine_create() takes them. */
struct machine_nets {
    struct net_backend *be[KVMINI_MAX_NICS];
    unsigned int n;
};

/*
 * Opens and locks every --disk. 0, or the exit status (EXIT_NO_FILE) after printing one line that
 * names the image and the fix; nothing stays open then.
 */
int machine_open_disks(struct machine_disks *disks, const struct vm_config *cfg);
/* Closes the disks machine_create() did not take. */
void machine_close_disks(struct machine_disks *disks);

/*
 * Opens every --net backend (a TAP, user networking with its forwarded ports). 0, or the exit
 * status (EXIT_NO_NET) after printing one line that names the problem and the fix.
 */
int machine_open_nets(struct machine_nets *nets, const struct vm_config *cfg);
/* Closes the backends machine_create() did not take. */
void machine_close_nets(struct machine_nets *nets);

/*
 * Creates the VM (taking kvm_fd), loads the kernel and initrd, writes the boot tables and adds
 * the devices, taking over the disks and network backends. started_ns is when kvmini started, for
 * --stats. Returns 0 or the exit status to use; on failure call machine_destroy() and
 * machine_close_disks().
 */
int machine_create(struct machine *m, int kvm_fd, const struct vm_config *cfg,
                   struct boot_files *files, struct machine_disks *disks, struct machine_nets *nets,
                   uint64_t started_ns);

/* After the run: restores the terminal, prints why the VM stopped and --stats. */
void machine_finish(struct machine *m, enum stop_cause cause, int status);

void machine_destroy(struct machine *m);

#endif
