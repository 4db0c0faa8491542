/* SPDX-License-Identifier: MIT */
#ifndef KVMINI_NONBLOCK_H
#define KVMINI_NONBLOCK_H

/*
 * A second, non-blocking file description for what fd writes to, through /proc/self/fd: setting
 * O_NONBLOCK on fd itself would change it for every process sharing it (the shell's terminal, a
 * pipe's other writers). For pipes, FIFOs and terminals; O_NOCTTY, so a terminal opened again
 * does not become kvmini's to control. The new fd, or -errno: -EOPNOTSUPP for what never blocks
 * (a regular file) or cannot be reopened (a socket: use MSG_DONTWAIT), else open's error (a pipe
 * nobody reads, no /proc).
 */
int reopen_nonblocking(int fd);

#endif
