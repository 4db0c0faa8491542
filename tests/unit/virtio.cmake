# SPDX-License-Identifier: MIT
# Unit tests of devices/virtio/: the split virtqueue against hostile rings, and the
# transport-independent core. Guest memory is a malloc'd buffer (gmem_init_fixed), so no KVM.
# Included from tests/unit/CMakeLists.txt, which provides kvmini_unit_test().
kvmini_unit_test(test_virtqueue
    ${CMAKE_SOURCE_DIR}/tests/unit/test_virtqueue.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/virtqueue.c
    ${CMAKE_SOURCE_DIR}/vmm/gmem.c)

kvmini_unit_test(test_virtio
    ${CMAKE_SOURCE_DIR}/tests/unit/test_virtio.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/virtio.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/virtqueue.c
    ${CMAKE_SOURCE_DIR}/vmm/gmem.c
    ${CMAKE_SOURCE_DIR}/vmm/log.c
    LIBS Threads::Threads)
