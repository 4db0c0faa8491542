/* SPDX-License-Identifier: MIT */
/*
 * User-mode networking ("--net user"): a NAT'd network inside kvmini, through libslirp, the
 * library behind QEMU's -netdev user and slirp4netns. Nothing to set up and no privilege: the
 * guest gets 10.0.2.15/24 by DHCP, the gateway 10.0.2.2 (which is also the host's loopback),
 * a DNS forwarder at 10.0.2.3, and reaches whatever the host can over TCP and UDP with ordinary
 * sockets of kvmini's own. Host ports can be forwarded to ports of the guest.
 *
 * libslirp runs entirely on the event loop thread: its sockets are watched from an epoll set of
 * the backend's own, itself watched by the loop, and its timers run from one timerfd.
 */
#ifndef KVMINI_DEVICES_NET_SLIRP_H
#define KVMINI_DEVICES_NET_SLIRP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/net/backend.h"

#define NET_USER_MAX_FWD 8

/* hostfwd=tcp:HOSTADDR:HOSTPORT-GUESTADDR:GUESTPORT, as QEMU spells it. */
struct net_user_fwd {
    bool udp;
    struct in_addr host_addr;  /* INADDR_ANY when not given (QEMU's default) */
    uint16_t host_port;        /* host byte order */
    struct in_addr guest_addr; /* 10.0.2.15 when not given */
    uint16_t guest_port;
};

struct net_user_options {
    struct net_user_fwd fwd[NET_USER_MAX_FWD];
    unsigned int nr_fwd;
};

/*
 * Creates the backend: the network, and a listening socket per forward (so a port in use is
 * reported now, by name). 0, or -errno with one line in err naming the problem and the fix.
 */
int net_user_create(struct net_backend **out, const struct net_user_options *o, char *err,
                    size_t len);

/* For tests: the frames waiting for recv (at most 256; more are dropped). Loop thread only. */
size_t net_user_queued(struct net_backend *be);

#endif
