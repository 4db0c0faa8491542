#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input never needs KVM to be diagnosed: each case gets one clear line and its exit status.
. "$(dirname "$0")/../lib/guest.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
K="$TINY/hello.elf"

# No KVM at all.
KVMINI_KVM_DEVICE=$tmp/absent run_kvmini run --kernel "$K"
expect_status 69
expect_err "does not exist"
expect_one_error_line

# Permission denied: a device node we may not open. Root ignores file modes unless it drops
# CAP_DAC_OVERRIDE, which setpriv does for this one command.
touch "$tmp/kvm"
chmod 000 "$tmp/kvm"
if [ "$(id -u)" = 0 ]; then
    STATUS=0
    ERR=$(KVMINI_KVM_DEVICE=$tmp/kvm setpriv --bounding-set=-dac_override,-dac_read_search \
        "$KVMINI" run --kernel "$K" </dev/null 2>&1 >/dev/null) || STATUS=$?
    echo "\$ (no DAC override) kvmini run --kernel $K -> status $STATUS: $ERR"
else
    KVMINI_KVM_DEVICE=$tmp/kvm run_kvmini run --kernel "$K"
fi
expect_status 69
expect_err "no permission to open"
expect_err "kvm' group"

# A /dev/kvm that is something else entirely.
KVMINI_KVM_DEVICE=/dev/null run_kvmini run --kernel "$K"
expect_status 69
expect_err "not a usable KVM device"

# A test knob with a bad value.
KVMINI_NO_EXIT_SECONDS=soon run_kvmini run --kernel "$K"
expect_status 64
expect_err "KVMINI_NO_EXIT_SECONDS must be 1 to 3600 (got 'soon')"
expect_one_error_line

# A kernel that is shorter than it was when kvmini measured it (truncated meanwhile): a sysfs file
# says it has 4096 bytes and holds a few. kvmini reads the kernel into its own memory, so this is a
# clear error, not a SIGBUS later while the loader reads a mapping past the file's end.
run_kvmini run --kernel /sys/kernel/uevent_seqnum
expect_status 65
expect_err "shrank while kvmini read it"
expect_one_error_line

# Kernel files.
run_kvmini run --kernel "$tmp/missing.elf"
expect_status 66
expect_err "cannot open kernel"
expect_one_error_line

: >"$tmp/empty"
run_kvmini run --kernel "$tmp/empty"
expect_status 65
expect_err "is empty"

echo "just some text, not a kernel" >"$tmp/text"
run_kvmini run --kernel "$tmp/text"
expect_status 65
expect_err "not a kernel kvmini can boot"
expect_one_error_line

head -c 100 "$K" >"$tmp/truncated.elf"
run_kvmini run --kernel "$tmp/truncated.elf"
expect_status 65
expect_one_error_line

cp "$K" "$tmp/arm.elf"
printf '\xb7\x00' | dd of="$tmp/arm.elf" bs=1 seek=18 conv=notrunc status=none # EM_AARCH64
run_kvmini run --kernel "$tmp/arm.elf"
expect_status 65
expect_err "another architecture"

run_kvmini run --kernel "$tmp"
expect_status 66
expect_err "not a regular file"

# A bzImage: truncated, and given a command line longer than its boot protocol allows.
bz=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1)
[ -n "$bz" ] || fail "no Debian kernel in /boot (make deps installs linux-image-amd64)"
head -c 20000 "$bz" >"$tmp/truncated.bzImage"
run_kvmini run --kernel "$tmp/truncated.bzImage"
expect_status 65
expect_err "truncated"
expect_one_error_line

run_kvmini run --kernel "$bz" --append "$(head -c 3000 /dev/zero | tr '\0' x)"
expect_status 64
expect_err "this kernel accepts at most"

# Options.
run_kvmini run --kernel "$K" --mem 0
expect_status 64
expect_err "--mem 0 is too small"
expect_one_error_line

run_kvmini run --kernel "$K" --mem 64T
expect_status 64
expect_err "more than this host's"

run_kvmini run --kernel "$K" --mem 3X
expect_status 64
expect_err "not a size"

run_kvmini run --kernel "$K" --cpus 0
expect_status 64
expect_err "at least one vCPU"

run_kvmini run --kernel "$K" --cpus 65
expect_status 64
expect_err "above kvmini's limit"

run_kvmini run --kernel "$K" --bogus
expect_status 64
expect_err "unknown option '--bogus'"
expect_one_error_line

