# SPDX-License-Identifier: MIT
# Unit tests of the firmware tables (ACPI, MP) and of the power-management devices behind them.
# Table tests link the table writer with the real gmem over a buffer the test owns; device tests
# link the device with the real bus and tests/unit/fakes.c, as devices.cmake does.
# Included from tests/unit/CMakeLists.txt, which provides kvmini_unit_test().

kvmini_unit_test(test_acpi
    ${CMAKE_SOURCE_DIR}/tests/unit/test_acpi.c
    ${CMAKE_SOURCE_DIR}/firmware/acpi.c
    ${CMAKE_SOURCE_DIR}/firmware/dsdt.c
    ${CMAKE_SOURCE_DIR}/vmm/mem/gmem.c)

# The same binary, run as `test_acpi acpica`, checks the tables with ACPICA's own tools
# (acpica-tools: iasl disassembles and recompiles them, acpiexec loads them as Linux would).
# Without the tools it fails: make check installs them, so their absence is a broken setup.
find_program(KVMINI_IASL iasl)
find_program(KVMINI_ACPIEXEC acpiexec)
if(KVMINI_IASL AND KVMINI_ACPIEXEC)
    target_compile_definitions(test_acpi PRIVATE KVMINI_IASL="${KVMINI_IASL}"
        KVMINI_ACPIEXEC="${KVMINI_ACPIEXEC}")
else()
    message(WARNING "iasl/acpiexec not found (install acpica-tools): test_acpi_acpica will fail")
endif()
add_test(NAME test_acpi_acpica COMMAND test_acpi acpica)
set_tests_properties(test_acpi_acpica PROPERTIES LABELS unit ENVIRONMENT "CK_FORK=no" TIMEOUT 300)

kvmini_unit_test(test_mptable
    ${CMAKE_SOURCE_DIR}/tests/unit/test_mptable.c
    ${CMAKE_SOURCE_DIR}/firmware/mptable.c
    ${CMAKE_SOURCE_DIR}/vmm/mem/gmem.c)

set(KVMINI_FW_DEV_FAKES ${CMAKE_SOURCE_DIR}/tests/unit/fakes.c ${CMAKE_SOURCE_DIR}/vmm/core/bus.c)

kvmini_unit_test(test_acpi_pm
    ${CMAKE_SOURCE_DIR}/tests/unit/test_acpi_pm.c
    ${CMAKE_SOURCE_DIR}/devices/acpi_pm.c
    ${KVMINI_FW_DEV_FAKES}
    LIBS Threads::Threads)

kvmini_unit_test(test_pvpanic
    ${CMAKE_SOURCE_DIR}/tests/unit/test_pvpanic.c
    ${CMAKE_SOURCE_DIR}/devices/pvpanic.c
    ${CMAKE_SOURCE_DIR}/vmm/core/log.c
    ${KVMINI_FW_DEV_FAKES}
    LIBS Threads::Threads)
