#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The host changes a file while kvmini loads it: an initrd truncated while kvmini copies it into
# the guest ends in a clear error (65) or, when the cut comes before or after the copy, a normal
# boot (0); never a crash (a SIGBUS from a mapping past the file's new end: status 135).
. "$(dirname "$0")/../lib/guest.sh"
require_kvm
dir=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-hostfiles.XXXXXX")
trap 'rm -rf "$dir"' EXIT
initrd=$dir/initrd.img

shrank=0
for delay in 0.02 0.1 0.3 0.6; do
    truncate -s 512M "$initrd" # sparse: copying it costs kvmini time, the disk nothing
    (
        sleep "$delay"
        truncate -s 4096 "$initrd"
    ) &
    run_kvmini run --kernel "$TINY/hello.elf" --initrd "$initrd" --mem 1G
    wait
    case $STATUS in
    0) expect_out "Hello from the kvmini tiny guest" ;;
    65)
        expect_err "initrd '$initrd' shrank while kvmini read it"
        expect_one_error_line
        shrank=$((shrank + 1))
        ;;
    *) fail "status $STATUS: expected 0 (booted) or 65 (a clear error)" ;;
    esac
done
echo "initrd cut while loading: $shrank of 4 runs said so, the others booted"
echo "PASS"
