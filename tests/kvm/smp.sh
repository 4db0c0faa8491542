#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every vCPU runs and checks in (kvmini starts them all at the KVMINI note's 64-bit entry).
. "$(dirname "$0")/../lib/guest.sh"
require_kvm
for n in 1 2 4; do
    run_kvmini run --kernel "$TINY/smp.elf" --cpus "$n"
    expect_status 0
    expect_out "smp: $n of $n vCPUs checked in"
done
# Each vCPU's TSS reaches the shared I/O bitmap from its own offset: all of them print with IOPL 0.
run_kvmini run --kernel "$TINY/smp.elf" --cpus 4 --append tiny.iopl=0
expect_status 0
expect_out "smp: 4 of 4 vCPUs checked in"
echo "PASS"
