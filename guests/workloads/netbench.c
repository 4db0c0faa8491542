// SPDX-License-Identifier: MIT
//
// netbench: the network workload of `make bench`, one static binary at both ends (built into the
// Linux guest's initramfs by guests/linux/build-initrd, and for the host by CMake).
//
//   netbench server [--bind ADDR] [--port N] [--count K]
//   netbench client ADDR PORT [--send BYTES] [--recv BYTES] [--rr COUNT]
//
// The client opens one TCP connection per operation, in the order send, recv, rr, and names the
// operation in a 16-byte header; the server does the other half and times it with its own clock,
// so that every figure comes from the same (host) clock whatever the client runs in:
//   send  client -> server, BYTES, then the client shuts down its side; timed from the header to
//         the end of the stream; the server then sends one byte so the client knows it arrived.
//   recv  server -> client, BYTES; timed from the header to the one byte the client sends back
//         once it has read them all.
//   rr    COUNT one-byte requests, each answered by one byte (netperf's TCP_RR): the time between
//         two requests arriving is one full round trip; the server reports their distribution.
// The server prints one line as each operation starts and one with its result (stdout, flushed),
// which tests/bench/netrun reads while it samples the processes' CPU time; it serves K operations
// (--count) and exits, or forever. Exit status: 0, 1 on a failed operation, 2 on bad usage.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum netbench_op { OP_SEND = 1, OP_RECV = 2, OP_RR = 3 };

#define NETBENCH_MAGIC 0x4b564e42u // "KVNB"
#define CHUNK          (128u * 1024)
// Bounds that keep a typo from running for hours or allocating gigabytes of samples.
#define MAX_BYTES (64ull << 30)
#define MAX_RR    10000000ull

struct header {
    uint32_t magic; // big-endian, like the rest
    uint32_t op;
    uint64_t amount; // bytes for send/recv, requests for rr
};

