#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# virtio-blk end to end with the tiny blk guest (guests/tiny/blk.c): data written with many
# requests in flight and read back, requests the device must refuse, a read-only disk left
# byte-for-byte unchanged, every malformed ring ending in DEVICE_NEEDS_RESET (kvmini keeps running,
# says so once, and the device works again after a reset), bounce memory bounded under a storm of
# misaligned cache=none writes, the bench mode's result line, and bad or locked --disk images
# refused before the guest runs (status 66, one line).
. "$(dirname "$0")/../lib/guest.sh"
require_kvm
B="$TINY/blk.elf"
dir=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-blk.XXXXXX")
bg='' dimg=''
cleanup() {
    [ -z "$bg" ] || kill "$bg" 2>/dev/null
    [ -z "$dimg" ] || rm -f "$dimg"
    rm -rf "$dir"
}
trap cleanup EXIT
img=$dir/disk.img
truncate -s 16M "$img"
size_of() { stat -c %s "$1"; }

# --- check mode: read-write ---------------------------------------------------------------------
run_kvmini run --kernel "$B" --disk "$img"
expect_status 0
expect_out "blk: PASS"
expect_out "blk: id 'disk.img'" # the default serial is the image's basename
[ -z "$ERR" ] || fail "a clean run prints nothing on stderr"
[ "$(size_of "$img")" = 16777216 ] || fail "the image changed size (a write past the end landed?)"

# Without EVENT_IDX and indirect descriptors, a serial of exactly 20 bytes, a long basename cut to 20;
# with IOPL 0, so PCI configuration and the device's ports go through the TSS I/O bitmap alone.
run_kvmini run --kernel "$B" --disk "$img,serial=ABCDEFGHIJKLMNOPQRST" \
    --append "noeventidx noindirect tiny.iopl=0"
expect_status 0
expect_out "blk: PASS"
expect_out "blk: id 'ABCDEFGHIJKLMNOPQRST'"
long=$dir/a-rather-long-image-name-for-serials.img
truncate -s 1M "$long"
run_kvmini run --kernel "$B" --disk "$long"
expect_status 0
expect_out "blk: id 'a-rather-long-image-'"

# cache=none (O_DIRECT) where a filesystem has it: tmpfs (the rig's /tmp) does not, the build tree
# (ctest's working directory; 9p in the rig) does.
for d in "$dir" "$PWD"; do
    probe=$(mktemp "$d/blk-direct.XXXXXX" 2>/dev/null) || continue
    if dd if=/dev/zero of="$probe" bs=4096 count=1 oflag=direct 2>/dev/null; then
        dimg=$probe
        break
    fi
    rm -f "$probe"
done
[ -n "$dimg" ] || fail "neither $dir nor $PWD takes O_DIRECT: cache=none cannot be tested"
truncate -s 16M "$dimg"
run_kvmini run --kernel "$B" --disk "$dimg,cache=none"
expect_status 0
expect_out "blk: PASS"

# A guest asking for far more bounce memory than it has: 64 writes of 4 MiB in flight, all from
# the same misaligned 4 MiB of its RAM (256 MiB of bounce buffers if nothing bounded them). kvmini
# holds at most 8 MiB of them per disk: --stats says so, and kvmini's own memory (its peak RSS less
# the guest's RAM) grows by less than 64 MiB over the same storm from aligned buffers, which need
# no bounce (the rest is slack for the allocator and the sanitizer builds).
vmm_kib() { printf '%s\n' "$ERR" | sed -nE 's/^memory: peak RSS .* \+ VMM ([0-9]+) KiB.*/\1/p'; }
truncate -s 64M "$dimg"
storm="bench=seqwrite bs=4194304 qd=64 count=64 samebuf"
run_kvmini run --kernel "$B" --mem 256M --disk "$dimg,cache=none" --stats --append "$storm"
expect_status 0
aligned=$(vmm_kib)
run_kvmini run --kernel "$B" --mem 256M --disk "$dimg,cache=none" --stats --append "$storm align=1"
expect_status 0
expect_out "ops=64 bytes=268435456 errors=0"
peak=$(printf '%s\n' "$ERR" | sed -nE 's/.* ([0-9.]+) MiB bounce peak.*/\1/p')
[ -n "$peak" ] && awk -v p="$peak" 'BEGIN { exit !(p > 0 && p <= 8.0) }' ||
    fail "bounce peak '$peak' MiB: expected above 0 and at most 8"
bounced=$(vmm_kib)
[ -n "$aligned" ] && [ -n "$bounced" ] && [ $((bounced - aligned)) -lt 65536 ] ||
    fail "kvmini's own memory grew from ${aligned:-?} to ${bounced:-?} KiB under the bounce storm"
echo "bounce storm: kvmini's own memory $aligned KiB aligned, $bounced KiB bounced, bounce peak $peak MiB"
rm -f "$dimg"
dimg=

# --- a read-only disk, the second of two: refused writes, nothing changed -----------------------
before=$(sha256sum <"$img")
run_kvmini run --kernel "$B" --disk "$long" --disk "$img,ro" --append "disk=1 ro"
expect_status 0
expect_out "blk: ok: write to a read-only disk is refused (IOERR)"
expect_out "blk: PASS"
[ "$(sha256sum <"$img")" = "$before" ] || fail "the read-only image changed"

