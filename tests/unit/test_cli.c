// SPDX-License-Identifier: MIT
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/cli.h"
#include "vmm/core/pvm.h"
#include "vmm/core/stop_watch.h"
#include "vmm/core/threads.h"
#include "vmm/core/stop.h"
#include "tests/unit/unit.h"

static int parse(struct vm_config *cfg, char *err, const char *const *args, int n)
{
    enum cli_action action;

    return cli_parse(n, (char *const *)args, cfg, &action, err, 256);
}

#define PARSE(cfg, err, ...)                                                                       \
    parse(cfg, err, (const char *const[]){ "kvmini", __VA_ARGS__ },                                \
          (int)(sizeof((const char *const[]){ "kvmini", __VA_ARGS__ }) / sizeof(char *)))

START_TEST(sizes_take_suffixes)
{
    uint64_t v;

    ck_assert_int_eq(parse_size("4096", &v), 0);
    ck_assert_uint_eq(v, 4096);
    ck_assert_int_eq(parse_size("64K", &v), 0);
    ck_assert_uint_eq(v, 64 << 10);
    ck_assert_int_eq(parse_size("512m", &v), 0);
    ck_assert_uint_eq(v, 512ULL << 20);
    ck_assert_int_eq(parse_size("2G", &v), 0);
    ck_assert_uint_eq(v, 2ULL << 30);
    ck_assert_int_eq(parse_size("2GiB", &v), 0);
    ck_assert_int_eq(parse_size("1T", &v), 0);
    ck_assert_uint_eq(v, 1ULL << 40);
    ck_assert_int_eq(parse_size("", &v), -EINVAL);
    ck_assert_int_eq(parse_size("G", &v), -EINVAL);
    ck_assert_int_eq(parse_size("-1", &v), -EINVAL);
    ck_assert_int_eq(parse_size("12X", &v), -EINVAL);
    ck_assert_int_eq(parse_size("1GG", &v), -EINVAL);
    ck_assert_int_eq(parse_size("1.5G", &v), -EINVAL);
    ck_assert_int_eq(parse_size("99999999999999999999", &v), -ERANGE);
    ck_assert_int_eq(parse_size("17179869184G", &v), -ERANGE);
}
END_TEST

START_TEST(run_options)
{
    struct vm_config cfg;
    char err[256];

    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k.elf", "--mem", "256M", "--cpus=2",
                           "--append", "console=ttyS0 quiet", "--initrd=i.cpio", "--stats"),
                     0);
    ck_assert_str_eq(cfg.kernel, "k.elf");
    ck_assert_uint_eq(cfg.mem_size, 256ULL << 20);
    ck_assert_uint_eq(cfg.cpus, 2);
    ck_assert_str_eq(cfg.append, "console=ttyS0 quiet");
    ck_assert_str_eq(cfg.initrd, "i.cpio");
    ck_assert(cfg.stats);

    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k"), 0);
    ck_assert_uint_eq(cfg.mem_size, CLI_DEFAULT_MEM);
    ck_assert_uint_eq(cfg.cpus, 1);
    ck_assert(cfg.seccomp);

    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--seccomp", "off"), 0);
    ck_assert(!cfg.seccomp);
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--seccomp=on"), 0);
    ck_assert(cfg.seccomp);
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--seccomp", "no"), -EINVAL);
    ck_assert_str_eq(err, "--seccomp 'no': give on or off");
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--seccomp"), -EINVAL);
    ck_assert_str_eq(err, "--seccomp needs a value (see --help)");
}
END_TEST

START_TEST(bad_input_names_the_problem)
{
    struct vm_config cfg;
    char err[256];

    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--mem", "0"), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "--mem"));
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--mem", "1M"), -EINVAL);
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--mem", "lots"), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not a size"));
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--cpus", "0"), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "at least one"));
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--cpus", "65"), -EINVAL);
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--cpus", "-1"), -EINVAL);
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--cpus", "2x"), -EINVAL);
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--frobnicate"), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unknown option '--frobnicate'"));
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel"), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "needs a value"));
    ck_assert_int_eq(PARSE(&cfg, err, "run"), 0); /* the default guest: cli_default_guest() */
    ck_assert_ptr_null(cfg.kernel);
    ck_assert_int_eq(PARSE(&cfg, err, "start"), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unknown command"));
}
END_TEST

