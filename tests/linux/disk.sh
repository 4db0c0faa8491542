#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# virtio-blk disks (--disk PATH[,ro][,cache=none|writeback][,serial=ID]) as Linux sees them, in two
# boots:
#   1. --disk A --disk B,ro,serial=...: vda and vdb with their read-only flags, sizes, serials (A's
#      the default: its file name cut to 20 bytes) and a write cache (FLUSH); vdb reads back what the
#      host wrote. The guest makes ext4 on vda, writes files of several sizes (0 B to 5 MB) with
#      their sha256 sums, unmounts and exits. The host: e2fsck -fn A is clean, B is unchanged.
#   2. --disk A,ro --disk W --disk D,cache=none,serial=...: A again, now read-only (ro=1): mounted
#      -o ro, its files match their sums, and those match boot 1's. Writes to it fail: through the
#      page cache, and with O_DIRECT after `blockdev --setrw`. (Linux 6.1 itself refuses every
#      write, discard and zeroout from userspace to a disk with VIRTIO_BLK_F_RO, --setrw or not, so
#      kvmini's own refusal is for the tiny-guest tests to check.) Then ext4 on W (writeback) and
#      on D (cache=none, O_DIRECT), 8 MiB written to each, `sync`, a marker with the data's sha256,
#      and the host kills kvmini with SIGKILL as soon as it sees the marker. The host: A is
#      unchanged byte for byte; copies of W and D, after e2fsck -fy (journal replay), hold the
#      file with that sha256.
. "$(dirname "$0")/../lib/linux-guest.sh"
require_kvm
require_guest bzImage initrd.cpio.gz
for tool in e2fsck debugfs sha256sum truncate; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (make deps installs e2fsprogs)"
done

KERNEL=$GUEST/bzImage
INITRD=$GUEST/initrd.cpio.gz
MIB=1048576
KVMINI_PID=
work=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-disk.XXXXXX")
# cache=none needs O_DIRECT, which tmpfs (the rig's /tmp) refuses: then the build tree (ctest's
# working directory) holds that image.
direct_parent=$(direct_io_dir "$work" "$PWD")
[ -n "$direct_parent" ] || fail "no directory here supports O_DIRECT (tried $work and $PWD)"
if [ "$direct_parent" = "$work" ]; then
	direct=$work
else
	direct=$(mktemp -d "$direct_parent/kvmini-disk.XXXXXX")
fi
cleanup() {
	if [ -n "$KVMINI_PID" ]; then kill -9 "$KVMINI_PID" 2>/dev/null && wait "$KVMINI_PID" 2>/dev/null; fi
	rm -rf "$work" "$direct"
}
trap cleanup EXIT

sha() { sha256sum "$1" | cut -d' ' -f1; }
# The console's lines without the UART's CRs.
lines() { printf '%s\n' "$1" | tr -d '\r'; }

# no_disk_errors OUTPUT: the guest kernel logged no I/O or ext4 errors (quiet still shows them).
no_disk_errors() {
	local bad
	bad=$(lines "$1" | grep -E 'I/O error|EXT4-fs (error|warning)|blk_update_request|virtio_blk.*(error|fail)' || true)
	[ -z "$bad" ] || fail "the guest kernel reported disk errors: $bad"
}

# expect_dev OUTPUT DEV RO SECTORS SERIAL: the guest's "DEV" line for DEV says that.
expect_dev() {
	local want="DEV $2 ro=$3 size=$4 serial=$5 cache=write back"
	lines "$1" | grep -qxF -- "$want" ||
		fail "guest's view of $2 is not '$want' (got '$(lines "$1" | grep "^DEV $2 " || true)')"
}

# Guest side. Shared by both boots: one line per disk with what sysfs says.
probe='for d in $DISKS; do
	echo "DEV $d ro=$(cat /sys/block/$d/ro) size=$(cat /sys/block/$d/size) serial=$(cat /sys/block/$d/serial) cache=$(cat /sys/block/$d/queue/write_cache)"
done'

