#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# deb.sh BUILD (make package-check): the Debian package, as a user gets it. CPack builds it from
# BUILD; its Depends name the shared libraries kvmini links and libslirp, which it loads for
# --net user (the rest is linked static: kvmini_prefer_static in CMakeLists.txt); unpacked (dpkg -x)
# into BUILD/package-root it holds kvmini, the manual page (every option, variable and exit status
# of --help), bash completion, the docs and the default guest, which the unpacked kvmini finds
# relative to itself.
# tests/kvm/package.sh then runs guests with the kvmini of BUILD/package-root. No KVM needed here.
set -u
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
for tool in cpack dpkg-deb dpkg-shlibdeps; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (make deps installs it)"
done
build=$(cd "${1:?usage: deb.sh BUILD}" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp" >"$tmp/cpack.log" 2>&1) ||
    fail "cpack failed: $(tail -5 "$tmp/cpack.log")"
deb=$(ls "$tmp"/kvmini_*_amd64.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "cpack made no kvmini_*_amd64.deb"
depends=$(dpkg-deb -f "$deb" Depends)
echo "package: $(basename "$deb"), Depends: $depends"
for lib in libc6 libslirp0; do
    [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib"
done

root=$build/package-root
rm -rf "$root"
dpkg -x "$deb" "$root" || fail "dpkg -x failed"
chmod 755 "$root" # an unprivileged user runs kvmini from it (tests/kvm/package.sh)
for f in usr/bin/kvmini usr/share/man/man1/kvmini.1 usr/share/bash-completion/completions/kvmini \
    usr/share/doc/kvmini/README.md usr/share/doc/kvmini/security.md; do
    [ -f "$root/$f" ] || fail "the package has no /$f"
done
"$root/usr/bin/kvmini" --version | grep -q "^kvmini " || fail "the packaged kvmini --version"
page=$(sed 's/\\-/-/g; s/\\f[BIR]//g' "$root/usr/share/man/man1/kvmini.1")
for want in --kernel --initrd --append --mem --cpus --disk --net --console --stats --seccomp \
    KVMINI_KVM_DEVICE KVMINI_STOP_SECONDS "64 usage" "68 a --net" "69 no usable KVM" \
    "84 no VM exit" "86 a stop" "159, SIGSYS" "Ctrl-A x"; do
    [[ $page == *"$want"* ]] || fail "the manual page lacks '$want'"
done
bash -n "$root/usr/share/bash-completion/completions/kvmini" || fail "the completion script"

# The default guest, relative to the unpacked binary: found (it gets as far as KVM: 69) when the
# guest was built, else the error names where kvmini looked.
status=0
err=$(KVMINI_KVM_DEVICE=$tmp/absent "$root/usr/bin/kvmini" run </dev/null 2>&1 >/dev/null) ||
    status=$?
echo "\$ (unpacked) kvmini run -> status $status: $err"
if [ -f "$root/usr/share/kvmini/guest/bzImage" ]; then
    [ "$status" = 69 ] || fail "the unpacked kvmini did not find its default guest"
else
    [ "$status" = 64 ] && [[ $err == *"no default guest"*"$root/usr/bin/../share/kvmini/guest"* ]] ||
        fail "without a default guest: status $status, '$err'"
fi
echo "package-check: $(basename "$deb") is good; unpacked in $root"
