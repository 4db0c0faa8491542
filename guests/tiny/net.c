// SPDX-License-Identifier: MIT
/*
 * virtio-net from a tiny guest: a poll-mode driver on the shared virtio-pci code, and just enough
 * Ethernet, ARP, IPv4, ICMP, UDP (DHCP) and TCP to talk to a host. It always prints the device's
 * MAC and link status first. Modes, by command line:
 *   (no net=)        that line, then exit 0.
 *   net=serve        a static address (ip=A.B.C.D, required): announces itself with a gratuitous
 *                    ARP and a broadcast "hello" frame (EtherType 0x88b5, payload
 *                    "kvmini-net hello MAC"), answers ARP requests for its address and ICMP echo
 *                    requests (one line per ping answered), and exits 0 after count=N pings
 *                    (default 3) or when an EtherType 0x88b5 frame starting "kvmini-net stop"
 *                    arrives. timeout=S (default 30): the longest wait for the next ping.
 *   net=dhcp         DHCPDISCOVER/REQUEST for a lease (address, mask, router, DNS printed), ARP
 *                    for the next hop, then one TCP connection to server=A.B.C.D (default: the
 *                    router) port=P (required): sends "hello from the kvmini net guest", prints
 *                    the server's reply line, closes (FIN both ways), exits 0.
 * Other keys: noeventidx, noindirect (features not to negotiate), linkwait=S (default 10: how long
 * a down link may take to come up), lenient (see below).
 *
 * The driver accepts VERSION_1, MAC, STATUS, EVENT_IDX and INDIRECT_DESC: no offloads and no
 * merged buffers, so every frame both ways has a 12-byte virtio_net_hdr_v1 in front, all zero from
 * us, and each receive buffer (NET_BUF_LEN bytes, one descriptor) gets one whole frame. Transmitted
 * frames take turns between three layouts (header and frame in one descriptor, in two, in two
 * behind an indirect descriptor), since a VERSION_1 device must not care how they are split.
 *
 * Every wait has a deadline (the TSC: see tiny_timeout_cycles) and every failure its own exit
 * status with a "net: FAIL: ..." line (net.h): a guest that fails must fail fast. What the device
 * does against the virtio-net rules (a used length past the buffer, header fields that only
 * offloads or merged buffers allow) is reported once each and ends a run that otherwise passed
 * with status 15; with `lenient` it is only reported (QEMU 7.2 leaves num_buffers 0).
 *
 * Nothing here is kvmini-specific; under QEMU (TCG will do) the same binary runs as
 *   qemu-system-x86_64 -M q35 -m 128M -nodefaults -display none -serial stdio -kernel net.elf
 *     -device isa-debug-exit,iobase=0x501,iosize=1 -append "... lenient"
 *     -device virtio-net-pci,netdev=n0,disable-legacy=on -netdev user,id=n0 (or tap,...)
 * and exits with (status << 1) | 1.
 */
#include "guests/tiny/net.h"

#define RX_BUFS    32
#define TX_SLOTS   16
#define RX_BUDGET  16 /* frames per net_poll, so transmit completions are not starved */
#define CFG_MAC    0
#define CFG_STATUS 6

/* The rule a device broke, one bit each, so each is reported once. */
#define FAULT_LEN      1u
#define FAULT_FLAGS    2u
#define FAULT_GSO      4u
#define FAULT_NUMBUFS  8u
#define FAULT_SHORTHDR 16u

struct rx_buf {
    uint8_t data[NET_BUF_LEN];
} __attribute__((aligned(64)));

/* Header and frame back to back, so the one-descriptor layout is a single buffer. */
struct tx_slot {
    struct virtio_net_hdr_v1 hdr;
    uint8_t frame[ETH_FRAME_MAX];
    bool busy;
} __attribute__((aligned(64)));
_Static_assert(__builtin_offsetof(struct tx_slot, frame) == NET_HDR_LEN,
               "the frame must follow the header directly");

static struct vq rxq, txq;
static struct rx_buf rx_bufs[RX_BUFS];
static struct tx_slot tx_slots[TX_SLOTS];
static unsigned int tx_slots_usable;
static unsigned int fault_seen;
static struct tx_slot *tx_cur; /* the frame between eth_begin and eth_send */

