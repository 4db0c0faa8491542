#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A host disk that stops answering under a running guest (device-mapper's suspend, as a failed
# SAN or NFS server would): SIGTERM, and kvmini's stop cannot complete, since a disk request is
# stuck in the host kernel. Within KVMINI_STOP_SECONDS the stop watchdog reports every thread still
# running, with the system call it waits in (a disk worker in preadv with the threads engine, the
# main thread waiting for io_uring with io_uring), and gives up: once the disk answers again, the
# exit status is 86. Needs root (losetup, dmsetup): the rig has it; CI fails without it.
. "$(dirname "$0")/../lib/guest.sh"
require_kvm
require_root "for losetup and dmsetup"
for tool in losetup dmsetup; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (make deps installs it)"
done
export DM_DISABLE_UDEV=1 # no udev in the rig: dmsetup makes the node itself
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-stuckdisk.XXXXXX")
name=kvmini-stuck-$$
loop=
pid=
cleanup() {
    dmsetup resume "$name" 2>/dev/null
    [ -z "$pid" ] || { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
    dmsetup remove "$name" 2>/dev/null
    [ -z "$loop" ] || losetup -d "$loop"
    rm -rf "$tmp"
}
trap cleanup EXIT
truncate -s 64M "$tmp/disk.img"
loop=$(losetup -f --show "$tmp/disk.img") || fail "losetup failed"
dmsetup create "$name" --noudevsync --table "0 131072 linear $loop 0" || fail "dmsetup create failed"
dev=/dev/mapper/$name
[ -b "$dev" ] || fail "$dev did not appear"

# engine, then the thread the report must name as waiting in the disk's system call
for spec in "threads:disk worker [0-9]* (thread [0-9]*): in system call [0-9]* (preadv)" \
    "io_uring:main (thread [0-9]*): in system call [0-9]* (io_uring_enter)"; do
    engine=${spec%%:*} want=${spec#*:}
    KVMINI_DISK_ENGINE=$engine KVMINI_STOP_SECONDS=2 "$KVMINI" run --kernel "$TINY/blk.elf" \
        --disk "$dev,cache=none" --append "bench=randread qd=4 count=100000000" \
        >"$tmp/out" 2>"$tmp/err" </dev/null &
    pid=$! KVMINI_PID=$!
    wait_for_output "$tmp/out" "blk-bench: start" 10 || fail "$engine: the benchmark did not start in 10 s"
    dmsetup suspend "$name" || fail "dmsetup suspend failed"
    sleep 1 # the guest's next requests are now stuck in the host kernel
    kill -TERM "$pid"
    wait_for_output "$tmp/err" "did not stop within 2 s of the stop request" 10 ||
        fail "$engine: no watchdog report within 10 s of SIGTERM ($(cat "$tmp/err"))"
    cat "$tmp/err"
    grep -q "$want" "$tmp/err" || fail "$engine: the report does not name '$want'"
    dmsetup resume "$name" || fail "dmsetup resume failed"
    STATUS=0
    wait "$pid" || STATUS=$?
    pid=
    [ "$STATUS" = 86 ] || fail "$engine: status $STATUS, expected 86"
    echo "$engine: a disk that stopped answering: the watchdog named the stuck thread; exit 86"
done
echo "PASS"
