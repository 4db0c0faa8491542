# SPDX-License-Identifier: MIT
# Unit tests of the PCI host bridge, the virtio-pci transport and the KVM routing module: KVM is
# replaced by a recording ioctl function, guest memory by a malloc'd buffer, so no /dev/kvm.
# Included from tests/unit/CMakeLists.txt, which provides kvmini_unit_test().
kvmini_unit_test(test_irqroute
    ${CMAKE_SOURCE_DIR}/tests/unit/test_irqroute.c
    ${CMAKE_SOURCE_DIR}/vmm/core/irqroute.c
    LIBS Threads::Threads)

kvmini_unit_test(test_pci
    ${CMAKE_SOURCE_DIR}/tests/unit/test_pci.c
    ${CMAKE_SOURCE_DIR}/devices/pci/pci.c
    ${CMAKE_SOURCE_DIR}/devices/pci/pci_cfg.c
    ${CMAKE_SOURCE_DIR}/vmm/core/irqroute.c
    ${CMAKE_SOURCE_DIR}/vmm/core/bus.c
    LIBS Threads::Threads)

kvmini_unit_test(test_virtio_pci
    ${CMAKE_SOURCE_DIR}/tests/unit/test_virtio_pci.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/virtio_pci.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/virtio.c
    ${CMAKE_SOURCE_DIR}/devices/virtio/virtqueue.c
    ${CMAKE_SOURCE_DIR}/devices/pci/pci.c
    ${CMAKE_SOURCE_DIR}/devices/pci/pci_cfg.c
    ${CMAKE_SOURCE_DIR}/vmm/core/irqroute.c
    ${CMAKE_SOURCE_DIR}/vmm/mem/gmem.c
    ${CMAKE_SOURCE_DIR}/vmm/core/log.c
    ${KVMINI_DEV_FAKES}
    LIBS Threads::Threads)
