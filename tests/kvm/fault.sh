#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A misbehaving guest: kvmini survives, reports, and ends with the documented status.
. "$(dirname "$0")/lib.sh"
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

# Flooding unmapped MMIO: warnings stay bounded.
run_kvmini run --kernel "$F" --append fault=mmioflood
expect_status 0
[ "$(printf '%s\n' "$ERR" | grep -c 'nothing is mapped')" -le 8 ] || fail "warnings not bounded"
echo "PASS"