START_TEST(disks)
{
    struct vm_config cfg;
    char err[256];

    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--disk", "a.img", "--disk=b.img,ro",
                           "--disk", "/dev/sdz,cache=none,serial=data-1,cache=writeback,ro"),
                     0);
    ck_assert_uint_eq(cfg.nr_disks, 3);
    ck_assert_str_eq(cfg.disks[0].path, "a.img");
    ck_assert(!cfg.disks[0].readonly && cfg.disks[0].cache == DISK_CACHE_WRITEBACK &&
              !cfg.disks[0].serial);
    ck_assert_str_eq(cfg.disks[1].path, "b.img");
    ck_assert(cfg.disks[1].readonly);
    ck_assert_str_eq(cfg.disks[2].path, "/dev/sdz");
    ck_assert_str_eq(cfg.disks[2].serial, "data-1");
    ck_assert(cfg.disks[2].readonly); /* the last cache= wins: */
    ck_assert_int_eq(cfg.disks[2].cache, DISK_CACHE_WRITEBACK);
    cli_config_free(&cfg);
    ck_assert_uint_eq(cfg.nr_disks, 0);

    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--disk", "a,rw"), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unknown option 'rw'"));
    cli_config_free(&cfg);
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--disk", ",ro"), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "no path"));
    cli_config_free(&cfg);
    ck_assert_int_eq(
        PARSE(&cfg, err, "run", "--kernel", "k", "--disk", "a,serial=123456789012345678901"),
        -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "20 bytes"));
    cli_config_free(&cfg);
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--disk"), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "needs a value"));
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--disk", "1", "--disk", "2",
                           "--disk", "3", "--disk", "4", "--disk", "5", "--disk", "6", "--disk",
                           "7", "--disk", "8", "--disk", "9"),
                     -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "at most 8"));
    cli_config_free(&cfg);
}
END_TEST

/* A fake environment for cli_parse_env(): NAME=VALUE pairs. */
static const char *const *fake_env;

static char *fake_getenv(const char *name)
{
    size_t n = strlen(name);

    for (const char *const *e = fake_env; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=')
            return (char *)*e + n + 1;
    return NULL;
}

static int parse_env(struct vm_config *cfg, char *err, const char *const *env)
{
    fake_env = env;
    return cli_parse_env(cfg, fake_getenv, err, 256);
}

START_TEST(environment)
{
    struct vm_config cfg;
    char err[256];

    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--disk", "a", "--disk", "b"), 0);
    ck_assert_int_eq(parse_env(&cfg, err, NULL), 0);
    ck_assert_str_eq(cfg.kvm_device, "/dev/kvm");
    ck_assert(!cfg.assume_pvm);
    ck_assert_uint_eq(cfg.no_exit_seconds, PVM_NO_EXIT_SECONDS);
    ck_assert_int_eq(cfg.disks[1].engine, DISK_ENGINE_AUTO);
    ck_assert_int_eq(
        parse_env(&cfg, err,
                  (const char *const[]){ "KVMINI_KVM_DEVICE=/tmp/kvm", "KVMINI_ASSUME_PVM=1",
                                         "KVMINI_NO_EXIT_SECONDS=2", "KVMINI_DISK_ENGINE=threads",
                                         NULL }),
        0);
    ck_assert_str_eq(cfg.kvm_device, "/tmp/kvm");
    ck_assert(cfg.assume_pvm);
    ck_assert_uint_eq(cfg.no_exit_seconds, 2);
    ck_assert_int_eq(cfg.disks[0].engine, DISK_ENGINE_THREADS);
    ck_assert_int_eq(cfg.disks[1].engine, DISK_ENGINE_THREADS);
    ck_assert_int_eq(
        parse_env(&cfg, err,
                  (const char *const[]){ "KVMINI_ASSUME_PVM=0", "KVMINI_NO_EXIT_SECONDS=3600",
                                         "KVMINI_DISK_ENGINE=io_uring", NULL }),
        0);
    ck_assert(!cfg.assume_pvm);
    ck_assert_uint_eq(cfg.no_exit_seconds, 3600);
    ck_assert_int_eq(cfg.disks[0].engine, DISK_ENGINE_IO_URING);

    static const char *const bad_seconds[] = {
        "KVMINI_NO_EXIT_SECONDS=0",
        "KVMINI_NO_EXIT_SECONDS=3601",
        "KVMINI_NO_EXIT_SECONDS=",
        "KVMINI_NO_EXIT_SECONDS=5s",
        "KVMINI_NO_EXIT_SECONDS=-1",
        "KVMINI_NO_EXIT_SECONDS= 5",
        "KVMINI_NO_EXIT_SECONDS=99999999999",
    };
    for (size_t i = 0; i < sizeof(bad_seconds) / sizeof(bad_seconds[0]); i++) {
        ck_assert_int_eq(parse_env(&cfg, err, (const char *const[]){ bad_seconds[i], NULL }),
                         -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "KVMINI_NO_EXIT_SECONDS must be 1 to 3600"));
    }
    ck_assert_uint_eq(cfg.stop_seconds, STOP_WATCH_SECONDS);
    ck_assert_int_eq(cfg.seccomp_selftest, THREAD_CLASSES);
    ck_assert_int_eq(parse_env(&cfg, err,
                               (const char *const[]){ "KVMINI_STOP_SECONDS=1",
                                                      "KVMINI_SECCOMP_SELFTEST=worker", NULL }),
                     0);
    ck_assert_uint_eq(cfg.stop_seconds, 1);
    ck_assert_int_eq(cfg.seccomp_selftest, THREAD_WORKER);
    ck_assert_int_eq(parse_env(&cfg, err, (const char *const[]){ "KVMINI_STOP_SECONDS=0", NULL }),
                     -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "KVMINI_STOP_SECONDS must be 1 to 3600 (got '0')"));
    ck_assert_int_eq(
        parse_env(&cfg, err, (const char *const[]){ "KVMINI_SECCOMP_SELFTEST=disk", NULL }),
        -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "KVMINI_SECCOMP_SELFTEST must be main, vcpu, loop, worker "
                                      "or watchdog (got 'disk')"));
    ck_assert_int_eq(parse_env(&cfg, err, (const char *const[]){ "KVMINI_DISK_ENGINE=aio", NULL }),
                     -EINVAL);
    ck_assert_ptr_nonnull(
        strstr(err, "KVMINI_DISK_ENGINE must be io_uring or threads (got 'aio')"));
    cli_config_free(&cfg);
}
END_TEST

