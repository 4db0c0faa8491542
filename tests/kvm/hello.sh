#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The smallest end-to-end run: a tiny guest prints over the UART and exits 0 through port 0x501.
. "$(dirname "$0")/../lib/guest.sh"
require_kvm
run_kvmini run --kernel "$TINY/hello.elf"
expect_status 0
expect_out "Hello from the kvmini tiny guest"
[ -z "$ERR" ] || fail "a clean run prints nothing on stderr"

# With IOPL 0 at CPL3, as on a PVM host that ignores IOPL: the TSS I/O bitmap lets the ports through.
run_kvmini run --kernel "$TINY/hello.elf" --append tiny.iopl=0
expect_status 0
expect_out "Hello from the kvmini tiny guest"

# --stats names the exits the guest caused, by reason and by device.
run_kvmini run --kernel "$TINY/hello.elf" --stats
expect_status 0
expect_err "exits by reason"
expect_err "IO"
expect_err "serial"
expect_err "debug-exit"
expect_err "stopped: guest exit through the debug-exit port, exit status 0"
echo "PASS"
