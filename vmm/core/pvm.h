/* SPDX-License-Identifier: MIT */
/*
 * What kvmini does differently on a PVM host: a software KVM that runs guest CPL3 code natively
 * but emulates CPL0 code slowly and incompletely, so a stock kernel cannot boot there
 * (docs/testing.md). kvmini explains that when a guest fails, and stops a guest that has not made
 * a single VM exit a few seconds after the start, which is how a stock kernel dies on some PVM
 * builds: silently, in emulated CPL0 code, with nothing for a user to see.
 */
#ifndef KVMINI_PVM_H
#define KVMINI_PVM_H

#include <stdbool.h>

struct vm;

/* Seconds without any VM exit after which a guest on a PVM host is stopped (and the most a test
 * may set through KVMINI_NO_EXIT_SECONDS). */
#define PVM_NO_EXIT_SECONDS     5
#define PVM_MAX_NO_EXIT_SECONDS 3600

/* Whether the host's KVM is PVM (kvm_pvm is loaded), or assume_pvm, so tests can check this
 * behaviour on other hosts. */
bool pvm_host_detect(bool assume_pvm);

/* One line: why a guest's CPL0 code fails on PVM, and where it can run instead. */
void pvm_explain(void);

/*
 * On a PVM host (vm->is_pvm), arms the no-exit watch on the VM's event loop before it starts: if
 * no vCPU has exited after vm->no_exit_seconds, the VM stops with STOP_NO_EXITS. A guest that has
 * made any exit is never stopped this way. 0 or -errno; does nothing elsewhere.
 */
int pvm_watch_start(struct vm *vm);

/* Closes the watch's timer; safe when it was never armed. */
void pvm_watch_fini(struct vm *vm);

/* After a STOP_NO_EXITS and once the vCPU threads have ended: where each vCPU was, and why. */
void pvm_report_no_exits(struct vm *vm);

#endif
