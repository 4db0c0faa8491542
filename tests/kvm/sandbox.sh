#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The seccomp filters in kvmini's real threads, and a stop that cannot be held up:
#   1. KVMINI_SECCOMP_SELFTEST=CLASS, for every class (main, vcpu, loop, worker, watchdog): a
#      thread of that class makes one forbidden call (execve) right after its filter goes on;
#      kvmini dies of SIGSYS (159) with one line naming the thread and the call.
#   2. --seccomp off: the same self-test finds no filter to trip, and the guest runs to its end.
#   3. A stop that cannot complete: with --stats, kvmini's last words go to a stderr nobody reads
#      (a full FIFO); after SIGTERM the main thread blocks writing them, and the stop watchdog
#      ends kvmini with 86 within KVMINI_STOP_SECONDS, instead of never.
# Every other guest test runs with the filters on, which is what proves the lists complete.
. "$(dirname "$0")/../lib/guest.sh"
require_kvm
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-sandbox.XXXXXX")
pid=
cleanup() {
    [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
disk=$tmp/disk.img
truncate -s 16M "$disk"

declare -A thread=([main]="main" [vcpu]="vCPU 0" [loop]="event loop" [worker]="disk worker 0"
    [watchdog]="stop watchdog")
for class in main vcpu loop worker watchdog; do
    # The threads engine, so that the disk has worker threads.
    KVMINI_DISK_ENGINE=threads KVMINI_SECCOMP_SELFTEST=$class \
        run_kvmini run --kernel "$TINY/blk.elf" --disk "$disk"
    expect_status 159
    expect_err "seccomp: the ${thread[$class]} thread made system call 59 (execve), which its filter does not allow"
    expect_err "--seccomp off"
done
echo "every thread class: a forbidden call killed kvmini (159) with the report"

KVMINI_DISK_ENGINE=threads KVMINI_SECCOMP_SELFTEST=vcpu \
    run_kvmini run --kernel "$TINY/blk.elf" --disk "$disk" --seccomp off
expect_status 0
expect_out "blk: PASS"
echo "--seccomp off: no filter, the guest ran to its end"

mkfifo "$tmp/stderr"
exec {stalled}<>"$tmp/stderr" # a reader that never reads
head -c 65536 /dev/zero >&"$stalled" # the pipe is full before kvmini writes a byte
KVMINI_STOP_SECONDS=2 "$KVMINI" run --kernel "$TINY/fault.elf" --append fault=hang --stats \
    >"$tmp/out" 2>"$tmp/stderr" </dev/null &
pid=$! KVMINI_PID=$!
wait_for_output "$tmp/out" "hanging at CPL3" 10 || fail "the guest did not start within 10 s"
sigterm_within "$pid" 10 "stop with a stderr nobody reads"
pid=
exec {stalled}>&-
[ "$STATUS" = 86 ] || fail "stop with a stderr nobody reads: status $STATUS, expected 86"
echo "stop with a stderr nobody reads: the watchdog ended kvmini (86)"
echo "PASS"
