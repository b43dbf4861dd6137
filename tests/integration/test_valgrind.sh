#!/usr/bin/env bash
# test_valgrind.sh - presaged's steady state under valgrind memcheck: start,
# sample a working test cgroup (its process in a network namespace of its
# own, as a container's, so the namespace set is used) for a while, answer
# the CLI and a scrape, reload, stop.  No memory error and no leak may be reported.
set -u
cd "$(dirname "$0")/../.."
source tests/lib/tap.sh
source tests/lib/port.sh
source tests/lib/cgroup.sh
source tests/lib/daemon.sh
B=${PRESAGE_BUILD:-build}

if ! command -v valgrind >/dev/null; then
	tap_fail "valgrind is installed (make deps)"
	tap_done
	exit 1
fi
tmp=$(mktemp -d /tmp/presage-vg-XXXXXX)
cleanup_push "rm -rf '$tmp'"
free_port port
sock=$tmp/s.sock
name=presage-vg-$$
echo '{ "tick_seconds": 0.5, "model_step_seconds": 1 }' >"$tmp/c.json"

if ! daemon_start "$sock" "$tmp/vg.log" 120 valgrind --error-exitcode=9 --leak-check=full \
	--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
	--suppressions=tests/valgrind.supp "$B/presaged" --config "$tmp/c.json" --socket "$sock" \
	--state-dir "$tmp/state" --listen "127.0.0.1:$port"; then
	tap_fail "presaged starts under valgrind" "$DAEMON_TAIL"
	tap_done
	exit 1
fi
vpid=$DAEMON_PID
tap_ok "presaged starts under valgrind"

cg_create "$name"
unshare --net sh -c 'while :; do :; done' &
busy=$!
cleanup_push "kill_pid $busy"
cg_enter "$name" "$busy"
# Steady state: ticks, model steps, CLI requests, scrapes, a reload.
for i in $(seq 10); do
	sleep 2
	"$B/presage" --socket "$sock" top --once -o json >/dev/null 2>&1
	curl -fsS "http://127.0.0.1:$port/metrics" >/dev/null 2>&1
	[ "$i" = 5 ] && kill -HUP "$vpid"
done
"$B/presage" --socket "$sock" top --once -o json | jq -e --arg c "/$name" \
	'[.[] | select(.cgroup == $c)] | length == 1' >/dev/null
tap_check "the test cgroup was sampled under valgrind" test $? -eq 0
"$B/presage" --socket "$sock" status -o json | jq -e '.network_namespaces >= 1' >/dev/null
tap_check "the namespace set holds the test cgroup's network namespace" test $? -eq 0
"$B/presage" --socket "$sock" fingerprint "$name" -o json >/dev/null 2>&1
"$B/presage" --socket "$sock" explain "$name" -o json >/dev/null 2>&1
kill_pid "$busy"
kill -TERM "$vpid"
wait "$vpid"
rc=$?
tap_check "presaged exits cleanly under valgrind (status $rc)" test "$rc" -eq 0
tap_check "its network namespace was entered without a warning" \
	sh -c "! grep -q 'network namespace' '$tmp/vg.log'"
tap_check "valgrind: no memory errors" grep -q "ERROR SUMMARY: 0 errors" "$tmp/vg.log"
tap_check "valgrind: no leaks" grep -Eq "no leaks are possible|definitely lost: 0 bytes" "$tmp/vg.log"
[ "$TAP_FAILED" -gt 0 ] && grep -A12 -E "Invalid|uninitialised|definitely lost" "$tmp/vg.log" | head -60
tap_done
