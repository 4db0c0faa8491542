#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Where run-kvm-tests sends each label, on hosts this machine may not be: a fake kvmini stands in
# for the host's KVM (a canary that passes, hangs or fails; a CPL0 probe that finds hardware speed
# or emulation) and /dev/null for /dev/kvm. No KVM needed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
run_kvm_tests=$here/../run-kvm-tests

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build=$tmp/build
mkdir -p "$build/guests/tiny"
: >"$build/guests/tiny/hello.elf"
: >"$build/guests/tiny/probe.elf"
# The fake kvmini: `run --kernel GUEST`, behaving as FAKE_HELLO and FAKE_PROBE say.
cat >"$build/kvmini" <<'EOF'
#!/usr/bin/env bash
case ${3##*/}:${FAKE_HELLO:-pass}:${FAKE_PROBE:-hardware} in
hello.elf:pass:*) echo "Hello from the kvmini tiny guest" ;;
hello.elf:hang:*) exec sleep 60 ;;
hello.elf:fail:*)
	echo "kvmini: error: KVM could not run vCPU 0: internal error" >&2
	exit 81
	;;
hello.elf:silent:*) ;;
probe.elf:*:hardware) echo "probe: 200000 loops took 200000 TSC cycles at CPL3 and 210000 at CPL0 (1x)" ;;
probe.elf:*:emulated)
	echo "probe: 200000 loops took 200000 TSC cycles at CPL3 and 600000000 at CPL0 (3000x)"
	exit 1
	;;
*) exit 70 ;;
esac
EOF
chmod +x "$build/kvmini"

# expect_plan DESCRIPTION WANTED_PLAN WANTED_TEXT [ENV...]: runs the plan with ENV and checks the
# runs it lists (host/rig lines, in order) and that its output mentions WANTED_TEXT.
expect_plan() {
	local what=$1 want=$2 text=$3 out plan
	shift 3
	out=$(env KVMINI_PROBE_DEVICE=/dev/null "$@" "$run_kvm_tests" --plan "$build" 2>&1) ||
		fail "$what: run-kvm-tests --plan failed: $out"
	plan=$(printf '%s\n' "$out" | sed -n 's/^kvm-tests: plan: //p' | paste -sd';')
	printf '%s\n%s\n' "== $what" "$out"
	[[ $plan == "$want" ]] || fail "$what: plan '$plan', wanted '$want'"
	[[ $out == *"$text"* ]] || fail "$what: the output does not say '$text'"
}

expect_plan "hardware KVM" "host: kvm|linux" "CPL0 code runs at hardware speed"
expect_plan "hardware KVM: no pvm test" "host: kvm|linux" "so it does not apply"
expect_plan "PVM that runs tiny guests" "host: kvm|pvm;rig: linux" "(3000x slower than CPL3, as on PVM)" \
	FAKE_PROBE=emulated
expect_plan "canary hangs" "rig: kvm|linux" "did not finish on this host's KVM in 1 s" \
	FAKE_HELLO=hang KVMINI_CANARY_SECONDS=1
expect_plan "canary fails" "rig: kvm|linux" "(status 81: error: KVM could not run vCPU 0" FAKE_HELLO=fail
expect_plan "canary silent" "rig: kvm|linux" "without its greeting" FAKE_HELLO=silent
expect_plan "no /dev/kvm" "rig: kvm|linux" "no $tmp/none" \
	KVMINI_PROBE_DEVICE="$tmp/none"
expect_plan "not a device" "rig: kvm|linux" "is not a character device" \
	KVMINI_PROBE_DEVICE="$build/kvmini"
expect_plan "forced rig" "rig: kvm|linux" "KVMINI_TEST_MODE=rig" KVMINI_TEST_MODE=rig
expect_plan "TSan run" "host: kvm" "tiny guests run here" KVMINI_TEST_LABELS=kvm FAKE_PROBE=emulated
echo "PASS"