# --- Boot 1: two disks; ext4 on vda, files and their sums -----------------------------------------
img=$work/kvmini-disk-test-image-a.raw # 30 bytes: the default serial is its first 20
img_serial=kvmini-disk-test-ima
truncate -s $((64 * MIB)) "$img"
ro_img=$work/b.raw
head -c $((1 * MIB)) /dev/urandom >"$ro_img"
ro_sha=$(sha "$ro_img")

boot1="set -e; DISKS='vda vdb'; $probe"'
echo "VDB-SHA $(sha256sum </dev/vdb | cut -d" " -f1)"
mkfs.ext4 -q -F -L kvmini-a /dev/vda
mkdir -p /mnt/a
mount -t ext4 /dev/vda /mnt/a
cd /mnt/a
mkdir -p sub/dir
: >empty
head -c 1 /dev/urandom >one
head -c 4095 /dev/urandom >page-less-one
head -c 65537 /dev/urandom >sub/odd
head -c 1048579 /dev/urandom >sub/dir/mib-plus-3
head -c 3145728 /dev/urandom >three-mib
head -c 5000000 /dev/urandom >five-mb
sha256sum empty one page-less-one sub/odd sub/dir/mib-plus-3 three-mib five-mb >SUMS
sed "s/^/SUM /" SUMS
cd /
sync
umount /mnt/a
echo BOOT1-DONE'
t=$SECONDS
run_linux "$KERNEL" "$INITRD" "$boot1" --mem 256M --stats --disk "$img" --disk "$ro_img,ro,serial=ro-b"
boot_s=$((SECONDS - t))
expect_status 0
expect_out BOOT1-DONE
no_disk_errors "$OUT"
expect_dev "$OUT" vda 0 $((64 * MIB / 512)) "$img_serial"
expect_dev "$OUT" vdb 1 $((1 * MIB / 512)) ro-b
lines "$OUT" | grep -qxF "VDB-SHA $ro_sha" || fail "the guest read other bytes from vdb than the host wrote"
sums1=$(lines "$OUT" | grep '^SUM ' | sort)
[ "$(printf '%s\n' "$sums1" | grep -c .)" = 7 ] || fail "boot 1 printed $(printf '%s\n' "$sums1" | grep -c .) sums, not 7"
e2fsck -fn "$img" >"$work/fsck.log" 2>&1 || {
	cat "$work/fsck.log"
	fail "e2fsck -fn finds the file system boot 1 made not clean"
}
[ "$(sha "$ro_img")" = "$ro_sha" ] || fail "the read-only image b.raw changed"
# --stats: "disk N (ENGINE): R reads X MiB, W writes Y MiB, F flushes, ..., E errors, U unsupported".
stats0=$(lines "$ERR" | grep '^disk 0 (' || true)
stats1=$(lines "$ERR" | grep '^disk 1 (' || true)
engine=$(printf '%s\n' "$stats0" | sed -n 's/^disk 0 (\([^)]*\)).*/\1/p')
[[ $stats0 =~ \ ([1-9][0-9]*)\ flushes.*\ 0\ errors ]] ||
	fail "--stats for vda does not show flushes and no errors: '$stats0'"
[[ $stats1 =~ \ 0\ writes.*\ 0\ errors ]] || fail "--stats for vdb does not show 0 writes, 0 errors: '$stats1'"
img_sha=$(sha "$img")
echo "boot 1: ok (vda, vdb as asked; ext4 clean on the host; 7 files; engine $engine): kvmini ${boot_s} s, checks $((SECONDS - t - boot_s)) s"

# --- Boot 2: A read-only; SIGKILL after sync on a writeback and a cache=none disk -----------------
wb=$work/wb.raw
dio=$direct/direct.raw
dio_serial=serial-of-twenty-b20 # exactly 20 bytes
truncate -s $((32 * MIB)) "$wb" "$dio"

