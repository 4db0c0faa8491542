#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interactive use: `kvmini run --kernel bzImage --initrd initrd.cpio.gz` gives a busybox shell on
# the console. Typing goes through the UART's receive interrupt (kvmini's IOAPIC, an MSI).
# Then the same with --console virtio and console=hvc0: typing goes through virtio-console's
# receive queue, and resizing the terminal (the pty, here) reaches the guest's hvc0 (SIGWINCH,
# VIRTIO_CONSOLE_F_SIZE, a config interrupt).
. "$(dirname "$0")/../lib/linux-guest.sh"
require_kvm
require_guest bzImage initrd.cpio.gz
command -v expect >/dev/null || fail "expect is not installed (make deps installs it)"
export KVMINI GUEST

expect -f - <<'EXP' || fail "interactive shell session (see the transcript above)"
set timeout 240
spawn $env(KVMINI) run --kernel $env(GUEST)/bzImage --initrd $env(GUEST)/initrd.cpio.gz --append "console=ttyS0 quiet"
expect "kvmini-guest: ready" {} timeout { puts "no ready marker"; exit 1 }
# Not anchored at the end: busybox's line editor follows the prompt with a cursor query (ESC [6n).
expect -ex "kvmini:/# " {} timeout { puts "no shell prompt"; exit 1 }
send "echo answer=\$((6*7))\r"
expect "answer=42" {} timeout { puts "typed command did not run"; exit 1 }
send "poweroff -f\r"
expect eof
lassign [wait] pid spawnid os_error status
if {$status != 0} { puts "kvmini exited with $status after poweroff"; exit 1 }
EXP

expect -f - <<'EXP' || fail "interactive shell on hvc0 (see the transcript above)"
set timeout 240
spawn $env(KVMINI) run --kernel $env(GUEST)/bzImage --initrd $env(GUEST)/initrd.cpio.gz --console virtio --append "console=hvc0 quiet"
expect "kvmini-guest: ready" {} timeout { puts "no ready marker"; exit 1 }
expect -ex "kvmini:/# " {} timeout { puts "no shell prompt"; exit 1 }
send "echo on \$(cat /sys/class/tty/console/active) answer=\$((6*7))\r"
expect "on hvc0 answer=42" {} timeout { puts "typed command did not run on hvc0"; exit 1 }
stty rows 41 columns 101 < $spawn_out(slave,name)
sleep 1
send "stty -F /dev/hvc0 size\r"
expect "41 101" {} timeout { puts "the guest did not see the new terminal size"; exit 1 }
send "poweroff -f\r"
expect eof
lassign [wait] pid spawnid os_error status
if {$status != 0} { puts "kvmini exited with $status after poweroff"; exit 1 }
EXP
echo "PASS"
