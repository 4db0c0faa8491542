/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net tiny guest, shared by its parts: the device and the modes (net.c), Ethernet,
 * ARP, IPv4 and ICMP (net_ip.c), the DHCP client (net_dhcp.c) and the TCP client (net_tcp.c).
 * One device, one receive and one transmit queue, everything polled; one frame is built at a time.
 *
 * Addresses are kept in host byte order (10.0.2.15 is 0x0a00020f) and put on the wire with
 * put16/put32; frames are parsed by byte offset, so nothing depends on packed structs.
 */
#ifndef TINY_NET_H
#define TINY_NET_H

#include <linux/virtio_net.h>

#include "guests/tiny/virtio_pci_drv.h"

#define VIRTIO_PCI_ID_NET 0x1041

/*
 * Exit statuses: each failure has its own, and a "net: FAIL: ..." line says why. 3 is also what
 * the shared driver exits with when the device returns a head that is not in flight.
 */
#define NET_EXIT_FAIL        1  /* an invariant of this driver broke (a bug here) */
#define NET_EXIT_USAGE       2  /* bad or missing command-line value */
#define NET_EXIT_DEV         3  /* no usable virtio-net device */
#define NET_EXIT_LINK        4  /* the link stayed down */
#define NET_EXIT_TX_STALL    5  /* the device did not complete transmitted frames */
#define NET_EXIT_IDLE        6  /* serve: no ping (or stop frame) in time */
#define NET_EXIT_DHCP_OFFER  7  /* no DHCPOFFER */
#define NET_EXIT_DHCP_ACK    8  /* no DHCPACK, or a DHCPNAK */
#define NET_EXIT_ARP         9  /* no next hop, or it did not answer ARP */
#define NET_EXIT_TCP_CONNECT 10 /* no SYN-ACK */
#define NET_EXIT_TCP_RESET   11 /* connection refused or reset */
#define NET_EXIT_TCP_SEND    12 /* our data was not acknowledged */
#define NET_EXIT_TCP_REPLY   13 /* no reply line from the server */
#define NET_EXIT_TCP_CLOSE   14 /* the close did not complete both ways */
#define NET_EXIT_DEV_RULES   15 /* the device broke a virtio-net rule (see the output) */

#define ETH_ALEN      6
#define ETH_HLEN      14
#define ETH_ZLEN      60   /* shortest frame on the wire without FCS: we pad to it */
#define ETH_FRAME_MAX 1514 /* MTU 1500 plus the Ethernet header */
#define ETH_P_IPV4    0x0800
#define ETH_P_ARP     0x0806
/* IEEE 802 "local experimental" EtherType: the hello and stop frames the test exchanges. */
#define ETH_P_KVMINI 0x88b5

#define IP_HLEN          20 /* we send no options */
#define IP_PROTO_ICMP    1
#define IP_PROTO_TCP     6
#define IP_PROTO_UDP     17
#define UDP_HLEN         8
#define TCP_HLEN         20 /* without options */
#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define IP_BROADCAST     0xffffffffu

#define NET_HDR_LEN sizeof(struct virtio_net_hdr_v1) /* 12: VERSION_1 always has num_buffers */
#define NET_BUF_LEN (NET_HDR_LEN + ETH_FRAME_MAX)

/* Payloads of ETH_P_KVMINI frames: the guest sends the first, the host may send the second. */
#define NET_HELLO "kvmini-net hello"
#define NET_STOP  "kvmini-net stop"

#define NET_ARP_CACHE 4
#define TCP_RX_MAX    2048

enum dhcp_state { DHCP_IDLE, DHCP_SELECTING, DHCP_REQUESTING, DHCP_BOUND, DHCP_NAKED };

struct dhcp {
    enum dhcp_state state;
    uint32_t xid;
    uint32_t offered, server_id, mask, router, dns, lease_s;
};

enum tcp_state { TCP_CLOSED, TCP_SYN_SENT, TCP_ESTABLISHED, TCP_RESET };

struct tcp_conn {
    enum tcp_state state;
    uint32_t raddr;
    uint8_t rmac[ETH_ALEN];
    uint16_t lport, rport;
    uint32_t iss, snd_una, snd_nxt, rcv_nxt;
    bool peer_fin;
    uint32_t rx_len;
    uint8_t rx[TCP_RX_MAX];
};

enum net_mode { NET_MODE_INFO, NET_MODE_SERVE, NET_MODE_DHCP };

/* The command line (see net.c), checked whole before the device is touched. */
struct net_opts {
    enum net_mode mode;
    uint32_t ip;           /* serve: our address */
    unsigned int count;    /* serve: pings to answer */
    unsigned int timeout;  /* serve: the longest wait for the next ping, in seconds */
    uint32_t server;       /* dhcp: 0 means the router */
    uint16_t port;         /* dhcp */
    unsigned int linkwait; /* seconds a down link may take to come up */
    bool noindirect, noeventidx, lenient;
};

