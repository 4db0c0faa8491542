# SPDX-License-Identifier: MIT
# Shared by the tests that run guests. ctest sets KVMINI (the binary) and TINY (the guests' dir).
set -u

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Exit 77 (ctest: skipped) when there is no KVM, unless KVMINI_REQUIRE_KVM=1 (CI): then fail.
require_kvm() {
    if [ ! -c /dev/kvm ] || ! { exec 9<>/dev/kvm; } 2>/dev/null; then
        if [ "${KVMINI_REQUIRE_KVM:-0}" = 1 ]; then
            fail "no usable /dev/kvm, and KVMINI_REQUIRE_KVM=1 forbids skipping"
        fi
        echo "SKIP: no usable /dev/kvm here (run through tests/run-kvm-tests to use the rig)"
        exit 77
    fi
    exec 9>&-
}

# require_root WHY: the test needs root (WHY says for what); like require_kvm, exit 77 (skipped)
# without it, unless KVMINI_REQUIRE_KVM=1 (CI, which runs guest tests as root in the rig): fail.
require_root() {
    if [ "$(id -u)" != 0 ]; then
        [ "${KVMINI_REQUIRE_KVM:-0}" = 1 ] && fail "needs root $1"
        echo "SKIP: needs root $1 (tests/run-kvm-tests runs it in the rig)"
        exit 77
    fi
}

# trace WHAT: one line in $KVMINI_TEST_TRACE (set by tests/run-kvm-tests), written before the step
# runs, so that when a whole rig stops the last line names the step it stopped in.
trace() {
    [ -z "${KVMINI_TEST_TRACE:-}" ] || printf '%s %s: %.300s\n' "$(date +%T)" "${0##*/}" "$*" \
        >>"$KVMINI_TEST_TRACE" 2>/dev/null || true
}

# run_kvmini ARGS...: runs kvmini with stdin from /dev/null; sets OUT, ERR and STATUS.
run_kvmini() {
    local out err
    trace "kvmini $*"
    out=$(mktemp) err=$(mktemp)
    STATUS=0
    # SIGTERM at the limit (kvmini stops cleanly: 143), SIGKILL 30 s later if even that hangs, so
    # a wedged VM fails its test instead of holding the whole run until the rig's own timeout.
    timeout -k 30 "${KVMINI_TEST_TIMEOUT:-120}" "$KVMINI" "$@" </dev/null >"$out" 2>"$err" ||
        STATUS=$?
    OUT=$(cat "$out") ERR=$(cat "$err")
    rm -f "$out" "$err"
    local shown="$*"
    [ ${#shown} -le 200 ] || shown="${shown:0:200}... (${#shown} chars)"
    echo "\$ kvmini $shown -> status $STATUS"
    [ -z "$OUT" ] || printf '  stdout: %s\n' "$OUT"
    [ -z "$ERR" ] || printf '  stderr: %s\n' "$ERR"
}

expect_status() {
    [ "$STATUS" = "$1" ] || fail "expected exit status $1, got $STATUS"
}

expect_out() {
    printf '%s' "$OUT" | grep -qF -- "$1" || fail "stdout lacks '$1'"
}

expect_err() {
    printf '%s' "$ERR" | grep -qF -- "$1" || fail "stderr lacks '$1'"
}

# sigterm_within PID SECONDS WHAT: SIGTERM to a kvmini started in the background, which must then
# end within SECONDS (else it is killed and the test fails, naming WHAT); sets STATUS.
sigterm_within() {
    local pid=$1 tenths=$(($2 * 10)) what=$3
    kill -TERM "$pid"
    while [ "$tenths" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
        sleep 0.1
        tenths=$((tenths - 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        fail "$what: kvmini did not stop within $2 s of SIGTERM"
    fi
    STATUS=0
    wait "$pid" || STATUS=$?
}

# wait_for_output FILE REGEX [SECONDS]: polls FILE until a line matches the extended REGEX (0), or
# KVMINI_PID has exited (1), or SECONDS (default 240) have passed (2).
wait_for_output() {
	local file=$1 re=$2 deadline=$((SECONDS + ${3:-240}))
	while ((SECONDS < deadline)); do
		grep -qE -- "$re" "$file" 2>/dev/null && return 0
		if ! kill -0 "$KVMINI_PID" 2>/dev/null; then
			grep -qE -- "$re" "$file" 2>/dev/null && return 0
			return 1
		fi
		sleep 0.1
	done
	return 2
}

# Exactly one line on stderr: the error, not a cascade.
expect_one_error_line() {
    [ "$(printf '%s\n' "$ERR" | grep -c .)" = 1 ] || fail "expected one line on stderr"
}