/* --- Small helpers ---------------------------------------------------------------------------- */

uint64_t net_deadline(unsigned int ms)
{
    return rdtsc() + ms * (tiny_timeout_cycles(1) / 1000);
}

static bool streq(const char *a, const char *b)
{
    size_t n = strlen(a);

    return n == strlen(b) && !memcmp(a, b, n);
}

static bool first_fault(unsigned int bit)
{
    bool first = !(fault_seen & bit);

    fault_seen |= bit;
    return first;
}

/* --- Transmit --------------------------------------------------------------------------------- */

static void tx_reclaim(struct net *n)
{
    void *token;
    uint32_t len;

    while (vq_get_used(n->txq, &token, &len))
        ((struct tx_slot *)token)->busy = false;
}

static struct tx_slot *tx_get(struct net *n)
{
    uint64_t deadline = net_deadline(10000);

    for (;;) {
        tx_reclaim(n);
        for (unsigned int i = 0; i < tx_slots_usable; i++)
            if (!tx_slots[i].busy)
                return &tx_slots[i];
        if (net_expired(deadline)) {
            printf("net: FAIL: the device completed none of the %u frames in flight in 10 s "
                   "(transmit queue avail %u, used %u)\n",
                   tx_slots_usable, n->txq->avail_idx, n->txq->used->idx);
            exit(NET_EXIT_TX_STALL);
        }
        cpu_relax();
    }
}

uint8_t *eth_begin(struct net *n, const uint8_t dst[ETH_ALEN], uint16_t type)
{
    struct tx_slot *s = tx_get(n);

    memcpy(s->frame, dst, ETH_ALEN);
    memcpy(s->frame + ETH_ALEN, n->mac, ETH_ALEN);
    put16(s->frame + 2 * ETH_ALEN, type);
    tx_cur = s;
    return s->frame + ETH_HLEN;
}

void eth_send(struct net *n, uint32_t payload_len)
{
    struct tx_slot *s = tx_cur;
    uint32_t len = ETH_HLEN + payload_len;
    struct vq_buf b[2];
    unsigned int layout = n->txq->size < 2 ? 0 : n->tx_frames % 3;
    int head;

    if (len < ETH_ZLEN) {
        memset(s->frame + len, 0, ETH_ZLEN - len);
        len = ETH_ZLEN;
    }
    memset(&s->hdr, 0, sizeof(s->hdr));
    if (layout == 0) {
        b[0] = (struct vq_buf){ (uintptr_t)s, (uint32_t)NET_HDR_LEN + len, false };
    } else {
        b[0] = (struct vq_buf){ (uintptr_t)&s->hdr, (uint32_t)NET_HDR_LEN, false };
        b[1] = (struct vq_buf){ (uintptr_t)s->frame, len, false };
    }
    head = vq_add(n->txq, b, layout ? 2 : 1, layout == 2 && n->txq->indirect, s);
    if (head < 0) {
        /* tx_slots_usable leaves room for every slot's chain: this is our bug, not the device's. */
        printf("net: FAIL: transmit ring full with a free slot\n");
        exit(NET_EXIT_FAIL);
    }
    s->busy = true;
    tx_cur = NULL;
    n->tx_frames++;
    vq_publish(n->txq);
}

int net_tx_drain(struct net *n, unsigned int seconds)
{
    uint64_t deadline = net_deadline(seconds * 1000);

    for (;;) {
        unsigned int busy = 0;

        tx_reclaim(n);
        for (unsigned int i = 0; i < tx_slots_usable; i++)
            busy += tx_slots[i].busy;
        if (!busy)
            return 0;
        if (net_expired(deadline)) {
            printf("net: FAIL: %u transmitted frames not completed by the device in %u s\n", busy,
                   seconds);
            return -1;
        }
        cpu_relax();
    }
}

