# SPDX-License-Identifier: MIT
# A thin wrapper around CMake. `make check` is what CI runs (.ci/run).
BUILD     ?= build
SAN_BUILD ?= build-san
TSAN_BUILD ?= build-tsan
JOBS      ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all build deps san-build tsan-build check unit fuzz kvm-tests tsan-tests demo bench format \
	format-check clean install uninstall deb package-check guest-kernel guest-initrd guest-initrd-debian guest-linux

all: build

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) -- --no-print-directory

# Every Debian package the build, tests, demo and benchmarks need; installs only what is missing.
deps:
	@tests/install-deps

san-build:
	@cmake -S . -B $(SAN_BUILD) -DKVMINI_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS) >/dev/null
	@cmake --build $(SAN_BUILD) -j$(JOBS) -- --no-print-directory

# Unit tests (no KVM) under ASan+UBSan.
unit: san-build
	@cd $(SAN_BUILD) && ctest -L unit --output-on-failure

# Tests that run guests: on this host's /dev/kvm, or inside the nested rig when it has none.
kvm-tests: build guest-kernel guest-initrd guest-initrd-debian package-check
	@tests/run-kvm-tests $(BUILD)

tsan-build:
	@cmake -S . -B $(TSAN_BUILD) -DKVMINI_TSAN=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS) >/dev/null
	@cmake --build $(TSAN_BUILD) -j$(JOBS) -- --no-print-directory

# The same guest tests with kvmini under ThreadSanitizer: vCPU threads, the event loop, signals.
tsan-tests: tsan-build
	@TSAN_OPTIONS="halt_on_error=1 $${TSAN_OPTIONS:-}" KVMINI_TEST_LABELS=kvm \
		tests/run-kvm-tests $(TSAN_BUILD)

# libFuzzer targets over what parses guest-controlled bytes (virtqueues), for a bounded time.
FUZZ_SECONDS ?= 30
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run-fuzzers

check: deps format-check build unit fuzz kvm-tests tsan-tests
	@echo "make check: all tests passed"

demo: deps build guest-kernel guest-initrd
	@tests/demo $(BUILD)

bench: deps build guest-kernel guest-initrd
	@tests/bench/run $(BUILD)

# Installs kvmini, its manual page, bash completion, docs and the default guest (when built) under
# PREFIX; DESTDIR stages it for packagers. uninstall removes what the last install wrote.
PREFIX ?= /usr/local
install: build
	@cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --install $(BUILD)

uninstall:
	@test -f $(BUILD)/install_manifest.txt || { echo "uninstall: nothing installed from $(BUILD)"; exit 1; }
	@sed 's|^|$(DESTDIR)|' $(BUILD)/install_manifest.txt | xargs -r -d '\n' rm -fv

# A Debian package (CPack) in $(BUILD): apt install ./$(BUILD)/kvmini_*.deb
deb: build guest-kernel guest-initrd
	@cd $(BUILD) && cpack -G DEB

# The package checked, and unpacked into $(BUILD)/package-root, which a guest test runs kvmini from
# (tests/kvm/package.sh, part of kvm-tests). Built here on the host: cpack is minutes under the rig.
package-check: build guest-kernel guest-initrd
	@tests/pkg/deb.sh $(BUILD)

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:
	@git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror

# The Linux guest (guests/linux, docs/guest-linux.md): kernel from Debian's linux-source-6.1 (or
# LINUX_SRC=DIR), cached in ~/.cache/kvmini-linux; busybox initramfs; both into $(BUILD)/guest.
guest-kernel:
	@JOBS=$(JOBS) guests/linux/build-kernel $(BUILD)/guest

guest-initrd:
	@guests/linux/build-initrd $(BUILD)/guest/initrd.cpio.gz

# The same initramfs plus the virtio and pvpanic modules of Debian's kernel (DEBIAN_KVER, default: the
# newest in /lib/modules), to boot /boot/vmlinuz-DEBIAN_KVER.
DEBIAN_KVER ?=
guest-initrd-debian:
	@guests/linux/build-initrd --modules-from /lib/modules/$(or $(DEBIAN_KVER),$(shell ls /lib/modules | sort -V | tail -n1)) \
		$(BUILD)/guest/initrd-debian.cpio.gz

guest-linux: guest-kernel guest-initrd

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(TSAN_BUILD)
