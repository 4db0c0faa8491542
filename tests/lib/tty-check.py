#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tty-check.py MODE KVMINI ARGS...: runs kvmini on a fresh pty (stdin and stdout), signals it, and
checks that the terminal settings afterwards are exactly those before.

  setup  SIGTERM as soon as kvmini has put the terminal in raw mode, while it is still setting the
         VM up (give it a slow set-up, e.g. a large initrd): kvmini must finish that, then stop the
         VM the orderly way, exit 143 and give the terminal back.
  fatal  SIGBUS once the guest has printed READY (argument after MODE): kvmini must give the
         terminal back and still die of SIGBUS.

Prints one line; exit 0 when all holds, 1 when not."""
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time


def drain(master, until=None, seconds=60.0):
    """Reads the pty until `until` appears (or EOF / time runs out); returns what it read."""
    seen = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if until and until in seen:
                break
    return seen


def main():
    mode, rest = sys.argv[1], sys.argv[2:]
    ready = None
    if mode == "fatal":
        ready, rest = rest[0].encode(), rest[1:]
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    proc = subprocess.Popen(rest, stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                            start_new_session=True)
    if mode == "setup":
        # Raw mode means the console exists; the VM is not running yet (the initrd is loading).
        deadline = time.monotonic() + 60
        while termios.tcgetattr(slave)[3] & termios.ICANON:
            if proc.poll() is not None or time.monotonic() > deadline:
                print(f"tty-check: kvmini never put the terminal in raw mode (status {proc.poll()})")
                return 1
            time.sleep(0.001)
        proc.send_signal(signal.SIGTERM)
        want = 143
    else:
        if ready not in drain(master, ready):
            print(f"tty-check: the guest never printed {ready!r}")
            proc.kill()
            return 1
        proc.send_signal(signal.SIGBUS)
        want = -signal.SIGBUS
    drain(master, seconds=0.5)
    status = proc.wait(timeout=120)
    err = proc.stderr.read().decode(errors="replace").strip()
    after = termios.tcgetattr(slave)
    if status != want:
        print(f"tty-check: {mode}: kvmini ended with {status}, expected {want}: {err}")
        return 1
    if after != before:
        print(f"tty-check: {mode}: the terminal was not given back (lflag {after[3]:#x}, "
              f"was {before[3]:#x})")
        return 1
    print(f"tty-check: {mode}: kvmini ended with {status} and gave the terminal back")
    return 0


if __name__ == "__main__":
    sys.exit(main())
