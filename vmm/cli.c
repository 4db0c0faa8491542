// SPDX-License-Identifier: MIT
#include "vmm/cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/core/log.h"
#include "vmm/core/pvm.h"
#include "vmm/core/stop_watch.h"
#include "vmm/core/threads.h"

static const char usage_text[] =
    "usage: kvmini run [--kernel FILE] [options]\n"
    "       kvmini --help | --version\n"
    "\n"
    "Runs a virtual machine on /dev/kvm.\n"
    "\n"
    "options for run:\n"
    "  --kernel FILE   what to boot: a bzImage, or an ELF64 (a vmlinux with a PVH entry, a tiny\n"
    "                  guest). Without it: the default guest (a small Linux with a shell), from\n"
    "                  guest/ next to kvmini or ../share/kvmini/guest from it (make install)\n"
    "  --initrd FILE   initial ramdisk, loaded high in guest RAM\n"
    "  --append STR    kernel command line\n"
    "  --mem SIZE      guest RAM, with K/M/G suffix (default 128M, at least 2M)\n"
    "  --cpus N        number of vCPUs (default 1)\n"
    "  --disk PATH[,ro][,cache=none|writeback][,serial=ID]\n"
    "                  a raw image or block device as a virtio-blk disk (up to 8; the first is\n"
    "                  /dev/vda in Linux). ro: the guest cannot write it; cache=none: O_DIRECT;\n"
    "                  serial: the GET_ID string, 20 bytes at most (default: the file name)\n"
    "  --net user[,hostfwd=tcp::HOSTPORT-:GUESTPORT]...[,mac=MAC]\n"
    "                  a virtio-net NIC on a private network with DHCP, NAT to the host's\n"
    "                  network, and host ports forwarded to the guest (no privilege needed)\n"
    "  --net tap=NAME[,mac=MAC]\n"
    "                  a virtio-net NIC on the TAP device NAME (up to 4 --net in all)\n"
    "  --console serial|virtio\n"
    "                  where the terminal is wired: COM1 (ttyS0, default) or virtio-console\n"
    "                  (hvc0: boot with console=hvc0); COM1 still shows early boot messages\n"
    "  --stats         at exit, print VM exits by reason and by address, time per vCPU\n"
    "  --seccomp on|off\n"
    "                  system call filters on kvmini's threads (default on; docs/security.md)\n"
    "\n"
    "console: Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A, Ctrl-A h shows help.\n"
    "environment (mostly for tests):\n"
    "  KVMINI_KVM_DEVICE=PATH       the KVM device to open instead of /dev/kvm\n"
    "  KVMINI_DISK_ENGINE=io_uring|threads   the disks' engine (default: io_uring where allowed)\n"
    "  KVMINI_STOP_SECONDS=N        how long a stop may take before kvmini gives up (86)\n"
    "  KVMINI_ASSUME_PVM=1          behave as on a PVM host; KVMINI_NO_EXIT_SECONDS=N: how\n"
    "                               long a guest may go without a VM exit there (84)\n"
    "  KVMINI_SECCOMP_SELFTEST=CLASS  a thread of CLASS (main, vcpu, loop, worker, watchdog)\n"
    "                               makes a forbidden call: the filter must end kvmini (159)\n"
    "exit status: the guest's (debug-exit port 0x501), 0 on power-off or reset,\n"
    "  64 usage, 65 bad kernel/initrd, 66 file not found, 69 no usable KVM, 70 kvmini error,\n"
    "  80 triple fault, 81 KVM internal/emulation error, 82 entry failed, 83 guest panic,\n"
    "  68 a --net backend cannot be set up (no such TAP, not permitted, a port in use),\n"
    "  84 no VM exit in the first seconds on a PVM host, 86 a stop did not complete in time,\n"
    "  128+N killed by signal N (159, SIGSYS: a system call the seccomp filter forbids).\n"
    "  66 also covers a --disk that is missing or in use.\n"
    "  See README.md.\n";

const char *cli_usage(void)
{
    return usage_text;
}

