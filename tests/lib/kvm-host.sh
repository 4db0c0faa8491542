# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034  # sets variables for the script that sources it
# Sourced by the scripts that run guests (run-kvm-tests, demo, bench/run): is there a /dev/kvm
# here this user can use? kvm_host_probe sets KVM_KIND ("PVM" or "hardware KVM") when there is,
# and KVM_REASON (why not, and the fix) when there is not.

kvm_host_probe() {
	KVM_KIND=
	KVM_REASON=
	if [[ ! -e /dev/kvm ]]; then
		KVM_REASON="no /dev/kvm"
		if [[ -d /sys/module/kvm_pvm ]]; then
			KVM_REASON+="; kvm_pvm is loaded but did not bind: this host is itself a PVM guest"
		elif grep -qsw -e vmx -e svm /proc/cpuinfo; then
			KVM_REASON+="; the CPU has vmx/svm: try 'sudo modprobe kvm-intel' or 'sudo modprobe kvm-amd'"
		fi
	elif [[ ! -c /dev/kvm ]]; then
		KVM_REASON="/dev/kvm is not a character device"
	elif ! (exec 3<>/dev/kvm) 2>/dev/null; then
		KVM_REASON="$(id -un) cannot open /dev/kvm read-write; add the user to group kvm"
	elif [[ -d /sys/module/kvm_pvm ]]; then
		KVM_KIND=PVM
	else
		KVM_KIND="hardware KVM"
	fi
}