void net_exit(struct net *n, int status)
{
    /* Our last frame (the ping reply that reached count=N) must leave before the VM ends. */
    if (n->txq && net_tx_drain(n, 5) && !status)
        status = NET_EXIT_TX_STALL;
    if (!status && n->dev_faults && !n->lenient) {
        printf("net: FAIL: the device broke %u virtio-net rules (see above)\n", n->dev_faults);
        status = NET_EXIT_DEV_RULES;
    }
    printf("net: %u frames received, %u sent, %u dropped; exit %d\n", n->rx_frames, n->tx_frames,
           n->dropped, status);
    exit(status);
}

/* --- Receive ---------------------------------------------------------------------------------- */

static void rx_post(struct net *n, struct rx_buf *b)
{
    struct vq_buf d = { (uintptr_t)b->data, NET_BUF_LEN, true };

    /* A buffer only comes back after the device returned it: there is always room. */
    if (vq_add(n->rxq, &d, 1, false, b) < 0) {
        printf("net: FAIL: receive ring full while giving a buffer back\n");
        exit(NET_EXIT_FAIL);
    }
}

/* Checks what the device wrote around the frame; the frame itself goes up if it is usable. */
static void rx_frame(struct net *n, struct rx_buf *b, uint32_t len)
{
    const struct virtio_net_hdr_v1 *h = (const void *)b->data;

    n->rx_frames++;
    if (len > NET_BUF_LEN) {
        if (first_fault(FAULT_LEN)) {
            printf("net: device bug: used length %u is larger than the %u-byte buffer\n", len,
                   (unsigned int)NET_BUF_LEN);
            n->dev_faults++;
        }
        n->dropped++;
        return;
    }
    if (len < NET_HDR_LEN) {
        if (first_fault(FAULT_SHORTHDR)) {
            printf("net: device bug: used length %u is shorter than the %u-byte header\n", len,
                   (unsigned int)NET_HDR_LEN);
            n->dev_faults++;
        }
        n->dropped++;
        return;
    }
    if (h->flags && first_fault(FAULT_FLAGS)) {
        printf("net: device bug: header flags 0x%x without GUEST_CSUM (must be 0)\n", h->flags);
        n->dev_faults++;
    }
    if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE && first_fault(FAULT_GSO)) {
        printf("net: device bug: gso_type %u without any GUEST_TSO/UFO feature\n", h->gso_type);
        n->dev_faults++;
    }
    if (h->num_buffers != 1 && first_fault(FAULT_NUMBUFS)) {
        printf("net: device bug: num_buffers %u without MRG_RXBUF (must be 1)\n", h->num_buffers);
        n->dev_faults++;
    }
    eth_input(n, b->data + NET_HDR_LEN, len - (uint32_t)NET_HDR_LEN);
}

unsigned int net_poll(struct net *n)
{
    unsigned int got = 0;
    void *token;
    uint32_t len;

    tx_reclaim(n);
    while (got < RX_BUDGET && vq_get_used(n->rxq, &token, &len)) {
        rx_frame(n, token, len);
        rx_post(n, token);
        got++;
    }
    if (got)
        vq_publish(n->rxq);
    return got;
}

/* --- Device ----------------------------------------------------------------------------------- */

static uint16_t link_status(const struct net *n)
{
    uint8_t s[2];

    vpci_config_read(&n->dev, CFG_STATUS, s, sizeof(s));
    return (uint16_t)(s[0] | s[1] << 8);
}

