/* SPDX-License-Identifier: MIT */
/*
 * What one --net option asks for, parsed (vmm/machine.c opens the backend it names):
 *   --net user[,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...[,mac=MAC]
 *   --net tap=NAME[,mac=MAC]
 */
#ifndef KVMINI_DEVICES_NET_NETDEV_H
#define KVMINI_DEVICES_NET_NETDEV_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/net/backend.h"
#include "devices/net/slirp.h"

#define KVMINI_MAX_NICS 4

enum net_kind {
    NET_USER, /* libslirp: no set-up, no privilege */
    NET_TAP,  /* an existing TAP device */
};

struct net_options {
    enum net_kind kind;
    char tap[IFNAMSIZ];
    bool has_mac;
    uint8_t mac[6];
    struct net_user_options user;
};

/* Parses one --net value into *o. 0, or -EINVAL with one line in err naming the problem. */
int net_options_parse(const char *spec, struct net_options *o, char *err, size_t len);

/*
 * The NIC's MAC: o's own, or a stable, locally administered one: from the TAP's name, or for
 * user networking from the NIC's index (so two NICs differ and a guest keeps its lease).
 */
void net_mac(const struct net_options *o, unsigned int index, uint8_t mac[6]);

#endif