int parse_size(const char *s, uint64_t *out)
{
    uint64_t value = 0, mult = 1;
    const char *p = s;

    if (!s || !isdigit((unsigned char)*p))
        return -EINVAL;
    for (; isdigit((unsigned char)*p); p++) {
        if (__builtin_mul_overflow(value, 10, &value) ||
            __builtin_add_overflow(value, (uint64_t)(*p - '0'), &value))
            return -ERANGE;
    }
    switch (toupper((unsigned char)*p)) {
    case 'K':
        mult = 1ULL << 10;
        break;
    case 'M':
        mult = 1ULL << 20;
        break;
    case 'G':
        mult = 1ULL << 30;
        break;
    case 'T':
        mult = 1ULL << 40;
        break;
    case '\0':
        break;
    default:
        return -EINVAL;
    }
    if (*p) {
        p++;
        if (*p == 'i')
            p++;
        if (*p == 'B')
            p++;
    }
    if (*p)
        return -EINVAL;
    if (__builtin_mul_overflow(value, mult, out))
        return -ERANGE;
    return 0;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    log_sanitize(err); /* it quotes the user's words: one line, whatever they hold */
    return -EINVAL;
}

/* A plain decimal number that fits an unsigned int. */
static int parse_uint(const char *s, unsigned int *out)
{
    char *end;
    unsigned long n;

    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    n = strtoul(s, &end, 10);
    if (errno || *end || n > 0xffffffffUL)
        return -EINVAL;
    *out = (unsigned int)n;
    return 0;
}

/* A variable of whole seconds, 1 to max; *out keeps its default when unset. */
static int seconds_env(char *(*get)(const char *name), const char *name, unsigned int max,
                       unsigned int *out, char *err, size_t errlen)
{
    const char *v = get(name);

    if (v && (parse_uint(v, out) || *out < 1 || *out > max))
        return fail(err, errlen, "%s must be 1 to %u (got '%s'); unset it or fix it", name, max, v);
    return 0;
}

int cli_parse_env(struct vm_config *cfg, char *(*get)(const char *name), char *err, size_t errlen)
{
    const char *kvm_device = get("KVMINI_KVM_DEVICE");
    const char *assume_pvm = get("KVMINI_ASSUME_PVM");
    const char *engine_name = get("KVMINI_DISK_ENGINE");
    const char *selftest = get("KVMINI_SECCOMP_SELFTEST");
    enum disk_engine engine;
    unsigned int seconds = PVM_NO_EXIT_SECONDS, stop_seconds = STOP_WATCH_SECONDS;
    int rc;

    if ((rc = seconds_env(get, "KVMINI_NO_EXIT_SECONDS", PVM_MAX_NO_EXIT_SECONDS, &seconds, err,
                          errlen)) ||
        (rc = seconds_env(get, "KVMINI_STOP_SECONDS", STOP_WATCH_MAX_SECONDS, &stop_seconds, err,
                          errlen)))
        return rc;
    cfg->seccomp_selftest = THREAD_CLASSES;
    if (selftest && *selftest) {
        rc = thread_class_parse(selftest);
        if (rc < 0)
            return fail(err, errlen,
                        "KVMINI_SECCOMP_SELFTEST must be main, vcpu, loop, worker or watchdog "
                        "(got '%s'); unset it or fix it",
                        selftest);
        cfg->seccomp_selftest = rc;
    }
    if (disk_engine_parse(engine_name, &engine))
        return fail(err, errlen,
                    "KVMINI_DISK_ENGINE must be io_uring or threads (got '%s'); unset it or fix it",
                    engine_name);
    cfg->kvm_device = kvm_device && *kvm_device ? kvm_device : "/dev/kvm";
    cfg->assume_pvm = assume_pvm && !strcmp(assume_pvm, "1");
    cfg->no_exit_seconds = seconds;
    cfg->stop_seconds = stop_seconds;
    for (unsigned int i = 0; i < cfg->nr_disks; i++)
        cfg->disks[i].engine = engine;
    return 0;
}

