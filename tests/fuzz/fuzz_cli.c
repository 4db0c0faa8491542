// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the command line and the environment kvmini reads (vmm/cli.c): the input is
 * NUL-separated words, argv first; after an empty word, the values of KVMINI_ASSUME_PVM,
 * KVMINI_NO_EXIT_SECONDS, KVMINI_DISK_ENGINE and KVMINI_KVM_DEVICE in that order. A parse that
 * fails must say why in one line; one that succeeds must give a configuration kvmini can use.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "vmm/cli.h"

#define MAX_WORDS 64

static const char *const env_names[] = { "KVMINI_ASSUME_PVM", "KVMINI_NO_EXIT_SECONDS",
                                         "KVMINI_DISK_ENGINE", "KVMINI_KVM_DEVICE" };
static char *env_values[4];

/* Something to read, and no control character that would break the line on a terminal. */
static bool one_line(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static char *fake_getenv(const char *name)
{
    for (size_t i = 0; i < 4; i++)
        if (!strcmp(name, env_names[i]))
            return env_values[i];
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *argv[MAX_WORDS + 1], err[256];
    struct vm_config cfg;
    enum cli_action action;
    int argc = 0, nenv = 0;
    size_t at = 0;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    memset(env_values, 0, sizeof(env_values));
    argv[argc++] = "kvmini";
    while (at <= size && argc < MAX_WORDS) {
        char *word = text + at;

        at += strlen(word) + 1;
        if (!*word)
            break;
        argv[argc++] = word;
    }
    while (at <= size && nenv < 4) {
        env_values[nenv++] = text + at;
        at += strlen(text + at) + 1;
    }
    argv[argc] = NULL;

    err[0] = '\0';
    if (cli_parse(argc, argv, &cfg, &action, err, sizeof(err)) == 0) {
        if (action == CLI_RUN) {
            CHECK(cfg.cpus >= 1 && cfg.cpus <= KVMINI_MAX_VCPUS);
            CHECK(cfg.mem_size >= CLI_MIN_MEM && cfg.nr_disks <= KVMINI_MAX_DISKS);
            CHECK(cfg.nr_nets <= KVMINI_MAX_NICS);
            if (cli_parse_env(&cfg, fake_getenv, err, sizeof(err)) != 0)
                CHECK(one_line(err));
            else
                CHECK(cfg.kvm_device && cfg.no_exit_seconds >= 1);
        }
    } else {
        CHECK(one_line(err)); /* one line that names the problem */
    }
    cli_config_free(&cfg);
    free(text);
    return 0;
}