static const char *op_name(uint32_t op)
{
    switch (op) {
    case OP_SEND:
        return "send";
    case OP_RECV:
        return "recv";
    case OP_RR:
        return "rr";
    }
    return "?";
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

// Reads exactly len bytes: 0, -EPIPE at an early end of stream, or -errno.
static int read_all(int fd, void *buf, size_t len)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = read(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

// Reads until the peer shuts down its side; *total gets the byte count.
static int drain(int fd, char *buf, uint64_t *total)
{
    *total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        *total += (uint64_t)n;
    }
}

static int pour(int fd, const char *buf, uint64_t amount)
{
    while (amount > 0) {
        size_t len = amount < CHUNK ? (size_t)amount : CHUNK;
        int err = write_all(fd, buf, len);

        if (err)
            return err;
        amount -= len;
    }
    return 0;
}

static void no_delay(int fd)
{
    int one = 1;

    // Request/response is about latency: never hold a byte back waiting for more.
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static uint64_t percentile(const uint64_t *sorted, size_t n, unsigned pct)
{
    size_t i = (n * pct + 99) / 100; // nearest rank

    return sorted[i > 0 ? i - 1 : 0];
}

// The server's half of one rr operation: answers every request, timing each round trip.
static int serve_rr(int fd, uint64_t count, uint64_t t0)
{
    uint64_t *gap = NULL, prev = t0, end;
    size_t n = count > 1 ? (size_t)(count - 1) : 0;
    char byte;
    int err = 0;

    if (n > 0) {
        gap = calloc(n, sizeof(*gap));
        if (!gap)
            return -ENOMEM;
    }
    for (uint64_t i = 0; i < count; i++) {
        err = read_all(fd, &byte, 1);
        if (err)
            goto out;
        uint64_t t = now_ns();

        if (i > 0)
            gap[i - 1] = t - prev;
        prev = t;
        err = write_all(fd, &byte, 1);
        if (err)
            goto out;
    }
    end = now_ns();
    printf("netbench: op=rr count=%" PRIu64 " us=%" PRIu64, count, (end - t0) / 1000);
    if (n > 0) {
        uint64_t sum = 0;

        qsort(gap, n, sizeof(*gap), cmp_u64);
        for (size_t i = 0; i < n; i++)
            sum += gap[i];
        printf(" min_ns=%" PRIu64 " p50_ns=%" PRIu64 " p90_ns=%" PRIu64 " p99_ns=%" PRIu64
               " mean_ns=%" PRIu64,
               gap[0], percentile(gap, n, 50), percentile(gap, n, 90), percentile(gap, n, 99),
               sum / n);
    }
    printf("\n");
    fflush(stdout);
out:
    free(gap);
    return err;
}

// One operation on an accepted connection; prints its start and result lines.
static int serve_one(int fd, char *buf)
{
    struct header h;
    uint64_t t0, total, amount;
    uint32_t op;
    char ack = 'k';
    int err;

    err = read_all(fd, &h, sizeof(h));
    if (err)
        return err;
    op = be32toh(h.op);
    amount = be64toh(h.amount);
    if (be32toh(h.magic) != NETBENCH_MAGIC || op < OP_SEND || op > OP_RR ||
        amount > (op == OP_RR ? MAX_RR : MAX_BYTES)) {
        fprintf(stderr, "netbench: error: a connection sent a bad header\n");
        return -EPROTO;
    }
    no_delay(fd);
    printf("netbench: start op=%s %s=%" PRIu64 "\n", op_name(op), op == OP_RR ? "count" : "bytes",
           amount);
    fflush(stdout);
    t0 = now_ns();
    switch (op) {
    case OP_SEND:
        err = drain(fd, buf, &total);
        if (err)
            return err;
        if (total != amount) {
            fprintf(stderr,
                    "netbench: error: send: %" PRIu64 " bytes arrived, %" PRIu64 " announced\n",
                    total, amount);
            return -EPROTO;
        }
        err = write_all(fd, &ack, 1);
        break;
    case OP_RECV:
        err = pour(fd, buf, amount);
        if (!err && shutdown(fd, SHUT_WR) < 0)
            err = -errno;
        if (!err)
            err = read_all(fd, &ack, 1);
        break;
    case OP_RR:
        return serve_rr(fd, amount, t0);
    }
    if (err)
        return err;
    printf("netbench: op=%s bytes=%" PRIu64 " us=%" PRIu64 "\n", op_name(op), amount,
           (now_ns() - t0) / 1000);
    fflush(stdout);
    return 0;
}

static int listen_on(const char *bind_addr, unsigned port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int fd, one = 1;

    if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1)
        return -EINVAL;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
        int err = -errno;

        close(fd);
        return err;
    }
    return fd;
}

static int connect_to(const char *host, uint16_t port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    int fd;

    // An address, not a name: the guest's initramfs has no resolver to ask.
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -EINVAL;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int err = -errno;

        close(fd);
        return err;
    }
    return fd;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || v > max || s[0] == '-')
        return false;
    switch (*end) {
    case 'K':
        v <<= 10, end++;
        break;
    case 'M':
        v <<= 20, end++;
        break;
    case 'G':
        v <<= 30, end++;
        break;
    }
    if (*end || v > max)
        return false;
    *out = v;
    return true;
}

static int usage(void)
{
    fprintf(stderr, "usage: netbench server [--bind ADDR] [--port N] [--count K]\n"
                    "       netbench client ADDR PORT [--send BYTES] [--recv BYTES] [--rr COUNT]\n"
                    "(BYTES may end in K, M or G)\n");
    return 2;
}

