// SPDX-License-Identifier: MIT
/*
 * kvmini-exit: the Linux guest's side of kvmini's debug ports (firmware/layout.h).
 *
 *   kvmini-exit STATUS     one-byte write of STATUS (0-255) to PORT_DEBUG_EXIT (0x501): kvmini ends
 *                          the VM and exits with STATUS (QEMU's isa-debug-exit: (STATUS << 1) | 1)
 *   kvmini-exit --mark N   four-byte write of N (0-4294967295) to PORT_BOOT_TIMER (0x510): kvmini
 *                          timestamps boot milestone N (shown by `kvmini run --stats`)
 *   kvmini-exit --drain    only wait until the console has sent what was written to it
 *
 * How: ioperm() and an `out` instruction. Where that `out` faults although ioperm() succeeded
 * (QEMU's TCG emulation of nested SVM raises #GP for it, so in the test rig; see
 * docs/guest-linux.md), the write goes through /dev/port instead, one byte at a time: the exit is
 * the same, a mark is written as its low byte only (kvmini takes the value of a narrower write at
 * 0x510 as is). Before the exit write, the console's output is drained (tcdrain), so that the last
 * lines the guest printed reach the host before the VM ends. Needs root. Built static
 * (gcc -static -O2) for the initramfs.
 *
 * Exit status: 0 after a mark; 1 when the exit write returned (no debug-exit device: the VM is
 * still running and the caller should power off some other way); 2 on a usage error; 3 when no way
 * to write the port worked.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <termios.h>
#include <unistd.h>

#define PORT_DEBUG_EXIT 0x501
#define PORT_BOOT_TIMER 0x510

static sigjmp_buf out_faulted;

static void on_fault(int sig)
{
    (void)sig;
    siglongjmp(out_faulted, 1);
}

static int usage(void)
{
    fputs("usage: kvmini-exit STATUS       (0-255, written to port 0x501)\n"
          "       kvmini-exit --mark N     (32-bit, written to port 0x510)\n"
          "       kvmini-exit --drain      (wait for the console's output to be sent)\n",
          stderr);
    return 2;
}

/* Parses a whole decimal (or 0x hex) number no larger than max; returns -1 if it is not one. */
static int parse(const char *s, unsigned long max, unsigned long *out)
{
    char *end;

    if (*s == '\0' || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    *out = strtoul(s, &end, 0);
    if (errno != 0 || *end != '\0' || *out > max)
        return -1;
    return 0;
}

/* Writes the low byte of value to port through /dev/port (the kernel does the outb). */
static int write_dev_port(unsigned int port, uint32_t value)
{
    unsigned char b = (unsigned char)value;
    int fd = open("/dev/port", O_WRONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        fprintf(stderr, "kvmini-exit: /dev/port: %s\n", strerror(errno));
        return -1;
    }
    n = pwrite(fd, &b, 1, port);
    if (n != 1) {
        fprintf(stderr, "kvmini-exit: write to /dev/port at 0x%x: %s\n", port,
                n < 0 ? strerror(errno) : "short write");
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* A width-byte (1 or 4) write of value to port: `out` after ioperm(), else /dev/port. */
static int write_port(unsigned int port, unsigned int width, uint32_t value)
{
    struct sigaction sa, old_segv, old_bus;
    int rc = -1;

    if (ioperm(port, width, 1) == 0) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_fault;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, &old_segv);
        sigaction(SIGBUS, &sa, &old_bus);
        if (sigsetjmp(out_faulted, 1) == 0) {
            if (width == 1)
                outb((unsigned char)value, (unsigned short)port);
            else
                outl(value, (unsigned short)port);
            rc = 0;
        }
        sigaction(SIGSEGV, &old_segv, NULL);
        sigaction(SIGBUS, &old_bus, NULL);
        if (rc == 0)
            return 0;
    }
    return write_dev_port(port, value);
}

/* Waits until what was written to the console (and to stdout/stderr, if terminals) is sent. */
static void drain_console(void)
{
    int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

    if (fd >= 0) {
        tcdrain(fd);
        close(fd);
    }
    if (isatty(STDOUT_FILENO))
        tcdrain(STDOUT_FILENO);
    if (isatty(STDERR_FILENO))
        tcdrain(STDERR_FILENO);
}

int main(int argc, char **argv)
{
    unsigned long v;

    if (argc == 2 && strcmp(argv[1], "--drain") == 0) {
        drain_console();
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "--mark") == 0) {
        if (parse(argv[2], 0xffffffffUL, &v) != 0)
            return usage();
        return write_port(PORT_BOOT_TIMER, 4, (uint32_t)v) == 0 ? 0 : 3;
    }
    if (argc != 2 || parse(argv[1], 0xff, &v) != 0)
        return usage();
    drain_console();
    if (write_port(PORT_DEBUG_EXIT, 1, (uint32_t)v) != 0)
        return 3;
    /* Still here: nothing at 0x501 ended the VM. */
    fprintf(stderr, "kvmini-exit: port 0x%x did not end the VM (no debug-exit device)\n",
            PORT_DEBUG_EXIT);
    return 1;
}
