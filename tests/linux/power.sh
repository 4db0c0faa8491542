#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every way a Linux guest can end gives its documented exit status, and never hangs kvmini.
. "$(dirname "$0")/../lib/linux-guest.sh"
require_kvm
require_guest bzImage vmlinux initrd.cpio.gz
K=$GUEST/bzImage I=$GUEST/initrd.cpio.gz

# Both boot paths reach init and power off through ACPI S5 (the PM1a control block).
for kernel in "$K" "$GUEST/vmlinux"; do
	run_linux "$kernel" "$I" 'poweroff -f'
	expect_status 0
	expect_out "kvmini-guest: ready"
done

run_linux "$K" "$I" 'reboot -f' # ACPI reset register (then the i8042, the kernel's fallback)
expect_status 0

# A kernel panic, reported through pvpanic: an init= that cannot run makes the kernel panic
# ("Requested init ... failed"), with no sysrq needed in the kernel.
KVMINI_TEST_TIMEOUT=240 run_kvmini run --kernel "$K" --initrd "$I" \
	--append "console=ttyS0 quiet rdinit=/nonexistent init=/nonexistent"
expect_status 83
expect_out "Kernel panic"

# reboot=t makes the kernel reboot by triple-faulting on purpose.
STATUS=0
KVMINI_TEST_TIMEOUT=240 run_kvmini run --kernel "$K" --initrd "$I" \
	--append "$(guest_cmdline 'reboot -f') reboot=t"
expect_status 80
expect_err "triple fault"
echo "PASS"