/* Finds, negotiates and starts the device, and waits for the link. 0 or an exit status. */
static int net_init(struct net *n, const struct net_opts *o)
{
    struct vpci_dev *d = &n->dev;
    uint64_t want = 1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS, deadline;
    bool up = true;

    if (!o->noindirect)
        want |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
    if (!o->noeventidx)
        want |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
    n->lenient = o->lenient;
    n->rxq = &rxq;
    n->txq = &txq;
    if (vpci_find(d, VIRTIO_PCI_ID_NET, 0) || vpci_negotiate(d, want))
        goto dev_fail;
    if (d->device_len < (vpci_has(d, VIRTIO_NET_F_STATUS) ? CFG_STATUS + 2 : ETH_ALEN)) {
        printf("net: device configuration is only %u bytes\n", d->device_len);
        goto dev_fail;
    }
    /* Without VIRTIO_NET_F_MAC the driver picks one: a locally administered address. */
    if (vpci_has(d, VIRTIO_NET_F_MAC))
        vpci_config_read(d, CFG_MAC, n->mac, ETH_ALEN);
    else
        memcpy(n->mac, (const uint8_t[]){ 0x02, 0, 0, 0, 0, 1 }, ETH_ALEN);
    if (vq_setup(n->rxq, d, 0, RX_BUFS) || vq_setup(n->txq, d, 1, 2 * TX_SLOTS))
        goto dev_fail;
    /*
     * Two ring descriptors per frame at most (the two-descriptor layout, direct); a one-entry
     * ring gets only the one-descriptor layout (eth_send).
     */
    tx_slots_usable = n->txq->size / 2 ? n->txq->size / 2 : 1;
    if (tx_slots_usable > TX_SLOTS)
        tx_slots_usable = TX_SLOTS;
    vpci_driver_ok(d);
    if (vpci_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET) {
        printf("net: device needs a reset right after DRIVER_OK\n");
        goto dev_fail;
    }
    /* After DRIVER_OK: a notification before it may be lost, and the buffers with it. */
    for (unsigned int i = 0; i < RX_BUFS && i < n->rxq->size; i++)
        rx_post(n, &rx_bufs[i]);
    vq_publish(n->rxq);

    if (vpci_has(d, VIRTIO_NET_F_STATUS))
        up = link_status(n) & VIRTIO_NET_S_LINK_UP;
    printf("net: device %02x:%02x.%x features 0x%lx (offered 0x%lx) queues rx %u tx %u\n", d->bus,
           d->slot, d->fn, d->features, d->offered, n->rxq->size, n->txq->size);
    printf("net: mac " MAC_FMT "%s link %s%s\n", MAC_ARGS(n->mac),
           vpci_has(d, VIRTIO_NET_F_MAC) ? "" : " (ours: the device has no MAC feature)",
           up ? "up" : "down", vpci_has(d, VIRTIO_NET_F_STATUS) ? "" : " (assumed: no STATUS)");
    deadline = net_deadline(o->linkwait * 1000);
    while (!up) {
        if (net_expired(deadline)) {
            printf("net: FAIL: link still down after %u s\n", o->linkwait);
            return NET_EXIT_LINK;
        }
        /* Each look at the status is a configuration read, an exit: one every 10 ms will do. */
        for (uint64_t next = net_deadline(10); !net_expired(next);)
            if (!net_poll(n))
                cpu_relax();
        up = link_status(n) & VIRTIO_NET_S_LINK_UP;
        if (up)
            puts("net: link up");
    }
    return 0;
dev_fail:
    puts("net: FAIL: no usable virtio-net device");
    n->txq = NULL; /* nothing to drain */
    return NET_EXIT_DEV;
}

/* --- Serve mode ------------------------------------------------------------------------------- */

/* The frames the host side looks for: who we are, then where. */
static void announce(struct net *n)
{
    uint8_t *p = eth_begin(n, eth_broadcast, ETH_P_KVMINI);
    uint32_t len = sizeof(NET_HELLO) - 1;

    memcpy(p, NET_HELLO, len);
    p[len++] = ' ';
    for (unsigned int i = 0; i < ETH_ALEN; i++) {
        p[len++] = "0123456789abcdef"[n->mac[i] >> 4];
        p[len++] = "0123456789abcdef"[n->mac[i] & 15];
        if (i + 1 < ETH_ALEN)
            p[len++] = ':';
    }
    eth_send(n, len);
    /* Gratuitous ARP: a request for our own address. */
    arp_send(n, 1, eth_broadcast, NULL, n->ip);
    printf("net: sent a hello frame (EtherType 0x%x) and a gratuitous ARP for " IP_FMT "\n",
           ETH_P_KVMINI, IP_ARGS(n->ip));
}

