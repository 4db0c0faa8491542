/* SPDX-License-Identifier: MIT */
/*
 * kvmini's last words when it dies of a signal (a crash, or a system call its seccomp filter
 * forbids): give the terminal back, say which thread did what, then die of that signal the
 * default way, so the exit status and any core dump stay what they would be.
 *
 * This is the one process-wide record in kvmini, on purpose: a fatal signal's handler has no
 * context to find a VM through, and the terminal belongs to the process, not to one VM.
 */
#ifndef KVMINI_FATAL_H
#define KVMINI_FATAL_H

#include <signal.h>
#include <stddef.h>
#include <termios.h>

/* Installs the handlers for SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTRAP and SIGSYS. */
void fatal_handlers_install(void);

/*
 * Takes the fatal signals out of set. A thread must never block them: the kernel delivers a
 * blocked SIGSEGV or seccomp's SIGSYS with the default action, skipping the handler and its
 * report.
 */
void fatal_signals_remove(sigset_t *set);

/* While the terminal on fd is raw: saved is what a fatal signal puts back. */
void fatal_guard_tty(int fd, const struct termios *saved);
void fatal_release_tty(void);

/* Puts the guarded terminal back now (async-signal-safe): for exits that skip the normal path. */
void fatal_restore_tty(void);

/* Names the calling thread in reports ("vCPU 2"); copied. */
void fatal_name_thread(const char *name);

/* The calling thread's name as given, or "unnamed kvmini". */
const char *fatal_thread_name(void);

/*
 * Names for system call numbers 0..n-1 (NULL for a gap), so a report can say "execve", not 59.
 * The table must outlive every thread; set before the first thread is confined.
 */
void fatal_name_syscalls(const char *const *names, size_t n);

/* The name of system call nr, or NULL when unknown. Async-signal-safe. */
const char *fatal_syscall_name(long nr);

#endif
