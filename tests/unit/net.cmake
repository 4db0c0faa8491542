# SPDX-License-Identifier: MIT
# Unit tests of virtio-net (devices/virtio/net.c) and virtio-console (devices/virtio/console.c).
kvmini_unit_test(test_net
    ${CMAKE_SOURCE_DIR}/tests/unit/test_net.c
    ${CMAKE_SOURCE_DIR}/tests/unit/fake_ring.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/net.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/iov.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/virtio.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/virtqueue.c
    ${CMAKE_SOURCE_DIR}/vmm/mem/gmem.c
    ${CMAKE_SOURCE_DIR}/vmm/core/evloop.c
    ${CMAKE_SOURCE_DIR}/vmm/core/threads.c
    ${CMAKE_SOURCE_DIR}/vmm/core/fatal.c
    ${CMAKE_SOURCE_DIR}/vmm/core/log.c
    LIBS Threads::Threads)
set_tests_properties(test_net PROPERTIES TIMEOUT 60)

# virtio-console (--console virtio), with the same fake driver.
kvmini_unit_test(test_vconsole
    ${CMAKE_SOURCE_DIR}/tests/unit/test_vconsole.c
    ${CMAKE_SOURCE_DIR}/tests/unit/fake_ring.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/console.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/iov.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/virtio.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/virtqueue.c
    ${CMAKE_SOURCE_DIR}/vmm/mem/gmem.c
    ${CMAKE_SOURCE_DIR}/vmm/core/log.c
    LIBS Threads::Threads)
