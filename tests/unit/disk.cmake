# SPDX-License-Identifier: MIT
# Unit tests of devices/disk/: disk_open() and both engines (io_uring and threads) on real temporary
# files in $TMPDIR, O_DIRECT ones in the build directory when $TMPDIR refuses O_DIRECT. No KVM.
# Included from tests/unit/CMakeLists.txt, which provides kvmini_unit_test().
# disk_open() (test_disk_open) and the engine (test_disk_aio) share disk_harness.c's temp files.
foreach(t test_disk_open test_disk_aio)
    kvmini_unit_test(${t}
        ${CMAKE_SOURCE_DIR}/tests/unit/${t}.c
        ${CMAKE_SOURCE_DIR}/tests/unit/disk_harness.c
        ${CMAKE_SOURCE_DIR}/devices/disk/disk.c
        ${CMAKE_SOURCE_DIR}/devices/disk/disk_aio.c
        ${CMAKE_SOURCE_DIR}/devices/disk/disk_uring.c
        ${CMAKE_SOURCE_DIR}/devices/disk/disk_threads.c
        ${CMAKE_SOURCE_DIR}/vmm/core/threads.c
        ${CMAKE_SOURCE_DIR}/vmm/core/fatal.c
        ${CMAKE_SOURCE_DIR}/vmm/core/log.c
        LIBS PkgConfig::LIBURING Threads::Threads)
endforeach()
target_compile_definitions(test_disk_aio PRIVATE DISK_TEST_BUILD_DIR="${CMAKE_CURRENT_BINARY_DIR}")
