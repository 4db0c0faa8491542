# SPDX-License-Identifier: MIT
# A thin wrapper around CMake. `make check` is what CI runs (.ci/run).
BUILD     ?= build
SAN_BUILD ?= build-san
JOBS      ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all build deps check unit kvm-tests demo bench format format-check clean

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
kvm-tests: build
	@tests/run-kvm-tests $(BUILD)

check: deps format-check build unit kvm-tests
	@echo "make check: all tests passed"

demo: deps build
	@tests/demo $(BUILD)

bench: deps build
	@tests/bench/run $(BUILD)

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:
	@git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