/* Options that take a value accept both "--opt VALUE" and "--opt=VALUE". */
static const char *option_value(int argc, char *const argv[], int *i, const char *name)
{
    const char *arg = argv[*i];
    size_t len = strlen(name);

    if (strncmp(arg, name, len))
        return NULL;
    if (arg[len] == '=')
        return arg + len + 1;
    if (arg[len] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

/* PATH[,ro][,cache=none|writeback][,serial=ID]; a path cannot contain a comma. */
static int parse_disk(const char *v, struct vm_config *cfg, char *err, size_t errlen)
{
    struct disk_options *d;
    char *spec, *opt, *next;

    if (cfg->nr_disks == KVMINI_MAX_DISKS)
        return fail(err, errlen, "more than %d --disk options; kvmini takes at most %d",
                    KVMINI_MAX_DISKS, KVMINI_MAX_DISKS);
    d = &cfg->disks[cfg->nr_disks];
    memset(d, 0, sizeof(*d));
    spec = strdup(v);
    if (!spec)
        return fail(err, errlen, "out of memory");
    cfg->disk_specs[cfg->nr_disks++] = spec;
    d->path = spec;
    next = strchr(spec, ',');
    if (next)
        *next++ = '\0';
    if (!*d->path)
        return fail(err, errlen, "--disk '%s' has no path; use --disk FILE[,ro]", v);
    while ((opt = next)) {
        next = strchr(opt, ',');
        if (next)
            *next++ = '\0';
        if (!strcmp(opt, "ro")) {
            d->readonly = true;
        } else if (!strcmp(opt, "cache=none")) {
            d->cache = DISK_CACHE_NONE;
        } else if (!strcmp(opt, "cache=writeback")) {
            d->cache = DISK_CACHE_WRITEBACK;
        } else if (!strncmp(opt, "serial=", 7)) {
            d->serial = opt + 7;
        } else {
            return fail(err, errlen,
                        "--disk '%s': unknown option '%s'; use ro, cache=none, "
                        "cache=writeback or serial=ID",
                        v, opt);
        }
    }
    return disk_options_check(d, err, errlen);
}

void cli_config_free(struct vm_config *cfg)
{
    for (unsigned int i = 0; i < cfg->nr_disks; i++) {
        free(cfg->disk_specs[i]);
        cfg->disk_specs[i] = NULL;
    }
    cfg->nr_disks = 0;
}

static bool takes_value(const char *arg)
{
    static const char *const names[] = { "--kernel", "--initrd",  "--append", "--mem",    "--cpus",
                                         "--disk",   "--seccomp", "--net",    "--console" };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(arg, names[i]))
            return true;
    return false;
}

int cli_parse(int argc, char *const argv[], struct vm_config *cfg, enum cli_action *action,
              char *err, size_t errlen)
{
    const char *v;
    int i = 1;

    memset(cfg, 0, sizeof(*cfg));
    cfg->mem_size = CLI_DEFAULT_MEM;
    cfg->cpus = 1;
    cfg->seccomp = true;
    cfg->seccomp_selftest = THREAD_CLASSES;
    cfg->stop_seconds = STOP_WATCH_SECONDS;
    *action = CLI_RUN;

    if (argc < 2)
        return fail(err, errlen, "no command given; try 'kvmini run --kernel FILE' or --help");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        *action = CLI_HELP;
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        *action = CLI_VERSION;
        return 0;
    }
    if (strcmp(argv[1], "run"))
        return fail(err, errlen, "unknown command '%s'; the command is 'run' (see --help)",
                    argv[1]);

    for (i = 2; i < argc; i++) {
        const char *arg = argv[i];

        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            *action = CLI_HELP;
            return 0;
        }
        if (!strcmp(arg, "--stats")) {
            cfg->stats = true;
        } else if ((v = option_value(argc, argv, &i, "--console"))) {
            if (strcmp(v, "serial") && strcmp(v, "virtio"))
                return fail(err, errlen, "--console '%s': give serial or virtio", v);
            cfg->console_virtio = !strcmp(v, "virtio");
        } else if ((v = option_value(argc, argv, &i, "--seccomp"))) {
            if (strcmp(v, "on") && strcmp(v, "off"))
                return fail(err, errlen, "--seccomp '%s': give on or off", v);
            cfg->seccomp = !strcmp(v, "on");
        } else if ((v = option_value(argc, argv, &i, "--kernel"))) {
            cfg->kernel = v;
        } else if ((v = option_value(argc, argv, &i, "--initrd"))) {
            cfg->initrd = v;
        } else if ((v = option_value(argc, argv, &i, "--append"))) {
            cfg->append = v;
        } else if ((v = option_value(argc, argv, &i, "--mem"))) {
            int rc = parse_size(v, &cfg->mem_size);

            if (rc == -ERANGE)
                return fail(err, errlen, "--mem %s is too large", v);
            if (rc)
                return fail(err, errlen, "--mem '%s' is not a size; use e.g. 512M or 2G", v);
            if (cfg->mem_size < CLI_MIN_MEM)
                return fail(err, errlen, "--mem %s is too small; give at least 2M", v);
            if (cfg->mem_size & 0xfff)
                return fail(err, errlen, "--mem %s is not a multiple of 4K; use e.g. 512M", v);
        } else if ((v = option_value(argc, argv, &i, "--net"))) {
            int rc;

            if (cfg->nr_nets == KVMINI_MAX_NICS)
                return fail(err, errlen, "more than %d --net; give at most %d NICs",
                            KVMINI_MAX_NICS, KVMINI_MAX_NICS);
            rc = net_options_parse(v, &cfg->nets[cfg->nr_nets], err, errlen);
            if (rc)
                return rc;
            cfg->nr_nets++;
        } else if ((v = option_value(argc, argv, &i, "--disk"))) {
            int rc = parse_disk(v, cfg, err, errlen);

            if (rc)
                return rc;
        } else if ((v = option_value(argc, argv, &i, "--cpus"))) {
            if (parse_uint(v, &cfg->cpus))
                return fail(err, errlen, "--cpus '%s' is not a number; use e.g. --cpus 2", v);
            if (cfg->cpus == 0)
                return fail(err, errlen, "--cpus 0: a VM needs at least one vCPU");
            if (cfg->cpus > KVMINI_MAX_VCPUS)
                return fail(err, errlen, "--cpus %u is above kvmini's limit of %d", cfg->cpus,
                            KVMINI_MAX_VCPUS);
        } else if (takes_value(arg)) {
            return fail(err, errlen, "%s needs a value (see --help)", arg);
        } else {
            return fail(err, errlen, "unknown option '%s' (see --help)", arg);
        }
    }
    return 0;
}

