# SPDX-License-Identifier: MIT
# Unit tests of devices/: each links one device (console also the UART, for an end-to-end flood
# test) with the real bus and tests/unit/fakes.c for the event loop and the VM's callbacks, so
# they need neither KVM nor the rest of the core.
# Included from tests/unit/CMakeLists.txt, which provides kvmini_unit_test().
set(KVMINI_DEV_FAKES ${CMAKE_SOURCE_DIR}/tests/unit/fakes.c ${CMAKE_SOURCE_DIR}/vmm/core/bus.c)

kvmini_unit_test(test_serial
    ${CMAKE_SOURCE_DIR}/tests/unit/test_serial.c
    ${CMAKE_SOURCE_DIR}/devices/serial.c
    ${KVMINI_DEV_FAKES}
    LIBS Threads::Threads)

kvmini_unit_test(test_console
    ${CMAKE_SOURCE_DIR}/tests/unit/test_console.c
    ${CMAKE_SOURCE_DIR}/devices/console.c
    ${CMAKE_SOURCE_DIR}/devices/outbuf.c
    ${CMAKE_SOURCE_DIR}/vmm/core/nonblock.c
    ${CMAKE_SOURCE_DIR}/vmm/core/fatal.c
    ${CMAKE_SOURCE_DIR}/devices/serial.c
    ${KVMINI_DEV_FAKES}
    LIBS Threads::Threads)

kvmini_unit_test(test_debugdev
    ${CMAKE_SOURCE_DIR}/tests/unit/test_debugdev.c
    ${CMAKE_SOURCE_DIR}/devices/debugdev.c
    ${KVMINI_DEV_FAKES}
    LIBS Threads::Threads)

kvmini_unit_test(test_i8042
    ${CMAKE_SOURCE_DIR}/tests/unit/test_i8042.c
    ${CMAKE_SOURCE_DIR}/devices/i8042.c
    ${KVMINI_DEV_FAKES}
    LIBS Threads::Threads)

kvmini_unit_test(test_ioapic
    ${CMAKE_SOURCE_DIR}/tests/unit/test_ioapic.c
    ${CMAKE_SOURCE_DIR}/devices/ioapic.c
    ${KVMINI_DEV_FAKES}
    LIBS Threads::Threads)

kvmini_unit_test(test_rtc
    ${CMAKE_SOURCE_DIR}/tests/unit/test_rtc.c
    ${CMAKE_SOURCE_DIR}/devices/rtc.c
    ${KVMINI_DEV_FAKES}
    LIBS Threads::Threads)
