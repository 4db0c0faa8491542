// SPDX-License-Identifier: MIT
#include "vmm/core/fatal.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a SIGSYS raised by a seccomp filter's SECCOMP_RET_TRAP */
#endif

#define THREAD_NAME_MAX 32

static struct {
    volatile sig_atomic_t tty_guarded;
    int tty_fd;
    struct termios tty_saved;
    const char *const *syscall_names;
    size_t nr_syscall_names;
} last_words;

static __thread char thread_name[THREAD_NAME_MAX];

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTRAP, SIGSYS };

static void say(const char *s)
{
    if (write(STDERR_FILENO, s, strlen(s)) < 0) {
        /* Nowhere left to say it. */
    }
}

static void say_number(long v)
{
    char buf[24], *p = buf + sizeof(buf);
    unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;

    *--p = '\0';
    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10) && p > buf + 1);
    if (v < 0)
        *--p = '-';
    say(p);
}

/*
 * A seccomp filter trapped a system call: the thread's class filter (vmm/seccomp.c) lacks it,
 * which is a kvmini bug, not the guest's doing. Say which thread and which call, so the report
 * can be acted on.
 */
static void report_seccomp(const siginfo_t *info)
{
    const char *name = fatal_syscall_name(info->si_syscall);

    say("\r\nkvmini: error: seccomp: the ");
    say(fatal_thread_name());
    say(" thread made system call ");
    say_number(info->si_syscall);
    if (name) {
        say(" (");
        say(name);
        say(")");
    }
    say(", which its filter does not allow, and kvmini was stopped; this is a kvmini bug: please "
        "report it, and run with --seccomp off meanwhile\r\n");
}

static void on_fatal_signal(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    fatal_restore_tty();
    if (sig == SIGSYS && info && info->si_code == SYS_SECCOMP)
        report_seccomp(info);
    /* SA_RESETHAND has made the action the default again: raising it kills (no sigaction call,
     * which a thread's seccomp filter need not allow). */
    raise(sig);
}

void fatal_handlers_install(void)
{
    struct sigaction sa = { .sa_sigaction = on_fatal_signal,
                            .sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER };

    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
        sigaction(fatal_signals[i], &sa, NULL);
}

void fatal_signals_remove(sigset_t *set)
{
    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
        sigdelset(set, fatal_signals[i]);
}

void fatal_guard_tty(int fd, const struct termios *saved)
{
    last_words.tty_guarded = 0;
    last_words.tty_fd = fd;
    last_words.tty_saved = *saved;
    last_words.tty_guarded = 1;
}

void fatal_release_tty(void)
{
    last_words.tty_guarded = 0;
}

void fatal_restore_tty(void)
{
    if (last_words.tty_guarded)
        tcsetattr(last_words.tty_fd, TCSANOW, &last_words.tty_saved);
}

void fatal_name_thread(const char *name)
{
    snprintf(thread_name, sizeof(thread_name), "%s", name);
}

const char *fatal_thread_name(void)
{
    return thread_name[0] ? thread_name : "unnamed kvmini";
}

void fatal_name_syscalls(const char *const *names, size_t n)
{
    last_words.syscall_names = names;
    last_words.nr_syscall_names = n;
}

const char *fatal_syscall_name(long nr)
{
    if (nr < 0 || !last_words.syscall_names || (size_t)nr >= last_words.nr_syscall_names)
        return NULL;
    return last_words.syscall_names[nr];
}
