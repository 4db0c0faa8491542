// SPDX-License-Identifier: MIT
/*
 * The DHCP client of the virtio-net tiny guest (RFC 2131): DISCOVER, OFFER, REQUEST, ACK, each
 * sent again every 2 s up to 4 times. The lease is used and never renewed: the guest lives seconds.
 */
#include "guests/tiny/net.h"

#define DHCP_MAGIC    0x63825363
#define BOOTP_FIXED   236 /* op .. file, before the magic cookie */
#define BOOTP_OPTIONS (BOOTP_FIXED + 4)
#define BOOTP_LEN     548 /* the smallest message every server must accept (RFC 2131 2.) */
#define DHCP_TRIES    4
#define DHCP_WAIT_MS  2000

/* Field offsets in the BOOTP message. */
#define B_OP     0
#define B_HTYPE  1
#define B_HLEN   2
#define B_XID    4
#define B_FLAGS  10
#define B_YIADDR 16
#define B_CHADDR 28

enum {
    OPT_PAD = 0,
    OPT_MASK = 1,
    OPT_ROUTER = 3,
    OPT_DNS = 6,
    OPT_REQ_IP = 50,
    OPT_LEASE = 51,
    OPT_MSG_TYPE = 53,
    OPT_SERVER_ID = 54,
    OPT_PARAMS = 55,
    OPT_END = 255,
};

enum { DHCPDISCOVER = 1, DHCPOFFER = 2, DHCPREQUEST = 3, DHCPACK = 5, DHCPNAK = 6 };

static uint8_t *opt_u32(uint8_t *o, uint8_t code, uint32_t v)
{
    o[0] = code;
    o[1] = 4;
    put32(o + 2, v);
    return o + 6;
}

/* Broadcast from 0.0.0.0: until the ACK we have no address to send from or to be sent to. */
static void dhcp_send(struct net *n, uint8_t type)
{
    struct dhcp *d = &n->dhcp;
    uint8_t *u = ip_begin(n, eth_broadcast, IP_BROADCAST, IP_PROTO_UDP);
    uint8_t *b = u + UDP_HLEN, *o = b + BOOTP_OPTIONS;

    memset(b, 0, BOOTP_LEN);
    b[B_OP] = 1; /* BOOTREQUEST */
    b[B_HTYPE] = 1;
    b[B_HLEN] = ETH_ALEN;
    put32(b + B_XID, d->xid);
    put16(b + B_FLAGS, 0x8000); /* please broadcast: we cannot take unicast before the lease */
    memcpy(b + B_CHADDR, n->mac, ETH_ALEN);
    put32(b + BOOTP_FIXED, DHCP_MAGIC);
    *o++ = OPT_MSG_TYPE;
    *o++ = 1;
    *o++ = type;
    if (type == DHCPREQUEST) {
        o = opt_u32(o, OPT_REQ_IP, d->offered);
        o = opt_u32(o, OPT_SERVER_ID, d->server_id);
    }
    *o++ = OPT_PARAMS;
    *o++ = 3;
    *o++ = OPT_MASK;
    *o++ = OPT_ROUTER;
    *o++ = OPT_DNS;
    *o = OPT_END;
    put16(u, DHCP_CLIENT_PORT);
    put16(u + 2, DHCP_SERVER_PORT);
    put16(u + 4, UDP_HLEN + BOOTP_LEN);
    ip_send(n, UDP_HLEN + BOOTP_LEN);
}

