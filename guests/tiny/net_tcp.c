// SPDX-License-Identifier: MIT
/*
 * The dhcp mode of the virtio-net tiny guest: a lease, the next hop's MAC, then one TCP
 * connection as a client. The TCP is the least that is still correct on a real network: one
 * connection, one segment of data each way at a time, in-order data only (anything else is
 * answered with an ACK of what we have, so the peer sends it again), a fixed window, and
 * retransmission of SYN, data and FIN once a second, five times.
 */
#include "guests/tiny/net.h"

#define TCP_FIN  0x01
#define TCP_SYN  0x02
#define TCP_RST  0x04
#define TCP_PSH  0x08
#define TCP_ACK  0x10
#define TCP_HLEN 20
#define TCP_MSS  1460
#define TRIES    5
#define RETRY_MS 1000
#define REPLY_MS 10000
#define CLOSE_MS 10000
#define LINE     "hello from the kvmini net guest\n"
#define SHOW_MAX 200 /* reply bytes printed */

/* Sequence space comparisons, modulo 2^32. */
static bool seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

static bool seq_le(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}

static void tcp_send(struct net *n, uint8_t flags, uint32_t seq, const void *data, uint32_t len)
{
    struct tcp_conn *c = &n->tcp;
    uint32_t hl = flags & TCP_SYN ? TCP_HLEN + 4 : TCP_HLEN;
    uint8_t *t = ip_begin(n, c->rmac, c->raddr, IP_PROTO_TCP);

    put16(t, c->lport);
    put16(t + 2, c->rport);
    put32(t + 4, seq);
    put32(t + 8, flags & TCP_ACK ? c->rcv_nxt : 0);
    t[12] = (uint8_t)(hl / 4 << 4);
    t[13] = flags;
    /* What is left of the buffer: the peer can never send more than we can keep. */
    put16(t + 14, (uint16_t)(TCP_RX_MAX - c->rx_len));
    put16(t + 18, 0);
    if (flags & TCP_SYN) {
        t[20] = 2; /* MSS */
        t[21] = 4;
        put16(t + 22, TCP_MSS);
    }
    if (len)
        memcpy(t + hl, data, len);
    ip_send(n, hl + len);
}

static void tcp_ack(struct net *n)
{
    tcp_send(n, TCP_ACK, n->tcp.snd_nxt, NULL, 0);
}