/* dir/name into buf, if that is a file kvmini can read. */
static bool readable_in(const char *dir, const char *name, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/%s", dir, name);

    return n > 0 && (size_t)n < len && access(buf, R_OK) == 0;
}

int cli_default_guest(struct vm_config *cfg, const char *const dirs[], size_t nr_dirs, char *err,
                      size_t errlen)
{
    if (cfg->kernel)
        return 0;
    for (size_t i = 0; i < nr_dirs; i++) {
        if (!dirs[i] ||
            !readable_in(dirs[i], "bzImage", cfg->default_kernel, sizeof(cfg->default_kernel)) ||
            !readable_in(dirs[i], "initrd.cpio.gz", cfg->default_initrd,
                         sizeof(cfg->default_initrd)))
            continue;
        cfg->kernel = cfg->default_kernel;
        if (!cfg->initrd)
            cfg->initrd = cfg->default_initrd;
        if (!cfg->append)
            cfg->append = cfg->console_virtio ? "console=hvc0" : "console=ttyS0";
        return 0;
    }
    return fail(err, errlen,
                "no --kernel given, and no default guest (bzImage, initrd.cpio.gz) in %s%s%s; add "
                "--kernel FILE, or build one: make guest-kernel guest-initrd (then make install)",
                nr_dirs && dirs[0] ? dirs[0] : "", nr_dirs > 1 && dirs[1] ? " or " : "",
                nr_dirs > 1 && dirs[1] ? dirs[1] : "");
}
