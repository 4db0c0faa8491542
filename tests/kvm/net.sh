#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# virtio-net end to end with the tiny net guest (guests/tiny/net*.c), in a network namespace of its
# own (so nothing here touches the host's interfaces or ports; it goes away with the test):
# - a TAP (--net tap=): the guest's broadcast hello frame is seen on the host side of the TAP, from
#   the MAC it reads in its config space, and the host's ping gets its replies; then with mac=,
#   without EVENT_IDX and indirect descriptors, and IOPL 0, the host's neighbour table learns that
#   MAC from the guest's ARP reply, and a frame the host sends on the TAP stops the guest; DHCP
#   with no server there fails with its own status (7) instead of waiting for ever;
# - user networking (--net user): DHCP gives 10.0.2.15/24 with router 10.0.2.2, whose ARP is
#   answered, and a TCP exchange with a server on the namespace's 127.0.0.1 (the gateway) goes
#   both ways and closes; a port nobody listens on is refused (status 11), not waited for;
# - no --net: the guest finds no device and says so (status 3); a bad address is refused (2).
# Needs root (a network namespace, a TAP): the rig has it; CI fails without it.
. "$(dirname "$0")/../lib/guest.sh"
require_kvm
require_root "for a network namespace and a TAP"
for tool in ip python3 unshare; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (packages iproute2, python3, util-linux)"
done
# Debian's python3 (make deps installs it) when there: a shim in PATH (pyenv) costs seconds per
# start in the rig, and this test starts python four times.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
# The rest runs in a new network namespace: an anonymous one (unshare), since `ip netns add` needs
# a writable /run, which the rig's is not. kvmini opens its TAP, and slirp its sockets, in the
# namespace it runs in: this one.
if [ -z "${KVMINI_NET_TEST_NS:-}" ]; then
    KVMINI_NET_TEST_NS=1 exec unshare --net -- bash "$0" "$@"
fi
# iputils' ping, or busybox's (busybox-static is installed for the rig anyway).
if command -v ping >/dev/null; then
    PING=(ping)
elif command -v busybox >/dev/null && busybox --list | grep -qx ping; then
    PING=(busybox ping)
else
    fail "no ping: install iputils-ping or busybox-static"
fi
N="$TINY/net.elf"
dir=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-net.XXXXXX")
bgpids=()
cleanup() {
    local p
    for p in "${bgpids[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$dir"
}
trap cleanup EXIT

# The rig boots without the tun module; elsewhere it is loaded on first use of /dev/net/tun.
[ -c /dev/net/tun ] || modprobe tun 2>/dev/null
[ -c /dev/net/tun ] || fail "no /dev/net/tun (and 'modprobe tun' did not make one)"

ip link set lo up || fail "cannot bring lo up in the test's namespace"
ip tuntap add dev kvtap0 mode tap || fail "cannot create the TAP kvtap0"
ip addr add 10.9.0.1/24 dev kvtap0 || fail "cannot address kvtap0"
ip link set kvtap0 up || fail "cannot bring kvtap0 up"

# The host side of the TAP: the first hello frame (EtherType 0x88b5) as "DST SRC PAYLOAD".
cat >"$dir/sniff.py" <<'EOF'
import select, socket, sys, time
iface, ready, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88B5))
s.bind((iface, 0))
open(ready, "w").close()
end = time.monotonic() + seconds
while time.monotonic() < end:
    if not select.select([s], [], [], 0.2)[0]:
        continue
    f = s.recv(2048)
    if f[14:].startswith(b"kvmini-net hello"):
        payload = f[14:].rstrip(b"\0").decode(errors="replace")
        print(f[0:6].hex(":"), f[6:12].hex(":"), payload, flush=True)
        sys.exit(0)
