# SPDX-License-Identifier: MIT
# bash completion for kvmini (installed as share/bash-completion/completions/kvmini).
_kvmini() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local opts="--kernel --initrd --append --mem --cpus --disk --net --console --stats --seccomp --help"

	if ((COMP_CWORD == 1)); then
		mapfile -t COMPREPLY < <(compgen -W "run --help --version" -- "$cur")
		return
	fi
	case $prev in
	--kernel | --initrd | --disk)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	--net)
		mapfile -t COMPREPLY < <(compgen -W "user user,hostfwd=tcp::8080-:80 tap=" -- "$cur")
		return
		;;
	--console)
		mapfile -t COMPREPLY < <(compgen -W "serial virtio" -- "$cur")
		return
		;;
	--seccomp)
		mapfile -t COMPREPLY < <(compgen -W "on off" -- "$cur")
		return
		;;
	--append | --mem | --cpus)
		return
		;;
	esac
	mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
}
complete -o filenames -F _kvmini kvmini
