#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kvmini from the Debian package, unpacked (dpkg -x) into BUILD/package-root by tests/pkg/deb.sh
# (make package-check, which make kvm-tests runs first): --version, a tiny guest, also as an
# unprivileged user who has nothing but access to a KVM device node (no root needed), and its
# default guest, found relative to itself.
. "$(dirname "$0")/../lib/guest.sh"
require_kvm
command -v setpriv >/dev/null || fail "setpriv is not installed (make deps installs util-linux)"
build=$(dirname "$KVMINI")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-package.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp" # the unprivileged run must reach it
installed=$build/package-root/usr/bin/kvmini
[ -x "$installed" ] || fail "$installed is missing: run make package-check (make kvm-tests does)"
"$installed" --version | grep -q "^kvmini " || fail "the packaged kvmini --version"

KVMINI=$installed run_kvmini run --kernel "$TINY/hello.elf"
expect_status 0
expect_out "Hello from the kvmini tiny guest"

# No root: a user who may open a KVM device node (on a laptop, /dev/kvm through the kvm group; here
# a node made for them) runs the same guest. Root makes the node, nothing else.
if [ "$(id -u)" = 0 ]; then
    numbers=$(stat -L -c '%t %T' "${KVMINI_KVM_DEVICE:-/dev/kvm}") || fail "no KVM device to copy"
    major=${numbers% *} minor=${numbers#* }
    mknod "$tmp/kvm" c $((16#$major)) $((16#$minor)) || fail "cannot make a KVM device node"
    chown 65534:65534 "$tmp/kvm"
    chmod 600 "$tmp/kvm"
    STATUS=0
    OUT=$(KVMINI_KVM_DEVICE=$tmp/kvm setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$installed" run --kernel "$TINY/hello.elf" </dev/null 2>"$tmp/err") || STATUS=$?
    ERR=$(cat "$tmp/err")
    echo "\$ (as nobody) kvmini run --kernel $TINY/hello.elf -> status $STATUS $ERR"
    expect_status 0
    expect_out "Hello from the kvmini tiny guest"
else
    echo "not root: the run above was the unprivileged one"
fi

# The default guest, installed with kvmini when it was built, is found relative to the binary.
if [ -f "$build/package-root/usr/share/kvmini/guest/bzImage" ]; then
    KVMINI=$installed KVMINI_KVM_DEVICE=$tmp/absent run_kvmini run
    expect_status 69 # it got as far as opening KVM
    expect_err "$tmp/absent"
fi
echo "PASS"