run_kvmini frobnicate
expect_status 64
expect_err "unknown command"

run_kvmini run --kernel "$K" --append "$(head -c 70000 /dev/zero | tr '\0' x)"
expect_status 64
expect_err "--append is 70000 bytes"

truncate -s 200M "$tmp/huge.cpio"
run_kvmini run --kernel "$K" --initrd "$tmp/huge.cpio" --mem 128M
expect_status 65
expect_err "does not fit in guest RAM"

run_kvmini run --kernel "$K" --initrd "$tmp/nope.cpio"
expect_status 66
expect_err "cannot open initrd"

# Disks: opened and locked before KVM, so these need none (KVMINI_KVM_DEVICE proves the order).
export KVMINI_KVM_DEVICE=$tmp/absent
run_kvmini run --kernel "$K" --disk "$tmp/missing.img"
expect_status 66
expect_err "missing.img: no such file"
expect_one_error_line
run_kvmini run --kernel "$K" --disk "$tmp"
expect_status 66
expect_err "is a directory"
expect_one_error_line
: >"$tmp/empty.img"
run_kvmini run --kernel "$K" --disk "$tmp/empty.img"
expect_status 66
expect_err "empty"
expect_one_error_line
truncate -s 1M "$tmp/disk.img"
run_kvmini run --kernel "$K" --disk "$tmp/disk.img,rw"
expect_status 64
expect_err "unknown option 'rw'"
expect_one_error_line
run_kvmini run --kernel "$K" --disk "$tmp/disk.img,serial=123456789012345678901"
expect_status 64
expect_err "longer than 20 bytes"
# Another process (this shell) holds the image: read-write and even read-only opens are refused.
exec {held}<"$tmp/disk.img"
flock -x "$held"
run_kvmini run --kernel "$K" --disk "$tmp/disk.img"
expect_status 66
expect_err "in use by another process"
expect_one_error_line
run_kvmini run --kernel "$K" --disk "$tmp/disk.img,ro"
expect_status 66
expect_err "in use by another process"
exec {held}<&-
# With the lock gone, the disk is accepted and the next problem reported is the missing KVM.
run_kvmini run --kernel "$K" --disk "$tmp/disk.img"
expect_status 69
unset KVMINI_KVM_DEVICE

# --net: bad syntax is a usage error (64), named; a backend that cannot be set up is 68, before KVM.
for bad in "wifi" "user,mac=01:00:5e:00:00:01" "user,mac=52:54:00:zz:00:01" \
    "user,hostfwd=tcp::0-:80" "user,hostfwd=tcp::8080:80" "user,hostfwd=sctp::1-:2" \
    "tap=" "tap=a-name-far-too-long-for-linux" "tap=kv0,hostfwd=tcp::1-:2"; do
    run_kvmini run --kernel "$K" --net "$bad"
    expect_status 64
    expect_err "--net"
    expect_one_error_line
done
run_kvmini run --kernel "$K" --net user --net user --net user --net user --net user
expect_status 64
expect_err "more than 4 --net"
busy_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(30)' \
    "$busy_port" &
holder=$!
for _ in $(seq 50); do
    ss -Hltn "sport = :$busy_port" | grep -q . && break
    sleep 0.1
done
KVMINI_KVM_DEVICE=$tmp/absent run_kvmini run --kernel "$K" --net "user,hostfwd=tcp:127.0.0.1:$busy_port-:80"
kill "$holder" 2>/dev/null
expect_status 68
expect_err "port"
expect_one_error_line
# A TAP that does not exist, for a user who may not create one.
if [ "$(id -u)" = 0 ]; then
    STATUS=0
    ERR=$(KVMINI_KVM_DEVICE=$tmp/absent setpriv --reuid=65534 --regid=65534 --clear-groups \
        --inh-caps=-all --bounding-set=-all "$KVMINI" run --kernel "$K" --net tap=kvnosuch0 \
        </dev/null 2>&1 >/dev/null) || STATUS=$?
    echo "\$ (as nobody) kvmini run --kernel $K --net tap=kvnosuch0 -> status $STATUS: $ERR"
else
    KVMINI_KVM_DEVICE=$tmp/absent run_kvmini run --kernel "$K" --net tap=kvnosuch0
fi
expect_status 68
expect_err "tap=kvnosuch0"
expect_one_error_line

run_kvmini --help
expect_status 0
expect_out "usage: kvmini run [--kernel FILE]"

run_kvmini --version
expect_status 0
expect_out "kvmini 0."
echo "PASS"