void dhcp_input(struct net *n, const uint8_t *b, uint32_t len)
{
    struct dhcp *d = &n->dhcp;
    uint32_t server_id = 0, mask = 0, router = 0, dns = 0, lease = 0;
    int type = 0;

    if ((d->state != DHCP_SELECTING && d->state != DHCP_REQUESTING) || len < BOOTP_OPTIONS ||
        b[B_OP] != 2 || get32(b + B_XID) != d->xid || memcmp(b + B_CHADDR, n->mac, ETH_ALEN) ||
        get32(b + BOOTP_FIXED) != DHCP_MAGIC)
        return;
    for (uint32_t i = BOOTP_OPTIONS; i < len && b[i] != OPT_END;) {
        uint8_t code = b[i], olen;

        if (code == OPT_PAD) {
            i++;
            continue;
        }
        if (i + 2 > len || i + 2 + b[i + 1] > len)
            break; /* truncated: use what came before */
        olen = b[i + 1];
        const uint8_t *v = b + i + 2;
        if (code == OPT_MSG_TYPE && olen == 1)
            type = v[0];
        else if (code == OPT_SERVER_ID && olen == 4)
            server_id = get32(v);
        else if (code == OPT_MASK && olen == 4)
            mask = get32(v);
        else if (code == OPT_ROUTER && olen >= 4)
            router = get32(v); /* the first of the list */
        else if (code == OPT_DNS && olen >= 4)
            dns = get32(v);
        else if (code == OPT_LEASE && olen == 4)
            lease = get32(v);
        i += 2u + olen;
    }
    if (d->state == DHCP_SELECTING && type == DHCPOFFER && get32(b + B_YIADDR)) {
        d->offered = get32(b + B_YIADDR);
        d->server_id = server_id;
        printf("net: DHCPOFFER of " IP_FMT " from " IP_FMT "\n", IP_ARGS(d->offered),
               IP_ARGS(server_id));
        d->state = DHCP_REQUESTING;
        return;
    }
    if (d->state != DHCP_REQUESTING || (server_id && server_id != d->server_id))
        return;
    if (type == DHCPNAK) {
        d->state = DHCP_NAKED;
    } else if (type == DHCPACK && get32(b + B_YIADDR) == d->offered) {
        d->mask = mask;
        d->router = router;
        d->dns = dns;
        d->lease_s = lease;
        d->state = DHCP_BOUND;
    }
}

/* Sends type until the state leaves `from` (each try waits DHCP_WAIT_MS). True if it did. */
static bool dhcp_exchange(struct net *n, uint8_t type, enum dhcp_state from)
{
    for (int t = 0; t < DHCP_TRIES && n->dhcp.state == from; t++) {
        uint64_t deadline = net_deadline(DHCP_WAIT_MS);

        dhcp_send(n, type);
        while (n->dhcp.state == from && !net_expired(deadline))
            if (!net_poll(n))
                cpu_relax();
    }
    return n->dhcp.state != from;
}

int dhcp_run(struct net *n)
{
    struct dhcp *d = &n->dhcp;
    const unsigned int waited = DHCP_TRIES * DHCP_WAIT_MS / 1000;

    /* Any xid will do with one client on the link; the MAC keeps two guests apart anyway. */
    d->xid = (uint32_t)rdtsc() ^ get32(n->mac + 2);
    d->state = DHCP_SELECTING;
    n->ip = 0;
    n->any_dst = true;
    if (!dhcp_exchange(n, DHCPDISCOVER, DHCP_SELECTING)) {
        printf("net: FAIL: no DHCPOFFER in %u s (%u DHCPDISCOVERs)\n", waited, DHCP_TRIES);
        return NET_EXIT_DHCP_OFFER;
    }
    if (!dhcp_exchange(n, DHCPREQUEST, DHCP_REQUESTING)) {
        printf("net: FAIL: no DHCPACK in %u s (%u DHCPREQUESTs)\n", waited, DHCP_TRIES);
        return NET_EXIT_DHCP_ACK;
    }
    if (d->state == DHCP_NAKED) {
        printf("net: FAIL: DHCPNAK for " IP_FMT "\n", IP_ARGS(d->offered));
        return NET_EXIT_DHCP_ACK;
    }
    n->any_dst = false;
    n->ip = d->offered;
    n->mask = d->mask ? d->mask : 0xffffff00;
    n->router = d->router;
    printf("net: lease " IP_FMT " mask " IP_FMT " router " IP_FMT " dns " IP_FMT " for %u s\n",
           IP_ARGS(n->ip), IP_ARGS(n->mask), IP_ARGS(d->router), IP_ARGS(d->dns), d->lease_s);
    return 0;
}
