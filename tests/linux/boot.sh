#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Both boot paths (bzImage through the 64-bit boot protocol, vmlinux through PVH) reach the
# initramfs's init with what was asked for: vCPUs, memory, command line, an intact initrd.
. "$(dirname "$0")/../lib/linux-guest.sh"
require_kvm
require_guest bzImage vmlinux initrd.cpio.gz

probe='echo nproc=$(nproc); echo cmdline=$(cat /proc/cmdline);
awk "/MemTotal/ {print \"memtotal=\" \$2}" /proc/meminfo;
sha256sum -c /etc/initrd-manifest >/dev/null && echo initrd=ok;
echo pci=$(cat /sys/bus/pci/devices/0000:00:00.0/vendor /sys/bus/pci/devices/0000:00:00.0/class);
exit 7'

for kernel in bzImage vmlinux; do
	run_linux "$GUEST/$kernel" "$GUEST/initrd.cpio.gz" "$probe" --cpus 2 --mem 256M
	expect_status 7 # the command's own status, through port 0x501
	expect_out "kvmini-guest: ready"
	expect_out "nproc=2"
	expect_out "initrd=ok"
	expect_out "pci=0x1b36 0x060000" # kvmini's host bridge, found through the DSDT's PCI0
	expect_out "cmdline=$(guest_cmdline "$probe")"
	mem=$(printf '%s\n' "$OUT" | sed -n 's/.*memtotal=\([0-9]*\).*/\1/p' | head -1)
	[ -n "$mem" ] && [ "$mem" -le $((256 * 1024)) ] && [ "$mem" -ge $((200 * 1024)) ] ||
		fail "$kernel: MemTotal ${mem:-?} KiB does not fit --mem 256M"
	printf '%s' "$OUT" | grep -q "ACPI BIOS Error\|ACPI Error" && fail "$kernel: ACPI errors in the boot log"
done
echo "PASS"
