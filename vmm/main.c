// SPDX-License-Identifier: MIT
/*
 * kvmini: parse and check everything that can be checked, create the VM, run it, report, exit.
 * Every check that does not need KVM runs before /dev/kvm is opened, so bad input gets a clear
 * answer on any machine.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/cli.h"
#include "vmm/image.h"
#include "vmm/core/fatal.h"
#include "vmm/core/log.h"
#include "vmm/machine.h"
#include "vmm/core/vm.h"

static uint64_t host_ram_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);

    return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
}

static int check_host_limits(const struct vm_config *cfg)
{
    uint64_t host = host_ram_bytes();

    if (host && cfg->mem_size > host) {
        log_error("--mem %llu MiB is more than this host's %llu MiB of RAM; give less",
                  (unsigned long long)(cfg->mem_size >> 20), (unsigned long long)(host >> 20));
        return EXIT_USAGE;
    }
    return 0;
}

/*
 * The default guest: guest/ next to the binary (a build tree), or ../share/kvmini/guest from it
 * (installed under any prefix, or unpacked from the package anywhere).
 */
static int default_guest(struct vm_config *cfg, char *err, size_t len)
{
    static const char *const subdirs[2] = { "guest", "../share/kvmini/guest" };
    char exe[4096], dirs_buf[2][4200], *slash;
    const char *dirs[2] = { NULL, NULL };
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n > 0) {
        exe[n] = '\0';
        if ((slash = strrchr(exe, '/'))) {
            *slash = '\0';
            for (int i = 0; i < 2; i++) {
                snprintf(dirs_buf[i], sizeof(dirs_buf[i]), "%s/%s", exe, subdirs[i]);
                dirs[i] = dirs_buf[i];
            }
        }
    }
    return cli_default_guest(cfg, dirs, 2, err, len);
}

int main(int argc, char **argv)
{
    char err[256];
    struct vm_config cfg;
    enum cli_action action;
    struct boot_files files;
    struct machine machine;
    struct machine_disks disks = { .n = 0 };
    struct machine_nets nets = { .n = 0 };
    enum stop_cause cause = STOP_NONE;
    int kvm_fd, stop_status = 0, rc;
    unsigned int max;
    uint64_t started_ns = stats_now_ns();

    vm_block_stop_signals();
    fatal_handlers_install();
    memset(&files, 0, sizeof(files));
    /* A closed stdout must surface as a write error, not kill kvmini with the guest mid-write. */
    signal(SIGPIPE, SIG_IGN);
    if (cli_parse(argc, argv, &cfg, &action, err, sizeof(err))) {
        log_error("%s", err);
        cli_config_free(&cfg);
        return EXIT_USAGE;
    }
    if (cli_parse_env(&cfg, getenv, err, sizeof(err))) {
        log_error("%s", err);
        cli_config_free(&cfg);
        return EXIT_USAGE;
    }
    if (action == CLI_RUN && default_guest(&cfg, err, sizeof(err))) {
        log_error("%s", err);
        cli_config_free(&cfg);
        return EXIT_USAGE;
    }
    if (action == CLI_HELP || action == CLI_VERSION) {
        if (action == CLI_HELP)
            fputs(cli_usage(), stdout);
        else
            printf("kvmini %s\n", KVMINI_VERSION);
        cli_config_free(&cfg);
        return EXIT_OK;
    }
    if ((rc = check_host_limits(&cfg)) ||
        (rc = boot_files_open(&files, cfg.kernel, cfg.initrd, cfg.append, cfg.mem_size)))
        goto out_files;
    /* Opened and locked now, so a missing or busy image is reported before KVM is. */
    if ((rc = machine_open_disks(&disks, &cfg)))
        goto out_files;
    if ((rc = machine_open_nets(&nets, &cfg)))
        goto out_disks;

    if (kvm_open_checked(cfg.kvm_device, &kvm_fd)) {
        rc = EXIT_NO_KVM;
        goto out_disks;
    }
    max = kvm_max_vcpus(kvm_fd);
    if (cfg.cpus > max) {
        log_error("--cpus %u is more than this KVM allows (%u); give at most %u", cfg.cpus, max,
                  max);
        close(kvm_fd);
        rc = EXIT_USAGE;
        goto out_disks;
    }

    if ((rc = machine_create(&machine, kvm_fd, &cfg, &files, &disks, &nets, started_ns))) {
        machine_destroy(&machine);
        goto out_disks;
    }
    /* The guest has its own copy of everything now. */
    boot_files_close(&files);

    if (vm_run(&machine.vm, &cause, &stop_status) < 0 && cause == STOP_NONE)
        cause = STOP_VMM_ERROR;
    machine_finish(&machine, cause, stop_status);
    machine_destroy(&machine);
    rc = stop_exit_status(cause, stop_status);

out_disks:
    machine_close_nets(&nets);
    machine_close_disks(&disks);
out_files:
    boot_files_close(&files);
    cli_config_free(&cfg);
    return rc;
}