void tcp_input(struct net *n, uint32_t src, const uint8_t *seg, uint32_t len)
{
    struct tcp_conn *c = &n->tcp;
    uint32_t hl = (seg[12] >> 4) * 4u, seq = get32(seg + 4), ack = get32(seg + 8), dlen;
    uint8_t flags = seg[13];
    const uint8_t *data;

    if (c->state == TCP_CLOSED || c->state == TCP_RESET || src != c->raddr ||
        get16(seg) != c->rport || get16(seg + 2) != c->lport || hl < TCP_HLEN || hl > len)
        return;
    data = seg + hl;
    dlen = len - hl;
    if (flags & TCP_RST) {
        /* Only a reset that fits the connection (RFC 793 3.4), not a stale one. */
        if (c->state == TCP_SYN_SENT ? (flags & TCP_ACK) && ack == c->iss + 1 : seq == c->rcv_nxt) {
            printf("net: tcp: reset by " IP_FMT ":%u\n", IP_ARGS(src), c->rport);
            c->state = TCP_RESET;
        }
        return;
    }
    if (c->state == TCP_SYN_SENT) {
        if ((flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && ack == c->iss + 1) {
            c->rcv_nxt = seq + 1;
            c->snd_una = ack;
            c->state = TCP_ESTABLISHED;
            tcp_ack(n);
        }
        return;
    }
    if (flags & TCP_SYN) {
        /* The SYN-ACK again: our ACK of it was lost. */
        tcp_ack(n);
        return;
    }
    if ((flags & TCP_ACK) && seq_lt(c->snd_una, ack) && seq_le(ack, c->snd_nxt))
        c->snd_una = ack;
    /* Bytes we already have at the front of a retransmission: skip them. */
    if (seq_lt(seq, c->rcv_nxt) && seq_lt(c->rcv_nxt, seq + dlen)) {
        uint32_t skip = c->rcv_nxt - seq;

        data += skip;
        dlen -= skip;
        seq = c->rcv_nxt;
    }
    if (seq == c->rcv_nxt && !c->peer_fin) {
        uint32_t take = dlen < TCP_RX_MAX - c->rx_len ? dlen : TCP_RX_MAX - c->rx_len;

        memcpy(c->rx + c->rx_len, data, take);
        c->rx_len += take;
        c->rcv_nxt += take;
        if ((flags & TCP_FIN) && take == dlen) {
            c->rcv_nxt++;
            c->peer_fin = true;
        }
    }
    /* Data or FIN (new, old or out of order) is answered with where we are. */
    if (dlen || (flags & TCP_FIN))
        tcp_ack(n);
}

static bool acked(const struct tcp_conn *c)
{
    return c->snd_una == c->snd_nxt;
}

static bool has_line(const struct tcp_conn *c)
{
    for (uint32_t i = 0; i < c->rx_len; i++)
        if (c->rx[i] == '\n')
            return true;
    return c->peer_fin;
}

/* Polls until the connection left SYN_SENT, everything sent is acknowledged, ... */
enum wait_for { W_CONNECTED, W_ACKED, W_LINE, W_PEER_FIN };

static bool reached(const struct tcp_conn *c, enum wait_for w)
{
    switch (w) {
    case W_CONNECTED:
        return c->state != TCP_SYN_SENT;
    case W_ACKED:
        return acked(c);
    case W_LINE:
        return has_line(c);
    case W_PEER_FIN:
        return c->peer_fin;
    }
    return true;
}

/* True when w was reached; false on timeout or reset (c->state says which). */
static bool tcp_wait(struct net *n, enum wait_for w, unsigned int ms)
{
    uint64_t deadline = net_deadline(ms);

    while (!reached(&n->tcp, w) && n->tcp.state != TCP_RESET && !net_expired(deadline))
        if (!net_poll(n))
            cpu_relax();
    return reached(&n->tcp, w) && n->tcp.state != TCP_RESET;
}

/*
 * Sends (flags, seq, data) until all is acknowledged, TRIES times. 0, NET_EXIT_TCP_RESET, or
 * timeout_status.
 */
static int tcp_send_reliably(struct net *n, uint8_t flags, uint32_t seq, const void *data,
                             uint32_t len, const char *what, int timeout_status)
{
    struct tcp_conn *c = &n->tcp;

    for (int t = 0; t < TRIES; t++) {
        tcp_send(n, flags, seq, data, len);
        if (tcp_wait(n, W_ACKED, RETRY_MS))
            return 0;
        if (c->state == TCP_RESET)
            break;
    }
    if (c->state == TCP_RESET) {
        printf("net: FAIL: tcp: connection reset while sending %s\n", what);
        return NET_EXIT_TCP_RESET;
    }
    printf("net: FAIL: tcp: %s not acknowledged after %u tries\n", what, TRIES);
    return timeout_status;
}

static void show_reply(const struct tcp_conn *c)
{
    char line[SHOW_MAX + 1];
    uint32_t i;

    for (i = 0; i < c->rx_len && i < SHOW_MAX && c->rx[i] != '\n'; i++)
        line[i] = c->rx[i] >= 0x20 && c->rx[i] < 0x7f ? (char)c->rx[i] : '?';
    line[i] = '\0';
    printf("net: tcp: reply: %s\n", line);
}

static int tcp_exchange(struct net *n, uint32_t server, uint16_t port, const uint8_t mac[ETH_ALEN])
{
    struct tcp_conn *c = &n->tcp;
    uint32_t start;
    int rc;

    memset(c, 0, sizeof(*c));
    c->raddr = server;
    c->rport = port;
    memcpy(c->rmac, mac, ETH_ALEN);
    /* A fresh port and ISN per run: a stale connection in the NAT must not match ours. */
    c->lport = (uint16_t)(49152 + (rdtsc() >> 8) % 16384);
    c->iss = (uint32_t)rdtsc();
    c->snd_una = c->iss;
    c->snd_nxt = c->iss + 1;
    c->state = TCP_SYN_SENT;
    for (int t = 0; t < TRIES && c->state == TCP_SYN_SENT; t++) {
        tcp_send(n, TCP_SYN, c->iss, NULL, 0);
        tcp_wait(n, W_CONNECTED, RETRY_MS);
    }
    if (c->state == TCP_RESET) {
        printf("net: FAIL: tcp: connection to " IP_FMT ":%u refused\n", IP_ARGS(server), port);
        return NET_EXIT_TCP_RESET;
    }
    if (c->state != TCP_ESTABLISHED) {
        printf("net: FAIL: tcp: no SYN-ACK from " IP_FMT ":%u after %u SYNs\n", IP_ARGS(server),
               port, TRIES);
        return NET_EXIT_TCP_CONNECT;
    }
    printf("net: tcp: connected to " IP_FMT ":%u from port %u\n", IP_ARGS(server), port, c->lport);

    start = c->snd_nxt;
    c->snd_nxt += sizeof(LINE) - 1;
    rc = tcp_send_reliably(n, TCP_PSH | TCP_ACK, start, LINE, sizeof(LINE) - 1, "data",
                           NET_EXIT_TCP_SEND);
    if (rc)
        return rc;
    printf("net: tcp: sent: %s", LINE);

    if (!tcp_wait(n, W_LINE, REPLY_MS)) {
        if (c->state == TCP_RESET) {
            puts("net: FAIL: tcp: reset before the reply");
            return NET_EXIT_TCP_RESET;
        }
        printf("net: FAIL: tcp: no reply line in %u s (%u bytes so far)\n", REPLY_MS / 1000,
               c->rx_len);
        return NET_EXIT_TCP_REPLY;
    }
    show_reply(c);

    start = c->snd_nxt++;
    rc = tcp_send_reliably(n, TCP_FIN | TCP_ACK, start, NULL, 0, "FIN", NET_EXIT_TCP_CLOSE);
    if (rc)
        return rc;
    if (!tcp_wait(n, W_PEER_FIN, CLOSE_MS)) {
        printf("net: FAIL: tcp: %s\n",
               c->state == TCP_RESET ? "reset instead of a FIN" : "the server did not close");
        return c->state == TCP_RESET ? NET_EXIT_TCP_RESET : NET_EXIT_TCP_CLOSE;
    }
    puts("net: tcp: closed both ways");
    return 0;
}

int net_dhcp_mode(struct net *n, const struct net_opts *o)
{
    uint32_t server, hop;
    uint8_t mac[ETH_ALEN];
    int rc;

    rc = dhcp_run(n);
    if (rc)
        return rc;
    server = o->server ? o->server : n->router;
    hop = (server & n->mask) == (n->ip & n->mask) ? server : n->router;
    if (!hop) {
        printf("net: FAIL: no route to " IP_FMT ": the lease has no router\n", IP_ARGS(server));
        return NET_EXIT_ARP;
    }
    if (arp_resolve(n, hop, mac, 10))
        return NET_EXIT_ARP;
    printf("net: %s " IP_FMT " is at " MAC_FMT "\n", hop == n->router ? "gateway" : "server",
           IP_ARGS(hop), MAC_ARGS(mac));
    return tcp_exchange(n, server, o->port, mac);
}
