#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Only where the host's KVM runs tiny guests but emulates guest CPL0 code, as PVM does
# (run-kvm-tests runs the "pvm" label there alone): a stock kernel cannot boot, and kvmini must say
# so and end, never hang. PVM builds differ in how the kernel dies: on some it runs into an
# instruction the emulator lacks (status 81: RIP, instruction bytes), on others it never makes a
# single VM exit (status 84, after a few seconds: where each vCPU was). Either way kvmini explains
# PVM. (fault.sh checks both reports with KVMINI_ASSUME_PVM=1 on any KVM.)
. "$(dirname "$0")/../lib/linux-guest.sh"
require_kvm
require_guest bzImage

KVMINI_TEST_TIMEOUT=600 run_kvmini run --kernel "$GUEST/bzImage" --mem 256M \
	--append "console=ttyS0 earlyprintk=serial kvmini.pvmtest=1"
case $STATUS in
81) expect_err "emulation failure" ;;
84) expect_err "made no VM exit in" ;;
*) fail "expected status 81 (emulation failure) or 84 (no VM exit), got $STATUS" ;;
esac
expect_err "this host's KVM is PVM"
echo "PASS"