static int serve(struct net *n, const struct net_opts *o)
{
    uint64_t deadline = net_deadline(o->timeout * 1000);
    unsigned int seen = 0;

    n->ip = o->ip;
    n->mask = 0xffffff00;
    announce(n);
    printf("net: serving " IP_FMT ": ARP and ping, until %u pings or a stop frame\n",
           IP_ARGS(n->ip), o->count);
    for (;;) {
        if (!net_poll(n))
            cpu_relax();
        if (n->pings >= o->count) {
            printf("net: answered %u pings\n", n->pings);
            return 0;
        }
        if (n->stop)
            return 0;
        if (n->pings != seen) {
            seen = n->pings;
            deadline = net_deadline(o->timeout * 1000);
        }
        if (net_expired(deadline)) {
            printf("net: FAIL: no ping in %u s (answered %u of %u)\n", o->timeout, n->pings,
                   o->count);
            return NET_EXIT_IDLE;
        }
    }
}

/* --- Command line ----------------------------------------------------------------------------- */

/* key=N within [min, max], or def when absent. 0, or -1 (reason printed). */
static int opt_uint(const char *cmdline, const char *key, unsigned int def, unsigned int min,
                    unsigned int max, unsigned int *out)
{
    char buf[24];
    uint64_t v;

    *out = def;
    if (!cmdline_get(cmdline, key, buf, sizeof(buf)))
        return 0;
    if (parse_uint(buf, &v) || v < min || v > max) {
        printf("net: FAIL: %s=%s: expected a number from %u to %u\n", key, buf, min, max);
        return -1;
    }
    *out = (unsigned int)v;
    return 0;
}

static int opt_ipv4(const char *cmdline, const char *key, uint32_t *out)
{
    char buf[24];

    *out = 0;
    if (!cmdline_get(cmdline, key, buf, sizeof(buf)))
        return 0;
    if (parse_ipv4(buf, out) || !*out) {
        printf("net: FAIL: %s=%s is not an IPv4 address\n", key, buf);
        return -1;
    }
    return 0;
}

/* Everything is checked before the device is touched: a usage error is 2 whatever the VM has. */
static int parse_opts(const char *cmdline, struct net_opts *o)
{
    char mode[16] = "";
    unsigned int port;

    cmdline_get(cmdline, "net", mode, sizeof(mode));
    if (!mode[0])
        o->mode = NET_MODE_INFO;
    else if (streq(mode, "serve"))
        o->mode = NET_MODE_SERVE;
    else if (streq(mode, "dhcp"))
        o->mode = NET_MODE_DHCP;
    else {
        printf("net: FAIL: unknown net=%s (serve or dhcp)\n", mode);
        return -1;
    }
    if (opt_ipv4(cmdline, "ip", &o->ip) || opt_ipv4(cmdline, "server", &o->server) ||
        opt_uint(cmdline, "count", 3, 1, 1000000, &o->count) ||
        opt_uint(cmdline, "timeout", 30, 1, 3600, &o->timeout) ||
        opt_uint(cmdline, "linkwait", 10, 0, 3600, &o->linkwait) ||
        opt_uint(cmdline, "port", 0, 1, 65535, &port))
        return -1;
    o->port = (uint16_t)port;
    if (o->mode == NET_MODE_SERVE && !o->ip) {
        puts("net: FAIL: net=serve needs ip=A.B.C.D");
        return -1;
    }
    if (o->mode == NET_MODE_DHCP && !o->port) {
        puts("net: FAIL: net=dhcp needs port=1..65535");
        return -1;
    }
    o->noindirect = cmdline_get(cmdline, "noindirect", NULL, 0);
    o->noeventidx = cmdline_get(cmdline, "noeventidx", NULL, 0);
    o->lenient = cmdline_get(cmdline, "lenient", NULL, 0);
    return 0;
}

int main(unsigned int cpu, const char *cmdline)
{
    static struct net n;
    struct net_opts o;
    int rc;

    if (cpu != 0)
        park();
    if (parse_opts(cmdline, &o))
        return NET_EXIT_USAGE;
    rc = net_init(&n, &o);
    if (!rc && o.mode == NET_MODE_SERVE)
        rc = serve(&n, &o);
    else if (!rc && o.mode == NET_MODE_DHCP)
        rc = net_dhcp_mode(&n, &o);
    net_exit(&n, rc);
}
