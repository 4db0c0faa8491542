#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Only on a PVM host (run-kvm-tests runs the "pvm" label there alone): a stock kernel cannot boot,
# but it gets far enough to print its early log with kvmini's command line and e820 map, and then
# kvmini explains the emulation failure instead of hanging. (fault.sh checks the same report with
# KVMINI_ASSUME_PVM=1 on any KVM.)
. "$(dirname "$0")/lib.sh"
require_kvm
require_guest bzImage
[ -d /sys/module/kvm_pvm ] || fail "this test is for PVM hosts only"

KVMINI_TEST_TIMEOUT=600 run_kvmini run --kernel "$GUEST/bzImage" --mem 256M \
	--append "console=ttyS0 earlyprintk=serial kvmini.pvmtest=1"
expect_status 81
expect_out "Linux version"
expect_out "Command line: console=ttyS0 earlyprintk=serial kvmini.pvmtest=1"
expect_out "BIOS-e820: [mem 0x0000000000100000-"
expect_err "this host's KVM is PVM"
echo "PASS"
