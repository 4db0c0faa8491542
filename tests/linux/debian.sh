#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# "Boot the kernel you have": Debian's distribution kernel, with its modules packed by the
# initramfs builder, boots and loads them.
. "$(dirname "$0")/../lib/linux-guest.sh"
require_kvm
require_guest initrd-debian.cpio.gz
kernel=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1)
[ -n "$kernel" ] || fail "no Debian kernel in /boot (make deps installs linux-image-amd64)"

run_linux "$kernel" "$GUEST/initrd-debian.cpio.gz" \
	'echo kernel=$(uname -r); grep -c "^virtio" /proc/modules | sed "s/^/virtio_modules=/"; exit 0' \
	--cpus 2 --mem 512M
expect_status 0
expect_out "kernel=$(basename "$kernel" | sed 's/^vmlinuz-//')"
printf '%s' "$OUT" | grep -q 'virtio_modules=[1-9]' || fail "no virtio module was loaded"
echo "PASS"
