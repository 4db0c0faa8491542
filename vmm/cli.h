/* SPDX-License-Identifier: MIT */
/* The command line: parsed and checked for form here; checks against the host come later. */
#ifndef KVMINI_CLI_H
#define KVMINI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/disk/disk.h"
#include "devices/net/netdev.h"

#define CLI_DEFAULT_MEM (128ULL << 20)
#define CLI_MIN_MEM     (2ULL << 20)
/*
 * kvmini's own vCPU limit, checked with the command line (the tiny runtime sizes its tables for
 * this many; machine.c asserts the firmware tables can describe them). main.c lowers it to what
 * KVM allows once /dev/kvm is open.
 */
#define KVMINI_MAX_VCPUS 64

enum cli_action {
    CLI_RUN,
    CLI_HELP,
    CLI_VERSION,
};

#define KVMINI_MAX_DISKS 8

struct vm_config {
    const char *kernel;
    const char *initrd;
    const char *append;
    uint64_t mem_size;
    unsigned int cpus;
    bool stats;
    bool seccomp;        /* --seccomp on|off (default on) */
    bool console_virtio; /* --console virtio: hvc0 gets the terminal (default: the UART) */
    /* Each --disk PATH[,ro][,cache=none|writeback][,serial=ID], as disk_open() takes it; the
     * strings point into disk_specs[i], an owned copy of the argument. */
    struct disk_options disks[KVMINI_MAX_DISKS];
    char *disk_specs[KVMINI_MAX_DISKS];
    unsigned int nr_disks;
    struct net_options nets[KVMINI_MAX_NICS]; /* each --net, in order */
    unsigned int nr_nets;
    /* The default guest's files, when no --kernel was given (cli_default_guest). */
    char default_kernel[4096];
    char default_initrd[4096];
    /* From the environment (cli_parse_env), for tests: README lists the variables. */
    const char *kvm_device;       /* KVMINI_KVM_DEVICE, or /dev/kvm */
    bool assume_pvm;              /* KVMINI_ASSUME_PVM=1: behave as on a PVM host */
    unsigned int no_exit_seconds; /* KVMINI_NO_EXIT_SECONDS: see vmm/core/pvm.h */
    unsigned int stop_seconds;    /* KVMINI_STOP_SECONDS: see vmm/core/stop_watch.h */
    int seccomp_selftest; /* KVMINI_SECCOMP_SELFTEST: a thread class (vmm/seccomp.h), or none */
};

/*
 * Parses argv. Returns 0 and fills cfg/action, or -EINVAL with a one-line message in err that
 * names the problem and the fix.
 */
int cli_parse(int argc, char *const argv[], struct vm_config *cfg, enum cli_action *action,
              char *err, size_t errlen);

/*
 * With no --kernel: the default guest, the first of dirs holding bzImage and initrd.cpio.gz,
 * with console=ttyS0 (or hvc0) when no --append was given. 0, or -EINVAL with one line in err
 * saying where kvmini looked and how to build one.
 */
int cli_default_guest(struct vm_config *cfg, const char *const dirs[], size_t nr_dirs, char *err,
                      size_t errlen);

/*
 * After cli_parse(): the environment variables kvmini reads (KVMINI_KVM_DEVICE, KVMINI_ASSUME_PVM,
 * KVMINI_NO_EXIT_SECONDS, KVMINI_STOP_SECONDS, KVMINI_DISK_ENGINE, KVMINI_SECCOMP_SELFTEST), looked
 * up with get (getenv, or a test's), into cfg. The program reads the environment here and nowhere
 * else. 0, or -EINVAL with a one-line message in err.
 */
int cli_parse_env(struct vm_config *cfg, char *(*get)(const char *name), char *err, size_t errlen);

/* Frees what cli_parse() allocated (the --disk copies); safe after a failed parse. */
void cli_config_free(struct vm_config *cfg);

/*
 * A size: digits with an optional K, M, G or T suffix (powers of 1024, optional "B"/"iB"),
 * a plain number is bytes. Returns 0, -EINVAL for bad form, -ERANGE on overflow.
 */
int parse_size(const char *s, uint64_t *out);

/* Usage text for --help. */
const char *cli_usage(void);

#endif
