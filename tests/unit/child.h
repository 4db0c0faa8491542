/* SPDX-License-Identifier: MIT */
/* For tests of what ends a process (a seccomp kill, the stop watchdog's exit): run it in a child.
 */
#ifndef KVMINI_TESTS_UNIT_CHILD_H
#define KVMINI_TESTS_UNIT_CHILD_H

#include <check.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs fn in a child with stderr into a pipe, exit 0 if fn returns; the wait status, *out (len
 * bytes, NUL-terminated) what the child wrote on stderr. */
static inline int run_in_child(void (*fn)(void), char *out, size_t len)
{
    int pfd[2], status;
    size_t got = 0;
    ssize_t n;
    pid_t pid;

    ck_assert_int_eq(pipe(pfd), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(pfd[1], STDERR_FILENO);
        close(pfd[0]);
        fn();
        _exit(0);
    }
    close(pfd[1]);
    while (got < len - 1 && (n = read(pfd[0], out + got, len - 1 - got)) > 0)
        got += (size_t)n;
    out[got] = '\0';
    close(pfd[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

#endif