struct net {
    struct vpci_dev dev;
    struct vq *rxq, *txq;
    uint8_t mac[ETH_ALEN];
    uint32_t ip, mask, router; /* 0 until configured (serve: ip=, dhcp: the lease) */
    bool any_dst;              /* take IPv4 to any address: DHCP replies before the lease */
    uint16_t ip_id;

    struct {
        uint32_t ip;
        uint8_t mac[ETH_ALEN];
    } arp[NET_ARP_CACHE];
    unsigned int arp_next;

    unsigned int pings; /* echo requests answered */
    unsigned int arp_answered;
    bool stop;               /* a stop frame arrived */
    unsigned int dev_faults; /* virtio-net rules the device broke (reported once each) */
    bool lenient;            /* dev_faults do not fail the run */
    unsigned int dropped;    /* frames we could not use (bad checksum, runt, fragment) */
    unsigned int tx_frames, rx_frames;

    struct dhcp dhcp;
    struct tcp_conn tcp;
};

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

#define IP_FMT     "%u.%u.%u.%u"
#define IP_ARGS(a) (a) >> 24, ((a) >> 16) & 0xff, ((a) >> 8) & 0xff, 0xff & (a)
#define MAC_FMT    "%02x:%02x:%02x:%02x:%02x:%02x"
#define MAC_ARGS(m)                                                                                \
    (unsigned int)(m)[0], (unsigned int)(m)[1], (unsigned int)(m)[2], (unsigned int)(m)[3],        \
        (unsigned int)(m)[4], (unsigned int)(m)[5]

extern const uint8_t eth_broadcast[ETH_ALEN];

/* The internet checksum: add 16-bit big-endian words to sum, then fold and complement. */
uint32_t csum_add(uint32_t sum, const void *data, uint32_t len);
uint16_t csum_fold(uint32_t sum);
/* The sum of the TCP/UDP pseudo-header. */
uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len);

/* TSC deadlines for timeouts only (see tiny_timeout_cycles): now + ms. */
uint64_t net_deadline(unsigned int ms);

static inline bool net_expired(uint64_t deadline)
{
    return (int64_t)(rdtsc() - deadline) >= 0;
}

/*
 * Takes completed transmissions and received frames (each handed to the protocols, the buffer
 * then given back to the device). Returns the frames received. Never blocks.
 */
unsigned int net_poll(struct net *n);

/*
 * Starts an Ethernet frame to dst: the payload area of a free transmit buffer. Waits (polling)
 * for the device to finish one if all are in flight; ends the guest if it never does.
 */
uint8_t *eth_begin(struct net *n, const uint8_t dst[ETH_ALEN], uint16_t type);
/* Sends the frame eth_begin started, payload_len bytes after the Ethernet header. */
void eth_send(struct net *n, uint32_t payload_len);

/* Starts an IPv4 packet from n->ip to dst (through dmac): returns where the L4 header goes. */
uint8_t *ip_begin(struct net *n, const uint8_t dmac[ETH_ALEN], uint32_t dst, uint8_t proto);
/* Fills in the IPv4 header and the ICMP/UDP/TCP checksum over l4_len bytes, and sends. */
void ip_send(struct net *n, uint32_t l4_len);

/* An ARP packet from us (sender n->mac, n->ip) to dmac: op 1 request, 2 reply. */
void arp_send(struct net *n, uint16_t op, const uint8_t *dmac, const uint8_t *tha, uint32_t tpa);

/*
 * The MAC of ip (on this link: the caller picks the next hop), from the cache or by ARP with
 * retries for up to `seconds`. 0, or -1 (no answer; reason printed).
 */
int arp_resolve(struct net *n, uint32_t ip, uint8_t mac[ETH_ALEN], unsigned int seconds);

/* Waits until the device completed every transmitted frame: before exiting. 0 or -1. */
int net_tx_drain(struct net *n, unsigned int seconds);

/* Ends the guest with status: flushes the transmissions first, and 15 if the device broke rules. */
__attribute__((noreturn)) void net_exit(struct net *n, int status);

/* One received frame (without the virtio-net header), from net_poll. */
void eth_input(struct net *n, const uint8_t *f, uint32_t len);

/* Protocol input, from net_poll: l4 is the IPv4 payload (len bytes), checksums already checked. */
void dhcp_input(struct net *n, const uint8_t *udp_payload, uint32_t len);
void tcp_input(struct net *n, uint32_t src, const uint8_t *seg, uint32_t len);

/* Gets a lease (fills n->ip, n->mask, n->router and n->dhcp). 0 or an exit status. */
int dhcp_run(struct net *n);
/* The dhcp mode: lease, ARP of the gateway, one TCP exchange (see net.c). An exit status. */
int net_dhcp_mode(struct net *n, const struct net_opts *o);

/* "a.b.c.d" to host order. 0 or -1. */
int parse_ipv4(const char *s, uint32_t *out);

#endif
