#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# virtio-net as Linux sees it, in two boots:
#   1. --net tap: a TAP, 10.9.0.1/24 on the host side.
#      The guest gives eth0 10.9.0.2 and pings the host while the host pings it; then it sends
#      64 MiB of random data to a sink on the host and fetches 64 MiB from an HTTP server there;
#      both sha256 sums must match the other side's.
#   2. --net user: the guest takes a DHCP lease (10.0.2.15, router 10.0.2.2), fetches a file from
#      an HTTP server on the host's loopback through 10.0.2.2, and serves one with busybox httpd
#      on port 80, which the host reaches through a forwarded port (hostfwd).
# The whole test runs in a network namespace of its own (unshare -n): its TAP, servers and
# kvmini see nothing of the host's network, and nothing is left behind. Needs root (the rig is).
. "$(dirname "$0")/../lib/linux-guest.sh"
require_kvm
require_guest bzImage initrd.cpio.gz
require_root "for a network namespace and a TAP"
for tool in ip ping python3 sha256sum curl unshare; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (make deps installs it)"
done
if [ -z "${KVMINI_NET_TEST_NS:-}" ]; then
	exec unshare -n env KVMINI_NET_TEST_NS=1 "$0" "$@"
fi
K=$GUEST/bzImage I=$GUEST/initrd.cpio.gz
MIB=1048576
work=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-net.XXXXXX")
KVMINI_PID=
servers=()
cleanup() {
	[ -z "$KVMINI_PID" ] || kill -KILL "$KVMINI_PID" 2>/dev/null
	for p in "${servers[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# Waits for the kvmini started by start_linux, shows its log $1, and sets STATUS.
finish_kvmini() {
	STATUS=0
	wait "$KVMINI_PID" || STATUS=$?
	KVMINI_PID=
	cat "$1"
}

# Waits until something listens on TCP port $1 (python starts slowly under emulation).
wait_listening() {
	for _ in $(seq 300); do
		ss -Hltn "sport = :$1" | grep -q . && return 0
		sleep 0.1
	done
	fail "nothing listens on port $1 after 30 s"
}

# A TCP sink that writes the sha256 of all it received to $2 (port $1).
sink() {
	python3 -c '
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.9.0.1", int(sys.argv[1]))); s.listen(1)
c, _ = s.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b); n += len(b)
open(sys.argv[2], "w").write("%s %d\n" % (h.hexdigest(), n))' "$1" "$2" &
	servers+=($!)
}

# --- 1. TAP -------------------------------------------------------------------------------------
ip link set lo up
ip tuntap add dev kvtap0 mode tap || fail "cannot create a TAP device"
ip addr add 10.9.0.1/24 dev kvtap0
ip link set kvtap0 up
head -c $((64 * MIB)) /dev/urandom >"$work/big"
big_sum=$(sha256sum <"$work/big" | cut -d' ' -f1)
sink 5000 "$work/sink.sum"
(cd "$work" && exec python3 -m http.server --bind 10.9.0.1 8000 >/dev/null 2>&1) &
servers+=($!)
wait_listening 5000
wait_listening 8000

cmd='ip link set eth0 up && ip addr add 10.9.0.2/24 dev eth0 || exit 10
echo NET-UP
ping -c 3 -W 5 10.9.0.1 >/dev/null && echo GUEST-PINGED || exit 11
dd if=/dev/urandom of=/tmp/out bs=1M count=64 2>/dev/null
echo "SENT $(sha256sum </tmp/out | cut -d" " -f1)"
nc -w 5 10.9.0.1 5000 </tmp/out || exit 12
echo "FETCHED $(wget -q -O - http://10.9.0.1:8000/big | sha256sum | cut -d" " -f1)"
sleep 5'
log=$work/tap.log
start_linux "$log" "$K" "$I" "$cmd" --mem 512M --net tap=kvtap0 --stats
wait_for_output "$log" '^NET-UP' 240 || fail "the guest never brought eth0 up: $(tail -20 "$log")"
ping -c 3 -W 5 10.9.0.2 >/dev/null || fail "the host cannot ping the guest"
echo "host pinged the guest: ok"
finish_kvmini "$log"
expect_status 0
grep -q '^GUEST-PINGED' "$log" || fail "the guest could not ping the host"
sent=$(sed -n 's/^SENT \([0-9a-f]*\).*/\1/p' "$log" | tr -d '\r')
fetched=$(sed -n 's/^FETCHED \([0-9a-f]*\).*/\1/p' "$log" | tr -d '\r')
[ "$(cat "$work/sink.sum")" = "$sent $((64 * MIB))" ] ||
	fail "guest to host: sent $sent, the host received $(cat "$work/sink.sum")"
[ "$fetched" = "$big_sum" ] || fail "host to guest: the host served $big_sum, the guest got $fetched"
grep -q "nic 0 (tap kvtap0): rx" "$log" || fail "--stats has no line for the NIC"
echo "tap: pings both ways, 64 MiB each way with matching sums"

# --- 2. user networking ----------------------------------------------------------------------
head -c $MIB /dev/urandom >"$work/small"
small_sum=$(sha256sum <"$work/small" | cut -d' ' -f1)
port=$((20000 + $$ % 20000)) fwd=$((port + 1))
(cd "$work" && exec python3 -m http.server --bind 127.0.0.1 "$port" >/dev/null 2>&1) &
servers+=($!)
wait_listening "$port"
cmd='cat >/tmp/dhcp.sh <<"EOF"
#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add "$ip/$mask" dev "$interface" && ip route add default via "$router"
echo "LEASE $ip $router"
EOF
chmod +x /tmp/dhcp.sh
ip link set eth0 up
udhcpc -i eth0 -n -q -t 5 -s /tmp/dhcp.sh || exit 20
echo "FETCHED $(wget -q -O - http://10.0.2.2:'"$port"'/small | sha256sum | cut -d" " -f1)"
mkdir -p /www && echo served-by-the-guest >/www/hello.txt
httpd -p 80 -h /www || exit 21
echo HTTPD-UP
sleep 120'
log=$work/user.log
start_linux "$log" "$K" "$I" "$cmd" --net "user,hostfwd=tcp:127.0.0.1:$fwd-:80" --stats
wait_for_output "$log" '^HTTPD-UP' 240 || fail "the guest's server never came up: $(tail -30 "$log")"
got=$(curl -s --max-time 20 "http://127.0.0.1:$fwd/hello.txt") || true
kill -TERM "$KVMINI_PID"
finish_kvmini "$log"
expect_status 143
grep -q '^LEASE 10.0.2.15 10.0.2.2' "$log" || fail "no DHCP lease of 10.0.2.15 via 10.0.2.2"
fetched=$(sed -n 's/^FETCHED \([0-9a-f]*\).*/\1/p' "$log" | tr -d '\r')
[ "$fetched" = "$small_sum" ] || fail "host to guest over user networking: got $fetched"
[ "$got" = "served-by-the-guest" ] || fail "the forwarded port gave '$got'"
echo "user: DHCP lease, a file from the host, a forwarded port to the guest's server"
echo "PASS"
