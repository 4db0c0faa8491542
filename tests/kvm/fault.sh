#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A misbehaving guest: kvmini survives, reports, and ends with the documented status.
. "$(dirname "$0")/../lib/guest.sh"
require_kvm
F="$TINY/fault.elf"

run_kvmini run --kernel "$F" --append fault=triple
expect_status 80
expect_err "guest triple fault on vCPU 0"

run_kvmini run --kernel "$F" --append fault=mmio --mem 128M
expect_status 0
expect_out "fault: mmio read 0xc0000000 = 0xffffffff"
expect_err "where nothing is mapped"

run_kvmini run --kernel "$F" --append fault=noram --mem 128M
expect_status 0
expect_err "where nothing is mapped"

run_kvmini run --kernel "$F" --append fault=rom
expect_status 0
expect_out "kept=no" # the write did not stick
expect_err "wrote to read-only memory at 0xf0000"

run_kvmini run --kernel "$F" --append fault=port
expect_status 0

run_kvmini run --kernel "$F" --append fault=ud
expect_status 38 # the tiny runtime reports exception 6 as 32 + 6
expect_out "exception 6"

# An instruction KVM cannot emulate: at CPL3 the guest gets #UD (vector 6) and reports it ...
run_kvmini run --kernel "$F" --append fault=emul
expect_status 38
expect_out "exception 6"

# ... at CPL0 KVM gives up: kvmini stops with 81 and shows where and what (pcmpeqb (%rax),%xmm0).
run_kvmini run --kernel "$F" --append fault=emul0
expect_status 81
expect_err "emulation failure"
expect_err "instruction bytes: 66 0f 74 00"
expect_err "(CPL 0)"

# On a PVM host the same failure also explains PVM's CPL0 limits (simulated here).
KVMINI_ASSUME_PVM=1 run_kvmini run --kernel "$F" --append fault=emul0
expect_status 81
expect_err "this host's KVM is PVM"

# CPL3 port I/O with the TSS I/O bitmap gone: it works where the host honours IOPL=3 (status 0);
# where IOPL is 0 at CPL3 (some PVM hosts), it #GPs, and the runtime reports that from CPL0
# (32 + 13) instead of faulting again on its own port I/O, forever.
run_kvmini run --kernel "$F" --append fault=noiobitmap
case $STATUS in
0) ;;
45) expect_out "tiny: exception 13 at" ;;
*) fail "expected exit status 0 (IOPL honoured) or 45 (#GP reported), got $STATUS" ;;
esac
run_kvmini run --kernel "$F" --append "fault=noiobitmap tiny.iopl=0"
expect_status 45
expect_out "fault: IOPL 0 at CPL3"
expect_out "tiny: exception 13 at"

# A fault inside the runtime's own CPL0 exception path ends the guest at once, with its own status.
run_kvmini run --kernel "$F" --append fault=nested
expect_status 31
expect_out "tiny: exception 6 at"

# On a PVM host, a guest that has made no VM exit a few seconds after the start is stopped (84)
# with where each vCPU was and why (simulated here) ...
KVMINI_ASSUME_PVM=1 KVMINI_NO_EXIT_SECONDS=2 run_kvmini run --kernel "$F" --append fault=hang0
expect_status 84
expect_err "vCPU 0 made no VM exit in 2 s; it is at RIP"
expect_err "(CPL 0)"
expect_err "this host's KVM is PVM"
# ... but never one that has made exits: this one runs until the test's time limit (124) ...
KVMINI_ASSUME_PVM=1 KVMINI_NO_EXIT_SECONDS=1 KVMINI_TEST_TIMEOUT=4 run_kvmini run --kernel "$F" \
    --append fault=hang
expect_status 124
expect_out "fault: hanging at CPL3"
# ... and where the KVM is not PVM (kvmini tells by kvm_pvm), no guest is stopped for it.
if [ ! -d /sys/module/kvm_pvm ]; then
    KVMINI_NO_EXIT_SECONDS=1 KVMINI_TEST_TIMEOUT=4 run_kvmini run --kernel "$F" --append fault=hang0
    expect_status 124
fi

# Flooding unmapped MMIO: warnings stay bounded.
run_kvmini run --kernel "$F" --append fault=mmioflood
expect_status 0
[ "$(printf '%s\n' "$ERR" | grep -c 'nothing is mapped')" -le 8 ] || fail "warnings not bounded"
echo "PASS"
