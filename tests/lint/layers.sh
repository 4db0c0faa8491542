#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# layers.sh [SRC_DIR]: the code's layers include only downwards (docs/architecture.md). Each
# #include "..." of a project header in a C or assembly file is checked against its layer:
#
#   layer          folder                        may include
#   layout         firmware/layout.h             nothing of the project
#   guest memory   vmm/mem/                      layout
#   firmware       firmware/                     layout, guest memory
#   core           vmm/core/                     layout, guest memory
#   devices        devices/                      layout, guest memory, core
#   program        vmm/*.c, vmm/*.h              anything
#   tiny guests    guests/tiny/                  layout
#
# (Each may include its own folder too.) Prints one line per include that breaks a rule and exits
# 1, or prints "layers: ok". With no SRC_DIR, checks this tree, then checks that planted
# violations are caught (its own test).
set -euo pipefail

# allowed LAYER: the folder prefixes a file of LAYER may include from.
allowed() {
	case $1 in
	layout) echo "" ;;
	mem) echo "vmm/mem/ firmware/layout.h" ;;
	firmware) echo "firmware/ vmm/mem/" ;;
	core) echo "vmm/core/ vmm/mem/ firmware/layout.h" ;;
	devices) echo "devices/ vmm/core/ vmm/mem/ firmware/layout.h" ;;
	tiny) echo "guests/tiny/ firmware/layout.h" ;;
	esac
}

layer_of() {
	case $1 in
	firmware/layout.h) echo layout ;;
	vmm/mem/*) echo mem ;;
	vmm/core/*) echo core ;;
	vmm/*/*) echo unknown ;;
	vmm/*) echo program ;;
	firmware/*) echo firmware ;;
	devices/*) echo devices ;;
	guests/tiny/*) echo tiny ;;
	*) echo other ;;
	esac
}

check_tree() {
	local root=$1 bad=0 file layer inc prefix ok
	while IFS= read -r file; do
		layer=$(layer_of "$file")
		case $layer in
		program | other) continue ;;
		unknown)
			echo "layers: $file is in a folder of vmm/ that has no layer (add it to tests/lint/layers.sh)"
			bad=1
			continue
			;;
		esac
		while IFS= read -r inc; do
			ok=0
			for prefix in $(allowed "$layer"); do
				[[ $inc == "$prefix"* ]] && ok=1
			done
			if ((!ok)); then
				echo "layers: $file includes $inc, but the $layer layer may include only: $(allowed "$layer" | sed 's/^$/nothing of the project/')"
				bad=1
			fi
		done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1/p' "$root/$file")
	done < <(cd "$root" && find vmm firmware devices guests/tiny -type f \( -name '*.[chS]' \) | sort)
	return $bad
}

if (($# == 1)); then
	check_tree "$1" && echo "layers: ok"
	exit
fi

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
check_tree "$src"
echo "layers: ok ($src)"

# The check itself: each planted include must be caught.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plant() { # plant FILE INCLUDE: a tree with one file that includes INCLUDE; must fail
	rm -rf "${tmp:?}"/*
	mkdir -p "$tmp/vmm/core" "$tmp/vmm/mem" "$tmp/firmware" "$tmp/devices" "$tmp/guests/tiny"
	mkdir -p "$tmp/$(dirname "$1")"
	printf '#include <stdint.h>\n#include "%s"\n' "$2" >"$tmp/$1"
	if check_tree "$tmp" >/dev/null; then
		echo "layers: FAIL: $1 including $2 was not caught"
		exit 1
	fi
}
plant vmm/core/vm.c devices/serial.h
plant vmm/core/vm.h vmm/machine.h
plant vmm/mem/gmem.h vmm/core/log.h
plant firmware/acpi.c vmm/core/vm.h
plant devices/serial.c vmm/cli.h
plant devices/pci/pci.h firmware/acpi.h
plant firmware/layout.h vmm/mem/gmem.h
plant guests/tiny/lib.c vmm/core/bus.h
plant vmm/extra/x.c vmm/core/bus.h
# ... and what is allowed must pass.
rm -rf "${tmp:?}"/*
mkdir -p "$tmp/vmm/core" "$tmp/vmm/mem" "$tmp/firmware" "$tmp/devices/virtio" "$tmp/guests/tiny"
printf '#include "vmm/core/bus.h"\n#include "vmm/mem/gmem.h"\n#include "firmware/layout.h"\n' \
	>"$tmp/devices/virtio/blk.c"
printf '#include "devices/serial.h"\n#include "firmware/acpi.h"\n' >"$tmp/vmm/machine.c"
check_tree "$tmp" >/dev/null || {
	echo "layers: FAIL: allowed includes were refused"
	exit 1
}
echo "layers: planted violations caught, allowed includes passed"
echo "PASS"
