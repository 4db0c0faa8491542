// SPDX-License-Identifier: MIT
/*
 * Ethernet, ARP, IPv4 and ICMP for the virtio-net tiny guest: what arrives is checked (lengths,
 * every checksum) before anything acts on it, and what leaves is built whole here, checksums
 * included, since the driver negotiates no offloads.
 */
#include "guests/tiny/net.h"

#define PRINT_ARP    4 /* ARP answers worth a line each; the rest are only counted */
#define PRINT_DROPS  4
#define ARP_LEN      28
#define ICMP_ECHO    8
#define ICMP_REPLY   0
#define ICMP_UNREACH 3

const uint8_t eth_broadcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* The IPv4 packet being built, from ip_begin to ip_send. */
static uint8_t *tx_ip;
static uint32_t tx_ip_dst;
static uint8_t tx_ip_proto;

/* --- Checksums and addresses ------------------------------------------------------------------ */

uint32_t csum_add(uint32_t sum, const void *data, uint32_t len)
{
    const uint8_t *p = data;

    for (; len > 1; len -= 2, p += 2)
        sum += get16(p);
    if (len)
        sum += (uint32_t)p[0] << 8;
    return sum;
}

uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len)
{
    return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}

int parse_ipv4(const char *s, uint32_t *out)
{
    uint32_t v = 0;

    for (int part = 0; part < 4; part++) {
        uint32_t octet = 0;
        int digits = 0;

        for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
            octet = octet * 10 + (uint32_t)(*s - '0');
        if (!digits || octet > 255 || *s != (part < 3 ? '.' : '\0'))
            return -1;
        if (part < 3)
            s++;
        v = v << 8 | octet;
    }
    *out = v;
    return 0;
}

uint8_t *ip_begin(struct net *n, const uint8_t dmac[ETH_ALEN], uint32_t dst, uint8_t proto)
{
    tx_ip = eth_begin(n, dmac, ETH_P_IPV4);
    tx_ip_dst = dst;
    tx_ip_proto = proto;
    return tx_ip + IP_HLEN;
}

void ip_send(struct net *n, uint32_t l4_len)
{
    uint8_t *p = tx_ip, *l4 = p + IP_HLEN;
    uint32_t pseudo = csum_pseudo(n->ip, tx_ip_dst, tx_ip_proto, l4_len);
    uint16_t c;

    p[0] = 0x45; /* version 4, 5 words of header */
    p[1] = 0;
    put16(p + 2, (uint16_t)(IP_HLEN + l4_len));
    put16(p + 4, n->ip_id++);
    put16(p + 6, 0x4000); /* don't fragment: nothing here reassembles */
    p[8] = 64;
    p[9] = tx_ip_proto;
    put16(p + 10, 0);
    put32(p + 12, n->ip);
    put32(p + 16, tx_ip_dst);
    put16(p + 10, csum_fold(csum_add(0, p, IP_HLEN)));
    switch (tx_ip_proto) {
    case IP_PROTO_ICMP:
        put16(l4 + 2, 0);
        put16(l4 + 2, csum_fold(csum_add(0, l4, l4_len)));
        break;
    case IP_PROTO_UDP:
        put16(l4 + 6, 0);
        c = csum_fold(csum_add(pseudo, l4, l4_len));
        put16(l4 + 6, c ? c : 0xffff); /* 0 would mean "no checksum" */
        break;
    case IP_PROTO_TCP:
        put16(l4 + 16, 0);
        put16(l4 + 16, csum_fold(csum_add(pseudo, l4, l4_len)));
        break;
    }
    eth_send(n, IP_HLEN + l4_len);
}

/* --- ARP -------------------------------------------------------------------------------------- */

void arp_send(struct net *n, uint16_t op, const uint8_t *dmac, const uint8_t *tha, uint32_t tpa)
{
    static const uint8_t zero[ETH_ALEN];
    uint8_t *a = eth_begin(n, dmac, ETH_P_ARP);

    put16(a, 1); /* Ethernet */
    put16(a + 2, ETH_P_IPV4);
    a[4] = ETH_ALEN;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, n->mac, ETH_ALEN);
    put32(a + 14, n->ip);
    memcpy(a + 18, tha ? tha : zero, ETH_ALEN);
    put32(a + 24, tpa);
    eth_send(n, ARP_LEN);
}

