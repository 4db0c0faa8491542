#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test-netbench.sh NETBENCH (ctest, label unit): the network benchmark's workload and its harness
# on the host's loopback, no VM: netrun runs netbench's client against its server and must report
# every operation with the sizes asked for and plausible times; netbench refuses bad usage (2) and
# a connection that does not speak its protocol (1, with an error line).
set -u
nb=${1:?usage: test-netbench.sh NETBENCH}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
port=$((30000 + $$ % 20000))

out=$("$here/netrun" --timeout 60 --server "$nb" --bind 127.0.0.1 --port "$port" --ops 3 \
    --tag run=1 loopback -- "$nb" client 127.0.0.1 "$port" --send 8M --recv 4M --rr 200) ||
    fail "netrun failed: $out"
echo "$out"
[ "$(echo "$out" | wc -l)" = 3 ] || fail "want 3 result lines"
echo "$out" | grep -q '^net vmm=loopback run=1 op=send bytes=8388608 us=[1-9][0-9]* wall_us=' ||
    fail "no send line for 8 MiB"
echo "$out" | grep -q '^net vmm=loopback run=1 op=recv bytes=4194304 us=[1-9]' || fail "no recv line for 4 MiB"
echo "$out" | grep -Eq '^net vmm=loopback run=1 op=rr count=200 us=[0-9]+ min_ns=[1-9][0-9]* p50_ns=[1-9][0-9]* p90_ns=[0-9]+ p99_ns=[0-9]+ mean_ns=[0-9]+ .*srv_sys_s=' ||
    fail "no rr line with its distribution"
p50=$(echo "$out" | sed -n 's/.* p50_ns=\([0-9]*\) .*/\1/p')
p99=$(echo "$out" | sed -n 's/.* p99_ns=\([0-9]*\) .*/\1/p')
((p50 <= p99)) || fail "p50 $p50 above p99 $p99"

"$nb" client 127.0.0.1 2>/dev/null
[ $? = 2 ] || fail "a client without a port must exit 2"
"$nb" client localhost "$port" --send 1M 2>/dev/null
[ $? = 2 ] || fail "a host name (not an address) must exit 2"
"$nb" client 127.0.0.1 "$port" --send 1X 2>/dev/null
[ $? = 2 ] || fail "a bad size must exit 2"

# A connection that sends garbage: the server says so and exits 1.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$nb" server --bind 127.0.0.1 --port "$port" --count 1 >"$log" 2>&1 &
srv=$!
for _ in $(seq 50); do grep -q listening "$log" && break; sleep 0.1; done
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect to the server"
printf 'this is not a header' >&3
exec 3>&-
wait "$srv"
status=$?
[ $status = 1 ] || fail "the server exited $status after a bad header, want 1"
grep -q "bad header" "$log" || fail "no error line for a bad header: $(cat "$log")"
echo PASS