# --- malformed rings: needs-reset, one log line, recovery; request errors: a status, no reset ----
for c in loop oob longchain availjump indlen nested zerolen nostatus nohdr headoob nextoob rdafterwr; do
    run_kvmini run --kernel "$B" --disk "$img" --append "malformed=$c"
    expect_status 0
    expect_out "blk: malformed=$c: saw needs-reset"
    expect_out "blk: PASS"
    expect_err "needs reset"
    [ "$(printf '%s\n' "$ERR" | grep -c .)" = 1 ] || fail "malformed=$c: expected one line on stderr"
done
for c in pastend badtype; do
    run_kvmini run --kernel "$B" --disk "$img" --append "malformed=$c"
    expect_status 0
    expect_out "blk: PASS"
    [ -z "$ERR" ] || fail "malformed=$c: a request error is not a device error"
done
[ "$(size_of "$img")" = 16777216 ] || fail "the image changed size"

# --- storms: a guest that breaks the device again after every reset keeps kvmini's log bounded --
run_kvmini run --kernel "$B" --disk "$img" --append "storm=reset rounds=200"
expect_status 0
expect_out "blk: storm=reset: 200 cycles, the device still works"
resets=$(printf '%s\n' "$ERR" | grep -c 'needs reset:' || true)
[ "$resets" -le 8 ] || fail "storm=reset: $resets needs-reset lines; at most 8 expected"
expect_err "further needs-reset reports of this device are not shown"

# ... and one that keeps its queue full of requests kvmini refuses cannot keep it from a signal.
storm_out=$dir/storm.out
"$KVMINI" run --kernel "$B" --disk "$img" --append "storm=unsupp" </dev/null >"$storm_out" 2>&1 &
bg=$!
for _ in $(seq 600); do
    grep -q "storm=unsupp: started" "$storm_out" && break
    sleep 0.1
done
grep -q "storm=unsupp: started" "$storm_out" || fail "storm=unsupp never started: $(cat "$storm_out")"
sleep 2 # the storm in full swing
sigterm_within "$bg" 10 "storm=unsupp"
bg=''
[ "$STATUS" = 143 ] || fail "storm=unsupp: status $STATUS after SIGTERM, expected 143"
echo "storm=unsupp: SIGTERM ended kvmini (143)"

# --- bench mode: the result line the benchmarks parse ------------------------------------------
run_kvmini run --kernel "$B" --disk "$img" --append "bench=randread qd=32 bs=4096 count=2000"
expect_status 0
printf '%s\n' "$OUT" | grep -Eq '^blk-bench: op=randread bs=4096 qd=32 ops=2000 bytes=8192000 errors=0 cycles=[0-9]+ tsc_khz=[0-9]+ tsc_src=[a-z0-9-]+ us=[0-9]+' ||
    fail "no bench result line"
# The whole ring in flight (256 requests through indirect tables), with EVENT_IDX: the device must
# re-arm avail_event even when it stops taking requests because all of them are in flight.
run_kvmini run --kernel "$B" --disk "$img" --append "bench=randread qd=256 count=2000"
expect_status 0
expect_out "ops=2000 bytes=8192000 errors=0"
run_kvmini run --kernel "$B" --disk "$img" --append "bench=seqwrite qd=4 bs=1048576 count=32"
expect_status 0
expect_out "ops=32 bytes=33554432 errors=0"
run_kvmini run --kernel "$B" --disk "$img,ro" --append "bench=seqwrite"
expect_status 2
expect_out "blk-bench: the disk is read-only"

# --- bad and busy images --------------------------------------------------------------------------
run_kvmini run --kernel "$B" --disk "$dir/missing.img"
expect_status 66
expect_one_error_line
expect_err "missing.img"

# Another holder of the lock: exclusive blocks everyone, shared blocks writers only.
exec 8<"$img"
flock -n -x 8 || fail "cannot take the test's own lock"
run_kvmini run --kernel "$B" --disk "$img"
expect_status 66
expect_one_error_line
expect_err "in use"
run_kvmini run --kernel "$B" --disk "$img,ro" --append ro
expect_status 66
expect_err "in use"
flock -n -s 8 || fail "cannot downgrade the test's lock"
run_kvmini run --kernel "$B" --disk "$img,ro" --append ro
expect_status 0
expect_out "blk: PASS"
run_kvmini run --kernel "$B" --disk "$img"
expect_status 66
expect_err "in use"
exec 8<&-

# kvmini holds the lock itself while it runs: a second kvmini on the same image is refused.
"$KVMINI" run --kernel "$B" --disk "$img" --append "bench=randread count=100000000" \
    </dev/null >"$dir/bg.out" 2>&1 &
bg=$!
for _ in $(seq 600); do
    grep -q "blk-bench: start" "$dir/bg.out" && break
    kill -0 "$bg" 2>/dev/null || break
    sleep 0.2
done
grep -q "blk-bench: start" "$dir/bg.out" || fail "the holding VM did not start: $(cat "$dir/bg.out")"
flock -n -s "$img" true && fail "kvmini does not hold an exclusive lock on its image"
run_kvmini run --kernel "$B" --disk "$img"
expect_status 66
expect_one_error_line
expect_err "in use"
kill "$bg"
wait "$bg" && fail "the holding VM ended with status 0 after SIGTERM" || st=$?
[ "$st" = 143 ] || fail "the holding VM ended with status $st after SIGTERM, expected 143"
bg=
echo "PASS"