sys.exit(1)
EOF
# A stop frame to DSTMAC, sent on the TAP.
cat >"$dir/stop.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
frame = bytes.fromhex(sys.argv[2].replace(":", "")) + bytes.fromhex("020000000099") + b"\x88\xb5"
frame += b"kvmini-net stop"
s.send(frame.ljust(60, b"\0"))
EOF
# One TCP connection on 127.0.0.1 (the guest's 10.0.2.2): the port goes to PORTFILE, the line
# received to GOTFILE; answers one line and closes.
cat >"$dir/server.py" <<'EOF'
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
s.settimeout(240)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept()
c.settimeout(30)
line = c.makefile("rb").readline()
with open(sys.argv[2], "wb") as f:
    f.write(line)
c.sendall(b"hello from the host test server\n")
c.close()
EOF

# bg_start OUT ARGS...: kvmini in the background, output in OUT; sets KVMINI_PID.
bg_start() {
    local out=$1
    shift
    trace "kvmini $* (background)"
    echo "\$ kvmini $* (background)"
    timeout -k 10 "${KVMINI_TEST_TIMEOUT:-120}" "$KVMINI" "$@" </dev/null >"$out" 2>&1 &
    KVMINI_PID=$!
    bgpids+=("$KVMINI_PID")
}

# bg_finish OUT SECONDS WHAT: the background kvmini must end by itself within SECONDS; sets STATUS
# and OUT (its output).
bg_finish() {
    local out=$1 deadline=$((SECONDS + $2)) what=$3
    while ((SECONDS < deadline)) && kill -0 "$KVMINI_PID" 2>/dev/null; do
        sleep 0.1
    done
    if kill -0 "$KVMINI_PID" 2>/dev/null; then
        kill -TERM "$KVMINI_PID"
        sleep 1
        fail "$what: kvmini did not end by itself within $2 s; its output: $(cat "$out")"
    fi
    STATUS=0
    wait "$KVMINI_PID" || STATUS=$?
    OUT=$(cat "$out")
    echo "  -> status $STATUS"
    printf '  output: %s\n' "$OUT"
}

# wait_file FILE SECONDS: polls until FILE exists.
wait_file() {
    local deadline=$((SECONDS + $2))
    while [ ! -e "$1" ] && ((SECONDS < deadline)); do
        sleep 0.1
    done
    [ -e "$1" ]
}

guest_mac() { printf '%s\n' "$OUT" | sed -nE 's/^net: mac ([0-9a-f:]{17}) .*/\1/p' | head -n1; }

# --- no device; a bad command line ----------------------------------------------------------------
run_kvmini run --kernel "$N" --append "net=serve ip=10.9.0.2"
expect_status 3
expect_out "net: FAIL: no usable virtio-net device"
run_kvmini run --kernel "$N" --net user --append "net=serve ip=10.9.0"
expect_status 2
expect_out "net: FAIL: ip=10.9.0 is not an IPv4 address"

# The packet reader and the TCP server start together: python takes a while to start in the rig.
"$PY" "$dir/server.py" "$dir/port" "$dir/got" >"$dir/server.out" 2>&1 &
server=$!
bgpids+=("$server")

# --- TAP: hello frame, ARP, three pings ---------------------------------------------------------
"$PY" "$dir/sniff.py" kvtap0 "$dir/sniff.ready" 90 >"$dir/sniff.out" 2>&1 &
sniff=$!
bgpids+=("$sniff")
wait_file "$dir/sniff.ready" 30 || fail "the packet reader did not start: $(cat "$dir/sniff.out")"
bg_start "$dir/serve.out" run --kernel "$N" --net tap=kvtap0 --append "net=serve ip=10.9.0.2 count=3"
wait_for_output "$dir/serve.out" "^net: serving" 60 ||
    fail "the guest did not start serving: $(cat "$dir/serve.out")"
