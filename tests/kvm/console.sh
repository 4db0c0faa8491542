#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The console as a person uses it, through a real pty: typing reaches the guest, the Ctrl-A escapes
# work, and the terminal is given back exactly as it was: after Ctrl-A x, after SIGTERM (also one
# that comes while the VM is still being set up), and after a fatal signal; and a guest flooding
# its console while nothing reads kvmini's output cannot hold up a stop.
. "$(dirname "$0")/../lib/guest.sh"
require_kvm
command -v expect >/dev/null || fail "expect is not installed (make deps installs it)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export KVMINI ECHO_ELF="$TINY/echo.elf" TMPD="$tmp"

expect -f - <<'EXP' || fail "console session (see the transcript above)"
set timeout 120
log_user 1
# The shell records the terminal settings before and after kvmini, in the same pty.
spawn sh -c "stty -g >$env(TMPD)/before; $env(KVMINI) run --kernel $env(ECHO_ELF); echo status=\$?; stty -g >$env(TMPD)/after"
expect "echo: ready" {} timeout { exit 1 }
send "hello world\r"
expect "HELLO WORLD" {} timeout { puts "no echo of typed text"; exit 1 }
# Ctrl-A Ctrl-A gives the guest one Ctrl-A, which it shows as ^A.
send "\x01\x01"
expect -ex "^A" {} timeout { puts "Ctrl-A Ctrl-A did not reach the guest"; exit 1 }
# Ctrl-A h prints the escape help.
send "\x01h"
expect "C-a x" {} timeout { puts "no escape help"; exit 1 }
# Ctrl-A x quits with status 0.
send "\x01x"
expect "status=0" {} timeout { puts "Ctrl-A x did not quit with status 0"; exit 1 }
expect eof
EXP
cmp -s "$tmp/before" "$tmp/after" || fail "terminal settings not restored after Ctrl-A x"

expect -f - <<'EXP' || fail "SIGTERM session"
set timeout 120
# The explicit </dev/tty: a background job of a non-interactive shell would get /dev/null.
spawn sh -c "stty -g >$env(TMPD)/before2; $env(KVMINI) run --kernel $env(ECHO_ELF) </dev/tty & pid=\$!; echo pid=\$pid; wait \$pid; echo status=\$?; stty -g >$env(TMPD)/after2"
expect -re {pid=([0-9]+)} { set pid $expect_out(1,string) }
expect "echo: ready" {} timeout { exit 1 }
exec kill -TERM $pid
expect "status=143" {} timeout { puts "SIGTERM did not end kvmini with 143"; exit 1 }
expect eof
EXP
cmp -s "$tmp/before2" "$tmp/after2" || fail "terminal settings not restored after SIGTERM"

# SIGTERM while kvmini is still setting the VM up (loading a 128 MiB initrd, the terminal already
# raw): the VM then stops the orderly way (143) and the terminal comes back, instead of kvmini
# dying half-way with the terminal left raw.
truncate -s 128M "$tmp/initrd.img"
"$SRC/tests/lib/tty-check.py" setup "$KVMINI" run --kernel "$ECHO_ELF" --initrd "$tmp/initrd.img" \
    --mem 256M || fail "SIGTERM during set-up"
# A guest flooding COM1 (4 KiB per exit, ignoring THRE) while nothing reads kvmini's stdout: the
# stop still completes at once (kvmini drops what its stdout cannot take; nothing waits for it).
mkfifo "$tmp/stalled"
exec {stalled}<>"$tmp/stalled" # a reader that never reads
"$KVMINI" run --kernel "$TINY/fault.elf" --append fault=flood >"$tmp/stalled" 2>"$tmp/flood.err" \
    </dev/null &
pid=$!
# Until kvmini has written a whole pipe's worth (64 KiB) and the FIFO is full, then a little more.
for _ in $(seq 600); do
    written=$(sed -n 's/^wchar: //p' "/proc/$pid/io" 2>/dev/null)
    [ "${written:-0}" -lt 65536 ] || break
    sleep 0.1
done
[ "${written:-0}" -ge 65536 ] || fail "the flooding guest wrote only ${written:-0} bytes in 60 s"
sleep 1
sigterm_within "$pid" 10 "flood with a stalled reader"
exec {stalled}>&-
[ "$STATUS" = 143 ] || fail "flood with a stalled reader: status $STATUS, expected 143 ($(cat "$tmp/flood.err"))"
echo "flood with a stalled reader: SIGTERM ended kvmini (143)"

# A fatal signal (as a crash would raise) while the guest runs: the terminal still comes back,
# and kvmini still dies of it.
"$SRC/tests/lib/tty-check.py" fatal "echo: ready" "$KVMINI" run --kernel "$ECHO_ELF" ||
    fail "a fatal signal left the terminal raw"
echo "PASS"