boot2="DISKS='vda vdb vdc'; $probe"'
mkdir -p /mnt/a /mnt/w /mnt/d
mount -t ext4 -o ro /dev/vda /mnt/a || exit 10
cd /mnt/a
sed "s/^/SUM /" SUMS
sha256sum -c SUMS && echo VERIFY-OK
cd /
umount /mnt/a
try() {
	if "$@" >/tmp/try.out 2>&1; then
		echo "RO-WRITE accepted: $*"
	else
		echo "RO-WRITE refused: $*: $(grep -v "records \(in\|out\)" /tmp/try.out | tail -n 1)"
	fi
}
try dd if=/dev/zero of=/dev/vda bs=4096 count=1 seek=4096 conv=notrunc,fsync
blockdev --setrw /dev/vda
try dd if=/dev/zero of=/dev/vda bs=4096 count=1 seek=4096 conv=notrunc oflag=direct
set -e
head -c 8388608 /dev/urandom >/tmp/blob
mkfs.ext4 -q -F /dev/vdb
mkfs.ext4 -q -F /dev/vdc
mount -t ext4 /dev/vdb /mnt/w
mount -t ext4 /dev/vdc /mnt/d
cp /tmp/blob /mnt/w/blob
cp /tmp/blob /mnt/d/blob
sync
echo "SYNC-DONE $(sha256sum </tmp/blob | cut -d" " -f1)"
sleep 600'
log=$work/boot2.log
t=$SECONDS
# The thread-pool engine here (boot 1 had the default, io_uring where the kernel allows it).
KVMINI_DISK_ENGINE=threads start_linux "$log" "$KERNEL" "$INITRD" "$boot2" --mem 256M --disk "$img,ro" --disk "$wb" \
	--disk "$dio,cache=none,serial=$dio_serial"
wait_for_output "$log" '^SYNC-DONE [0-9a-f]{64}' "${KVMINI_TEST_TIMEOUT:-240}" && found=1 || found=0
kill -9 "$KVMINI_PID" 2>/dev/null
boot_s=$((SECONDS - t))
STATUS=0
{ wait "$KVMINI_PID"; } 2>/dev/null || STATUS=$? # (no "Killed" line from bash)
KVMINI_PID=
OUT=$(cat "$log")
printf '  output: %s\n' "$OUT"
[ "$found" = 1 ] || fail "no SYNC-DONE line from the guest (kvmini status $STATUS)"
expect_status 137 # our SIGKILL, while the guest was still running

expect_dev "$OUT" vda 1 $((64 * MIB / 512)) "$img_serial"
expect_dev "$OUT" vdb 0 $((32 * MIB / 512)) wb.raw
expect_dev "$OUT" vdc 0 $((32 * MIB / 512)) "$dio_serial"
expect_out VERIFY-OK
no_disk_errors "$OUT"
sums2=$(lines "$OUT" | grep '^SUM ' | sort)
[ "$sums1" = "$sums2" ] || fail "the sums read back in boot 2 differ from those boot 1 printed"
ro_lines=$(lines "$OUT" | grep '^RO-WRITE ')
[ "$(printf '%s\n' "$ro_lines" | grep -c '^RO-WRITE refused: ')" = 2 ] ||
	fail "a write to the read-only disk was not refused: $ro_lines"
[ "$(sha "$img")" = "$img_sha" ] || fail "the read-only image changed"

want=$(lines "$OUT" | sed -n 's/^SYNC-DONE \([0-9a-f]\{64\}\)$/\1/p')
for disk in "$wb" "$dio"; do
	copy=$work/copy.raw
	cp "$disk" "$copy"
	# 0: clean, 1: errors fixed (a journal replay counts): anything else is a broken file system.
	rc=0
	e2fsck -fy "$copy" >"$work/fsck.log" 2>&1 || rc=$?
	[ "$rc" -le 1 ] || {
		cat "$work/fsck.log"
		fail "e2fsck -fy on a copy of ${disk##*/} after SIGKILL: status $rc"
	}
	got=$(debugfs -R 'cat /blob' "$copy" 2>/dev/null | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "${disk##*/}: /blob after SIGKILL has sha256 $got, the guest synced $want"
	rm -f "$copy"
done
echo "boot 2: ok (read-only disk refused 2 writes and is unchanged; synced data survived SIGKILL with writeback and cache=none; engine threads): kvmini ${boot_s} s, checks $((SECONDS - t - boot_s)) s"
echo "PASS"
