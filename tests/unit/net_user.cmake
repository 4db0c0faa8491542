# SPDX-License-Identifier: MIT
# Unit tests of the user-mode network backend (devices/net/slirp.c): real libslirp, a real event
# loop thread, a fake guest that sends hand-built frames (DHCP, ARP, TCP) and sockets on the host's
# loopback. No KVM.
# Included from tests/unit/CMakeLists.txt, which provides kvmini_unit_test().
kvmini_unit_test(test_net_user
    ${CMAKE_SOURCE_DIR}/tests/unit/test_net_user.c
    ${CMAKE_SOURCE_DIR}/devices/net/slirp.c
    ${CMAKE_SOURCE_DIR}/devices/net/slirp_lib.c
    ${CMAKE_SOURCE_DIR}/devices/net/epoll_set.c
    ${CMAKE_SOURCE_DIR}/vmm/core/evloop.c
    ${CMAKE_SOURCE_DIR}/vmm/core/threads.c
    ${CMAKE_SOURCE_DIR}/vmm/core/fatal.c
    ${CMAKE_SOURCE_DIR}/vmm/core/log.c
    LIBS Threads::Threads ${CMAKE_DL_LIBS})
# libslirp's header; the library itself is loaded at run time, as in kvmini (slirp_lib.c).
pkg_check_modules(LIBSLIRP REQUIRED slirp)
target_include_directories(test_net_user SYSTEM PRIVATE ${LIBSLIRP_INCLUDE_DIRS})
set_tests_properties(test_net_user PROPERTIES TIMEOUT 60)

# The epoll set that follows libslirp's poll list (devices/net/epoll_set.c).
kvmini_unit_test(test_epoll_set
    ${CMAKE_SOURCE_DIR}/tests/unit/test_epoll_set.c
    ${CMAKE_SOURCE_DIR}/devices/net/epoll_set.c)
