# SPDX-License-Identifier: MIT
# Unit tests of devices/virtio/: the split virtqueue against hostile rings, the
# transport-independent core, and virtio-blk end to end (fake ring -> real temp-file disk, both
# disk engines, a real event loop thread for completions). Guest memory is a malloc'd buffer
# (gmem_init_fixed), so no KVM.
# Included from tests/unit/CMakeLists.txt, which provides kvmini_unit_test().
kvmini_unit_test(test_virtqueue
    ${CMAKE_SOURCE_DIR}/tests/unit/test_virtqueue.c
    ${CMAKE_SOURCE_DIR}/tests/unit/fake_ring.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/virtqueue.c
    ${CMAKE_SOURCE_DIR}/vmm/mem/gmem.c)

kvmini_unit_test(test_virtio
    ${CMAKE_SOURCE_DIR}/tests/unit/test_virtio.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/virtio.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/virtqueue.c
    ${CMAKE_SOURCE_DIR}/vmm/mem/gmem.c
    ${CMAKE_SOURCE_DIR}/vmm/core/log.c
    LIBS Threads::Threads)

kvmini_unit_test(test_blk_req
    ${CMAKE_SOURCE_DIR}/tests/unit/test_blk_req.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/blk_req.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/iov.c)

# virtio-blk end to end, in two executables that share the harness (fake driver, evloop thread,
# temp images, engine probe and main()): the data path, and what the device refuses or survives.
foreach(t test_blk_io test_blk_errors)
    kvmini_unit_test(${t}
        ${CMAKE_SOURCE_DIR}/tests/unit/${t}.c
        ${CMAKE_SOURCE_DIR}/tests/unit/blk_harness.c
        ${CMAKE_SOURCE_DIR}/tests/unit/fake_ring.c
        ${CMAKE_SOURCE_DIR}/devices/virtio/blk.c
        ${CMAKE_SOURCE_DIR}/devices/virtio/blk_req.c
        ${CMAKE_SOURCE_DIR}/devices/virtio/iov.c
        ${CMAKE_SOURCE_DIR}/devices/virtio/virtio.c
        ${CMAKE_SOURCE_DIR}/devices/virtio/virtqueue.c
        ${CMAKE_SOURCE_DIR}/devices/disk/disk.c
        ${CMAKE_SOURCE_DIR}/devices/disk/disk_aio.c
        ${CMAKE_SOURCE_DIR}/devices/disk/disk_uring.c
        ${CMAKE_SOURCE_DIR}/devices/disk/disk_threads.c
        ${CMAKE_SOURCE_DIR}/vmm/core/threads.c
        ${CMAKE_SOURCE_DIR}/vmm/core/fatal.c
        ${CMAKE_SOURCE_DIR}/vmm/mem/gmem.c
        ${CMAKE_SOURCE_DIR}/vmm/core/evloop.c
        ${CMAKE_SOURCE_DIR}/vmm/core/log.c
        LIBS Threads::Threads PkgConfig::LIBURING)
    # Temp disk images go in the test's working directory (the build tree): /tmp may be tmpfs,
    # which refuses O_DIRECT.
    set_tests_properties(${t} PROPERTIES TIMEOUT 120)
endforeach()
