# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034  # sets variables for the script that sources it
#
# Sourced by the scripts that run guests (run-kvm-tests, demo, bench/run): do guests run on this
# host's /dev/kvm or in the nested rig? Machines that look alike differ here (no /dev/kvm, a PVM
# that runs tiny guests natively, a PVM that ignores IOPL at CPL3, hardware KVM), so this is
# decided by running guests, never by module names:
#   1. /dev/kvm must exist and open read-write for this user;
#   2. the canary, a tiny guest (hello.elf), must print its greeting and exit 0 within
#      KVMINI_CANARY_SECONDS (default 10): then tiny guests run on this host;
#   3. the CPL0 probe (probe.elf) must find guest CPL0 code running at hardware speed: then Linux
#      guests run on this host too. Where CPL0 is emulated (PVM) a stock kernel cannot boot.
#
# kvm_host_probe BUILD_DIR sets
#   KVM_TINY=host|rig   and KVM_TINY_WHY, one line saying why
#   KVM_LINUX=host|rig  and KVM_LINUX_WHY
# KVMINI_PROBE_DEVICE (default /dev/kvm) and KVMINI_PROBE_KVMINI (default BUILD_DIR/kvmini) stand in
# for the device and the binary, so tests/lib/test-kvm-host.sh can play hosts this machine is not.

# probe_guest SECONDS GUEST: runs kvmini on GUEST (kvm_host_probe's $probe_kvmini on its
# $probe_dev); sets PROBE_STATUS, PROBE_OUT and PROBE_ERR.
probe_guest() {
	local out err
	out=$(mktemp) err=$(mktemp)
	PROBE_STATUS=0
	KVMINI_KVM_DEVICE=$probe_dev timeout -k 5 "$1" "$probe_kvmini" run --kernel "$2" \
		</dev/null >"$out" 2>"$err" || PROBE_STATUS=$?
	PROBE_OUT=$(cat "$out") PROBE_ERR=$(cat "$err")
	rm -f "$out" "$err"
}

# The last line kvmini printed on stderr, for a reason line (kvmini's errors are one line each).
probe_last_error() {
	local line
	line=$(printf '%s\n' "$PROBE_ERR" | grep . | tail -n 1)
	line=${line#kvmini: }
	[[ -z $line ]] || printf ': %.160s' "$line"
}

kvm_host_probe() {
	local build=${1:?usage: kvm_host_probe BUILD_DIR} secs=${KVMINI_CANARY_SECONDS:-10} ratio
	local probe_dev=${KVMINI_PROBE_DEVICE:-/dev/kvm}
	local probe_kvmini=${KVMINI_PROBE_KVMINI:-$build/kvmini}
	local canary=$build/guests/tiny/hello.elf cpl0=$build/guests/tiny/probe.elf
	KVM_TINY=rig KVM_LINUX=rig KVM_TINY_WHY= KVM_LINUX_WHY=

	if [[ ! -e $probe_dev ]]; then
		KVM_TINY_WHY="no $probe_dev"
		if [[ -d /sys/module/kvm_pvm ]]; then
			KVM_TINY_WHY+=" (kvm_pvm is loaded but did not bind: this host is itself a PVM guest)"
		elif grep -qsw -e vmx -e svm /proc/cpuinfo; then
			KVM_TINY_WHY+=" (the CPU has vmx/svm: try 'sudo modprobe kvm-intel' or 'sudo modprobe kvm-amd')"
		fi
	elif [[ ! -c $probe_dev ]]; then
		KVM_TINY_WHY="$probe_dev is not a character device"
	elif ! (exec 3<>"$probe_dev") 2>/dev/null; then
		KVM_TINY_WHY="$(id -un) cannot open $probe_dev read-write (add the user to group kvm)"
	elif [[ ! -x $probe_kvmini || ! -f $canary || ! -f $cpl0 ]]; then
		KVM_TINY_WHY="$build has no kvmini or tiny guests to try this host's KVM with (run 'make build')"
	fi
	if [[ -n $KVM_TINY_WHY ]]; then
		KVM_TINY_WHY+=": tiny guests run in the rig"
		KVM_LINUX_WHY="Linux guests run in the rig too"
		return 0
	fi

	probe_guest "$secs" "$canary"
	if ((PROBE_STATUS == 124 || PROBE_STATUS == 137)); then
		KVM_TINY_WHY="the canary tiny guest did not finish on this host's KVM in $secs s: tiny guests run in the rig"
	elif ((PROBE_STATUS != 0)); then
		KVM_TINY_WHY="the canary tiny guest failed on this host's KVM (status $PROBE_STATUS$(probe_last_error)): tiny guests run in the rig"
	elif [[ $PROBE_OUT != *"Hello from the kvmini tiny guest"* ]]; then
		KVM_TINY_WHY="the canary tiny guest exited 0 on this host's KVM without its greeting: tiny guests run in the rig"
	fi
	if [[ -n $KVM_TINY_WHY ]]; then
		KVM_LINUX_WHY="Linux guests run in the rig too"
		return 0
	fi
	KVM_TINY=host
	KVM_TINY_WHY="the canary tiny guest ran on this host's KVM: tiny guests run here"

	probe_guest 60 "$cpl0"
	ratio=$(printf '%s\n' "$PROBE_OUT" | sed -nE 's/^probe: .*\(([0-9]+)x\)$/\1/p' | head -n 1)
	if ((PROBE_STATUS == 0)); then
		KVM_LINUX=host
		KVM_LINUX_WHY="guest CPL0 code runs at hardware speed on this host's KVM: Linux guests run here"
	elif ((PROBE_STATUS == 1)) && [[ -n $ratio ]]; then
		KVM_LINUX_WHY="guest CPL0 code is emulated on this host's KVM (${ratio}x slower than CPL3, as on PVM), so a stock kernel cannot boot here: Linux guests run in the rig"
	else
		KVM_LINUX_WHY="the CPL0 probe failed on this host's KVM (status $PROBE_STATUS$(probe_last_error)): Linux guests run in the rig"
	fi
}
