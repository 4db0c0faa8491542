# SPDX-License-Identifier: MIT
# Shared by the Linux guest tests. ctest sets KVMINI and GUEST (the directory that
# `make guest-kernel guest-initrd` fills: bzImage, vmlinux, initrd.cpio.gz, initrd-debian.cpio.gz).
. "$(dirname "${BASH_SOURCE[0]}")/../kvm/lib.sh"

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