ping_out=$("${PING[@]}" -c 3 -W 5 10.9.0.2 2>&1)
ping_status=$?
printf '  ping: %s\n' "$ping_out"
bg_finish "$dir/serve.out" 30 "net=serve count=3"
[ "$ping_status" = 0 ] || fail "ping 10.9.0.2 failed (status $ping_status)"
printf '%s' "$ping_out" | grep -Eq '3 (packets )?received' || fail "ping did not get 3 replies"
expect_status 0
expect_out "net: answered 3 pings"
expect_out "net: ping 3 from 10.9.0.1"
mac=$(guest_mac)
[ -n "$mac" ] || fail "the guest printed no MAC"
expect_out "net: mac $mac link up"
STATUS=0
wait "$sniff" || STATUS=$?
echo "  hello frame seen on kvtap0: $(cat "$dir/sniff.out")"
[ "$STATUS" = 0 ] || fail "no hello frame from the guest on kvtap0"
[ "$(cat "$dir/sniff.out")" = "ff:ff:ff:ff:ff:ff $mac kvmini-net hello $mac" ] ||
    fail "the hello frame is not a broadcast from $mac with the guest's payload"

# --- TAP with mac=, no EVENT_IDX, no indirect descriptors, IOPL 0: a frame from the host stops it -
set_mac=52:54:00:ab:cd:ef
bg_start "$dir/stop.out" run --kernel "$N" --net "tap=kvtap0,mac=$set_mac" \
    --append "net=serve ip=10.9.0.2 count=1000 noeventidx noindirect tiny.iopl=0"
wait_for_output "$dir/stop.out" "^net: serving" 60 ||
    fail "the guest did not start serving: $(cat "$dir/stop.out")"
ip neigh flush dev kvtap0
"${PING[@]}" -c 1 -W 5 10.9.0.2 >/dev/null 2>&1 || fail "ping without EVENT_IDX failed"
# While the guest runs: the TAP's carrier goes with kvmini, and the kernel's entry with it.
neigh=$(ip neigh show 10.9.0.2 dev kvtap0)
echo "  neighbour: $neigh"
printf '%s' "$neigh" | grep -q "lladdr $set_mac" ||
    fail "the host's neighbour entry for 10.9.0.2 is not the guest's MAC $set_mac"
"$PY" "$dir/stop.py" kvtap0 "$set_mac" || fail "cannot send the stop frame"
bg_finish "$dir/stop.out" 30 "stop frame"
expect_status 0
expect_out "net: mac $set_mac link up"
expect_out "net: ping 1 from 10.9.0.1"
expect_out "net: stop frame from 02:00:00:00:00:99"

# No DHCP server on the TAP: the guest gives up after its retries (4 x 2 s), with its own status.
run_kvmini run --kernel "$N" --net tap=kvtap0 --append "net=dhcp port=1"
expect_status 7
expect_out "net: FAIL: no DHCPOFFER"

# --- user networking: DHCP, ARP of the gateway, one TCP exchange ----------------------------------
wait_file "$dir/port" 30 || fail "the TCP server did not start: $(cat "$dir/server.out")"
port=$(cat "$dir/port")
run_kvmini run --kernel "$N" --net user --append "net=dhcp port=$port"
expect_status 0
expect_out "net: lease 10.0.2.15 mask 255.255.255.0 router 10.0.2.2"
expect_out "net: gateway 10.0.2.2 is at"
expect_out "net: tcp: connected to 10.0.2.2:$port"
expect_out "net: tcp: reply: hello from the host test server"
expect_out "net: tcp: closed both ways"
[ -z "$ERR" ] || fail "a clean run prints nothing on stderr"
STATUS=0
wait "$server" || STATUS=$?
[ "$STATUS" = 0 ] || fail "the TCP server failed: $(cat "$dir/server.out")"
[ "$(cat "$dir/got")" = "hello from the kvmini net guest" ] ||
    fail "the server received '$(cat "$dir/got")', not the guest's line"

# Nobody listens there now: refused at once (RST or ICMP), not retried until a timeout.
run_kvmini run --kernel "$N" --net user --append "net=dhcp port=$port"
expect_status 11
expect_out "refused"
echo "PASS"
