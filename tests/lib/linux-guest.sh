# SPDX-License-Identifier: MIT
# Shared by the Linux guest tests. ctest sets KVMINI and GUEST (the directory that
# `make guest-kernel guest-initrd` fills: bzImage, vmlinux, initrd.cpio.gz, initrd-debian.cpio.gz).
. "$(dirname "${BASH_SOURCE[0]}")/guest.sh"

require_guest() {
	local f
	for f in "$@"; do
		[ -s "$GUEST/$f" ] || fail "$GUEST/$f is missing: run 'make guest-kernel guest-initrd'"
	done
}

# The kernel command line that runs CMD in the guest's initramfs (guests/linux/init) and ends
# the VM with its exit status.
guest_cmdline() {
	printf 'console=ttyS0 quiet panic=-1 kvmini.run=%s' "$(printf '%s' "$1" | base64 -w0)"
}

# run_linux KERNEL INITRD CMD [kvmini options...]: boots, runs CMD, sets OUT/ERR/STATUS.
run_linux() {
	local kernel=$1 initrd=$2 cmd=$3
	shift 3
	KVMINI_TEST_TIMEOUT=${KVMINI_TEST_TIMEOUT:-240} run_kvmini run --kernel "$kernel" \
		--initrd "$initrd" --append "$(guest_cmdline "$cmd")" "$@"
}

# start_linux OUTFILE KERNEL INITRD CMD [kvmini options...]: starts kvmini in the background (stdin
# /dev/null, stdout and stderr into OUTFILE) and sets KVMINI_PID; for tests that act while the guest
# runs (wait_for_output, then kill or wait).
start_linux() {
	local out=$1 kernel=$2 initrd=$3 cmd=$4
	shift 4
	echo "\$ kvmini run --kernel $kernel --initrd $initrd $* (in the background)"
	trace "kvmini run --kernel $kernel --initrd $initrd $* (in the background)"
	"$KVMINI" run --kernel "$kernel" --initrd "$initrd" --append "$(guest_cmdline "$cmd")" "$@" \
		</dev/null >"$out" 2>&1 &
	KVMINI_PID=$!
}

# direct_io_dir DIR...: prints the first DIR in which files can be opened with O_DIRECT (tmpfs
# cannot before Linux 6.6: the rig's /tmp; a 9p share or a disk file system can), or nothing.
direct_io_dir() {
	local d probe
	for d in "$@"; do
		{ [ -d "$d" ] && [ -w "$d" ]; } || continue
		probe=$d/.kvmini-odirect-$$
		if dd if=/dev/zero of="$probe" bs=4096 count=1 oflag=direct status=none 2>/dev/null; then
			rm -f "$probe"
			printf '%s\n' "$d"
			return 0
		fi
		rm -f "$probe"
	done
}
