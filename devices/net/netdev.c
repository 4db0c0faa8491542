// SPDX-License-Identifier: MIT
#include "devices/net/netdev.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/core/log.h"

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    log_sanitize(err); /* it quotes the user's words */
    return -EINVAL;
}

/* "52:54:00:12:34:56": six pairs of hex digits; a NIC's address must be unicast. */
static int parse_mac(const char *s, uint8_t mac[6], char *err, size_t len)
{
    for (int i = 0; i < 6; i++) {
        const char *p = s + 3 * i;

        if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
            p[2] != (i == 5 ? '\0' : ':'))
            return fail(err, len, "--net mac=%s: not a MAC address; write it as 52:54:00:12:34:56",
                        s);
        mac[i] = (uint8_t)strtoul((char[]){ p[0], p[1], '\0' }, NULL, 16);
    }
    if (mac[0] & 1)
        return fail(err, len, "--net mac=%s: a multicast address; a NIC's first byte must be even",
                    s);
    return 0;
}

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    unsigned long v;

    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    v = strtoul(s, &end, 10);
    if (*end || v == 0 || v > 65535)
        return -EINVAL;
    *port = (uint16_t)v;
    return 0;
}

/* "[ADDR]:PORT", the address optional; dflt when it is absent. */
static int parse_endpoint(char *s, struct in_addr dflt, struct in_addr *addr, uint16_t *port)
{
    char *colon = strrchr(s, ':');

    if (!colon)
        return -EINVAL;
    *colon = '\0';
    *addr = dflt;
    if (*s && inet_pton(AF_INET, s, addr) != 1)
        return -EINVAL;
    return parse_port(colon + 1, port);
}

/* [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, as QEMU's hostfwd takes it. */
static int parse_hostfwd(const char *v, struct net_user_options *u, char *err, size_t len)
{
    struct net_user_fwd *f;
    char buf[128], *proto_end, *dash;
    struct in_addr any = { .s_addr = htonl(INADDR_ANY) };
    struct in_addr guest = { .s_addr = htonl(0x0a00020f) }; /* 10.0.2.15 */

    if (u->nr_fwd == NET_USER_MAX_FWD)
        return fail(err, len, "--net user: at most %d hostfwd= per NIC", NET_USER_MAX_FWD);
    f = &u->fwd[u->nr_fwd];
    if (strlen(v) >= sizeof(buf))
        goto bad;
    strcpy(buf, v);
    proto_end = strchr(buf, ':');
    dash = strchr(buf, '-');
    if (!proto_end || !dash)
        goto bad;
    *proto_end = *dash = '\0';
    if (!strcmp(buf, "udp"))
        f->udp = true;
    else if (*buf && strcmp(buf, "tcp"))
        goto bad;
    if (parse_endpoint(proto_end + 1, any, &f->host_addr, &f->host_port) ||
        parse_endpoint(dash + 1, guest, &f->guest_addr, &f->guest_port))
        goto bad;
    u->nr_fwd++;
    return 0;
bad:
    return fail(err, len,
                "--net user,hostfwd=%s: not a forward; write it as hostfwd=tcp::8080-:80 "
                "(tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, ports 1-65535)",
                v);
}

int net_options_parse(const char *spec, struct net_options *o, char *err, size_t len)
{
    char *copy = strdup(spec), *opt, *next;
    int rc = 0;

    if (!copy)
        return -ENOMEM;
    memset(o, 0, sizeof(*o));
    next = copy;
    opt = strsep(&next, ",");
    if (!strcmp(opt, "user")) {
        o->kind = NET_USER;
    } else if (!strncmp(opt, "tap=", 4)) {
        o->kind = NET_TAP;
        if (!opt[4] || strlen(opt + 4) >= IFNAMSIZ || strchr(opt + 4, '/'))
            rc = fail(err, len, "--net %s: not a network interface name (1 to %d characters)", opt,
                      IFNAMSIZ - 1);
        else
            snprintf(o->tap, sizeof(o->tap), "%s", opt + 4);
    } else {
        rc = fail(err, len, "--net %s: unknown kind of network; use --net user or --net tap=NAME",
                  opt);
    }
    while (!rc && (opt = strsep(&next, ","))) {
        if (!strncmp(opt, "mac=", 4)) {
            rc = parse_mac(opt + 4, o->mac, err, len);
            o->has_mac = true;
        } else if (!strncmp(opt, "hostfwd=", 8) && o->kind == NET_USER) {
            rc = parse_hostfwd(opt + 8, &o->user, err, len);
        } else {
            rc = fail(err, len, "--net: unknown option '%s' for %s; see --help", opt,
                      o->kind == NET_USER ? "user" : "tap");
        }
    }
    free(copy);
    return rc;
}

void net_mac(const struct net_options *o, unsigned int index, uint8_t mac[6])
{
    uint32_t h = 2166136261u; /* FNV-1a over the TAP's name, or the index */

    if (o->has_mac) {
        memcpy(mac, o->mac, 6);
        return;
    }
    if (o->kind == NET_TAP) {
        for (const char *p = o->tap; *p; p++)
            h = (h ^ (uint8_t)*p) * 16777619u;
    } else {
        h = 0x123456 + index; /* 52:54:00:12:34:56 for the first, as QEMU's user network */
    }
    mac[0] = 0x52; /* locally administered, unicast */
    mac[1] = 0x54;
    mac[2] = 0x00;
    mac[3] = (uint8_t)(h >> 16);
    mac[4] = (uint8_t)(h >> 8);
    mac[5] = (uint8_t)h;
}