static int server_main(int argc, char **argv)
{
    const char *bind_addr = "0.0.0.0";
    uint64_t port = 5201, count = 0;
    char *buf;
    int lfd, status = 0;

    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            return usage();
        if (!strcmp(argv[i], "--bind"))
            bind_addr = argv[i + 1];
        else if (!strcmp(argv[i], "--port") && parse_u64(argv[i + 1], 65535, &port))
            ;
        else if (!strcmp(argv[i], "--count") && parse_u64(argv[i + 1], UINT32_MAX, &count))
            ;
        else
            return usage();
    }
    lfd = listen_on(bind_addr, (unsigned)port);
    if (lfd < 0) {
        fprintf(stderr, "netbench: error: cannot listen on %s:%" PRIu64 ": %s\n", bind_addr, port,
                strerror(-lfd));
        return 1;
    }
    buf = calloc(1, CHUNK);
    if (!buf) {
        close(lfd);
        return 1;
    }
    printf("netbench: listening addr=%s port=%" PRIu64 "\n", bind_addr, port);
    fflush(stdout);
    for (uint64_t served = 0; count == 0 || served < count; served++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), err;

        if (fd < 0 && errno == EINTR)
            continue;
        if (fd < 0) {
            perror("netbench: error: accept");
            status = 1;
            break;
        }
        err = serve_one(fd, buf);
        close(fd);
        if (err) {
            fprintf(stderr, "netbench: error: an operation failed: %s\n", strerror(-err));
            status = 1;
            break;
        }
    }
    free(buf);
    close(lfd);
    return status;
}

// The client's half of one operation on its own connection.
static int client_op(const char *host, uint16_t port, uint32_t op, uint64_t amount, char *buf)
{
    struct header h = { htobe32(NETBENCH_MAGIC), htobe32(op), htobe64(amount) };
    uint64_t total;
    char byte = 'r';
    int fd, err;

    fd = connect_to(host, port);
    if (fd < 0)
        return fd;
    no_delay(fd);
    err = write_all(fd, &h, sizeof(h));
    if (err)
        goto out;
    switch (op) {
    case OP_SEND:
        err = pour(fd, buf, amount);
        if (!err && shutdown(fd, SHUT_WR) < 0)
            err = -errno;
        if (!err)
            err = read_all(fd, &byte, 1);
        break;
    case OP_RECV:
        err = drain(fd, buf, &total);
        if (!err && total != amount)
            err = -EPROTO;
        if (!err)
            err = write_all(fd, &byte, 1);
        break;
    case OP_RR:
        for (uint64_t i = 0; i < amount && !err; i++) {
            err = write_all(fd, &byte, 1);
            if (!err)
                err = read_all(fd, &byte, 1);
        }
        break;
    }
out:
    close(fd);
    return err;
}

static int client_main(int argc, char **argv)
{
    uint64_t amount[OP_RR + 1] = { 0 }, port;
    struct in_addr addr;
    char *buf;
    int status = 0;

    if (argc < 4 || inet_pton(AF_INET, argv[2], &addr) != 1 || !parse_u64(argv[3], 65535, &port) ||
        port == 0)
        return usage();
    for (int i = 4; i < argc; i += 2) {
        uint32_t op = !strcmp(argv[i], "--send")   ? OP_SEND
                      : !strcmp(argv[i], "--recv") ? OP_RECV
                      : !strcmp(argv[i], "--rr")   ? OP_RR
                                                   : 0;

        if (!op || i + 1 >= argc ||
            !parse_u64(argv[i + 1], op == OP_RR ? MAX_RR : MAX_BYTES, &amount[op]))
            return usage();
    }
    buf = calloc(1, CHUNK);
    if (!buf)
        return 1;
    memset(buf, 0x5a, CHUNK);
    for (uint32_t op = OP_SEND; op <= OP_RR; op++) {
        int err;

        if (!amount[op])
            continue;
        err = client_op(argv[2], (uint16_t)port, op, amount[op], buf);
        if (err) {
            fprintf(stderr, "netbench: error: %s to %s:%s failed: %s\n", op_name(op), argv[2],
                    argv[3], strerror(-err));
            status = 1;
            break;
        }
        printf("netbench: client done op=%s\n", op_name(op));
        fflush(stdout);
    }
    free(buf);
    return status;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "server"))
        return server_main(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "client"))
        return client_main(argc, argv);
    return usage();
}