static bool arp_lookup(const struct net *n, uint32_t ip, uint8_t mac[ETH_ALEN])
{
    for (unsigned int i = 0; i < NET_ARP_CACHE; i++) {
        if (n->arp[i].ip == ip) {
            memcpy(mac, n->arp[i].mac, ETH_ALEN);
            return true;
        }
    }
    return false;
}

static void arp_learn(struct net *n, uint32_t ip, const uint8_t *mac)
{
    unsigned int i;

    for (i = 0; i < NET_ARP_CACHE && n->arp[i].ip != ip; i++)
        ;
    if (i == NET_ARP_CACHE)
        i = n->arp_next++ % NET_ARP_CACHE;
    n->arp[i].ip = ip;
    memcpy(n->arp[i].mac, mac, ETH_ALEN);
}

static void arp_input(struct net *n, const uint8_t *a, uint32_t len)
{
    uint32_t spa, tpa;
    uint16_t op;

    if (len < ARP_LEN || get16(a) != 1 || get16(a + 2) != ETH_P_IPV4 || a[4] != ETH_ALEN ||
        a[5] != 4)
        return;
    op = get16(a + 6);
    spa = get32(a + 14);
    tpa = get32(a + 24);
    /* Only what is addressed to us: a broadcast request between other hosts says nothing. */
    if (!n->ip || tpa != n->ip)
        return;
    if (spa)
        arp_learn(n, spa, a + 8);
    if (op != 1 || !spa)
        return;
    arp_send(n, 2, a + 8, a + 8, spa);
    if (n->arp_answered++ < PRINT_ARP)
        printf("net: ARP: told " IP_FMT " (" MAC_FMT ") that " IP_FMT " is here\n", IP_ARGS(spa),
               MAC_ARGS(a + 8), IP_ARGS(n->ip));
}

int arp_resolve(struct net *n, uint32_t ip, uint8_t mac[ETH_ALEN], unsigned int seconds)
{
    uint64_t end = net_deadline(seconds * 1000);

    while (!arp_lookup(n, ip, mac)) {
        uint64_t retry = net_deadline(1000);

        if (net_expired(end)) {
            printf("net: FAIL: no ARP reply from " IP_FMT " in %u s\n", IP_ARGS(ip), seconds);
            return -1;
        }
        arp_send(n, 1, eth_broadcast, NULL, ip);
        while (!net_expired(retry) && !arp_lookup(n, ip, mac))
            if (!net_poll(n))
                cpu_relax();
    }
    return 0;
}

/* --- IPv4 and ICMP ---------------------------------------------------------------------------- */

static void drop(struct net *n, const char *why, uint32_t src)
{
    if (n->dropped++ < PRINT_DROPS)
        printf("net: dropped a frame from " IP_FMT ": %s\n", IP_ARGS(src), why);
}

static void icmp_input(struct net *n, const uint8_t *eth, uint32_t src, uint32_t dst,
                       const uint8_t *m, uint32_t len)
{
    uint8_t *r;

    if (len < 8)
        return;
    if (m[0] == ICMP_UNREACH && len >= 8 + IP_HLEN + 8) {
        /* A refused connection may come back this way instead of as a RST. */
        const uint8_t *ip = m + 8, *l4 = ip + (ip[0] & 15) * 4;

        if (ip[9] == IP_PROTO_TCP && l4 + 4 <= m + len && n->tcp.state == TCP_SYN_SENT &&
            get16(l4) == n->tcp.lport && get16(l4 + 2) == n->tcp.rport) {
            printf("net: tcp: ICMP destination unreachable (code %u) from " IP_FMT "\n", m[1],
                   IP_ARGS(src));
            n->tcp.state = TCP_RESET;
        }
        return;
    }
    if (m[0] != ICMP_ECHO || m[1] != 0 || dst != n->ip)
        return;
    r = ip_begin(n, eth + ETH_ALEN, src, IP_PROTO_ICMP);
    memcpy(r, m, len);
    r[0] = ICMP_REPLY;
    ip_send(n, len);
    n->pings++;
    printf("net: ping %u from " IP_FMT " id %u seq %u (%u bytes): replied\n", n->pings,
           IP_ARGS(src), get16(m + 4), get16(m + 6), len - 8);
}