START_TEST(default_guest_and_console)
{
    char dir[] = "/tmp/kvmini-guest-XXXXXX", path[256], err[512];
    const char *dirs[2] = { "/nonexistent", dir };
    struct vm_config cfg;
    FILE *f;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--console", "virtio"), 0);
    ck_assert(cfg.console_virtio);
    ck_assert_ptr_null(cfg.kernel);
    ck_assert_int_eq(cli_default_guest(&cfg, dirs, 2, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(
        strstr(err, "no default guest (bzImage, initrd.cpio.gz) in /nonexistent or "));
    ck_assert_ptr_nonnull(strstr(err, "make guest-kernel guest-initrd"));
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, i ? "initrd.cpio.gz" : "bzImage");
        ck_assert_ptr_nonnull(f = fopen(path, "w"));
        fclose(f);
    }
    ck_assert_int_eq(cli_default_guest(&cfg, dirs, 2, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/bzImage", dir);
    ck_assert_str_eq(cfg.kernel, path);
    ck_assert_str_eq(cfg.append, "console=hvc0"); /* the terminal is on hvc0 */
    /* A --kernel of the user's own: nothing is looked up. */
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--kernel", "k", "--console=serial"), 0);
    ck_assert(!cfg.console_virtio);
    ck_assert_int_eq(cli_default_guest(&cfg, dirs, 2, err, sizeof(err)), 0);
    ck_assert_str_eq(cfg.kernel, "k");
    ck_assert_int_eq(PARSE(&cfg, err, "run", "--console", "tty"), -EINVAL);
    ck_assert_str_eq(err, "--console 'tty': give serial or virtio");
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, i ? "initrd.cpio.gz" : "bzImage");
        unlink(path);
    }
    rmdir(dir);
}
END_TEST

START_TEST(help_and_version)
{
    struct vm_config cfg;
    enum cli_action action;
    char err[256];
    const char *help[] = { "kvmini", "--help" };
    const char *version[] = { "kvmini", "--version" };
    const char *run_help[] = { "kvmini", "run", "--help" };

    ck_assert_int_eq(cli_parse(2, (char *const *)help, &cfg, &action, err, sizeof(err)), 0);
    ck_assert_int_eq(action, CLI_HELP);
    ck_assert_int_eq(cli_parse(2, (char *const *)version, &cfg, &action, err, sizeof(err)), 0);
    ck_assert_int_eq(action, CLI_VERSION);
    ck_assert_int_eq(cli_parse(3, (char *const *)run_help, &cfg, &action, err, sizeof(err)), 0);
    ck_assert_int_eq(action, CLI_HELP);
    ck_assert_ptr_nonnull(strstr(cli_usage(), "--kernel FILE"));
    ck_assert_ptr_nonnull(strstr(cli_usage(), "bzImage"));
    /* Every status kvmini itself gives is listed. */
    for (int st = EXIT_USAGE; st <= EXIT_STOP_STUCK; st++) {
        char num[8];

        if (st == 67 || st == 68 || (st > EXIT_VMM_ERROR && st < EXIT_TRIPLE_FAULT) || st == 85)
            continue; /* not kvmini's */
        snprintf(num, sizeof(num), " %d ", st);
        ck_assert_msg(strstr(cli_usage(), num), "--help does not list exit status %d", st);
    }
    ck_assert_ptr_nonnull(strstr(cli_usage(), "159, SIGSYS"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");

    tcase_add_test(tc, sizes_take_suffixes);
    tcase_add_test(tc, run_options);
    tcase_add_test(tc, bad_input_names_the_problem);
    tcase_add_test(tc, disks);
    tcase_add_test(tc, environment);
    tcase_add_test(tc, help_and_version);
    tcase_add_test(tc, default_guest_and_console);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