static void ip_input(struct net *n, const uint8_t *eth, const uint8_t *p, uint32_t len)
{
    uint32_t hl, tot, src, dst, l4_len;
    const uint8_t *l4;

    if (len < IP_HLEN || p[0] >> 4 != 4)
        return;
    hl = (p[0] & 15) * 4u;
    tot = get16(p + 2);
    src = get32(p + 12);
    dst = get32(p + 16);
    if (hl < IP_HLEN || tot < hl || tot > len) {
        drop(n, "IPv4 lengths do not fit the frame", src);
        return;
    }
    if (csum_fold(csum_add(0, p, hl))) {
        drop(n, "bad IPv4 header checksum", src);
        return;
    }
    if (get16(p + 6) & 0x3fff) {
        drop(n, "an IPv4 fragment", src);
        return;
    }
    if (!n->any_dst && !(n->ip && dst == n->ip) && dst != IP_BROADCAST &&
        !(n->mask && dst == (n->ip | ~n->mask)))
        return;
    l4 = p + hl;
    l4_len = tot - hl;
    switch (p[9]) {
    case IP_PROTO_ICMP:
        if (csum_fold(csum_add(0, l4, l4_len))) {
            drop(n, "bad ICMP checksum", src);
            return;
        }
        icmp_input(n, eth, src, dst, l4, l4_len);
        break;
    case IP_PROTO_UDP:
        if (l4_len < UDP_HLEN || get16(l4 + 4) < UDP_HLEN || get16(l4 + 4) > l4_len) {
            drop(n, "UDP length does not fit the packet", src);
            return;
        }
        l4_len = get16(l4 + 4);
        if (get16(l4 + 6) &&
            csum_fold(csum_add(csum_pseudo(src, dst, IP_PROTO_UDP, l4_len), l4, l4_len))) {
            drop(n, "bad UDP checksum", src);
            return;
        }
        if (get16(l4 + 2) == DHCP_CLIENT_PORT)
            dhcp_input(n, l4 + UDP_HLEN, l4_len - UDP_HLEN);
        break;
    case IP_PROTO_TCP:
        if (l4_len < TCP_HLEN) {
            drop(n, "TCP segment too short", src);
            return;
        }
        if (csum_fold(csum_add(csum_pseudo(src, dst, IP_PROTO_TCP, l4_len), l4, l4_len))) {
            drop(n, "bad TCP checksum", src);
            return;
        }
        tcp_input(n, src, l4, l4_len);
        break;
    }
}

/* --- Ethernet --------------------------------------------------------------------------------- */

void eth_input(struct net *n, const uint8_t *f, uint32_t len)
{
    if (len < ETH_HLEN) {
        n->dropped++;
        return;
    }
    /* Multicast (IPv6 neighbour discovery and the like) and other hosts' unicast: not ours. */
    if (memcmp(f, n->mac, ETH_ALEN) && memcmp(f, eth_broadcast, ETH_ALEN))
        return;
    switch (get16(f + 2 * ETH_ALEN)) {
    case ETH_P_ARP:
        arp_input(n, f + ETH_HLEN, len - ETH_HLEN);
        break;
    case ETH_P_IPV4:
        ip_input(n, f, f + ETH_HLEN, len - ETH_HLEN);
        break;
    case ETH_P_KVMINI:
        if (len >= ETH_HLEN + sizeof(NET_STOP) - 1 &&
            !memcmp(f + ETH_HLEN, NET_STOP, sizeof(NET_STOP) - 1)) {
            printf("net: stop frame from " MAC_FMT "\n", MAC_ARGS(f + ETH_ALEN));
            n->stop = true;
        }
        break;
    }
}
