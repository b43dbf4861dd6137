#!/usr/bin/env bash
# test_cli.sh - every presage command in table and JSON form against a
# running presaged (status, top --once and live, events and --follow,
# explain, fingerprint, forecast), `config check` on good and bad files, and
# the errors: daemon not running, protocol version mismatch, usage.
set -u
cd "$(dirname "$0")/../.."
source tests/lib/tap.sh
source tests/lib/cgroup.sh
source tests/lib/daemon.sh
B=${PRESAGE_BUILD:-build}
PRESAGED=$B/presaged
PRESAGE=$B/presage

tmp=$(mktemp -d /tmp/presage-cli-XXXXXX)
cleanup_push "rm -rf '$tmp'"
sock=$tmp/presage.sock
cg=presage-cli-$$
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
P() { "$PRESAGE" --socket "$sock" "$@"; }
json_ok() { jq -e "$1" >/dev/null 2>&1; }   # reads stdin
width_ok() { awk 'length > 100 { bad = 1 } END { exit bad }'; } # reads stdin

# --- without a daemon ---
err=$(P status 2>&1 >/dev/null)
rc=$?
tap_check "no daemon: exit 1" test $rc -eq 1
tap_check "no daemon: one-line 'cannot reach presaged at <socket>: <reason>'" \
	test "$(wc -l <<<"$err")" -eq 1 -a "${err#presage: cannot reach presaged at $sock: }" != "$err"
P top --once -o json >/dev/null 2>&1
tap_check "no daemon: top fails with exit 1" test $? -eq 1
"$PRESAGE" frobnicate >/dev/null 2>&1
tap_check "unknown command: exit 2" test $? -eq 2
P top --sort nonsense >/dev/null 2>&1
tap_check "bad option value: exit 2" test $? -eq 2

# --- sim (offline) ---
{
	echo timestamp,value
	for i in $(seq 0 199); do
		v=40
		((i >= 100 && i < 130)) && v=400 # an unannounced step
		echo "$((1700000000 + 60 * i)),$v"
	done
} >"$tmp/trace.csv"
json=$("$PRESAGE" sim --trace "$tmp/trace.csv" --policy reactive --capacity 20 --startup 120 \
	--decisions-out "$tmp/dec.csv" -o json 2>/dev/null)
tap_check "sim: runs on a CSV trace" test $? -eq 0
tap_check "sim --decisions-out: header with the forecast bands, latency and violation" \
	test "$(head -1 "$tmp/dec.csv")" = "timestamp,demand,forecast,replicas_requested,replicas_ready,forecast_upper,window_upper,latency_ms,violated"
tap_check "sim --decisions-out: one row of 9 fields per step" \
	test "$(awk -F, 'NR > 1 && NF == 9' "$tmp/dec.csv" | wc -l)" -eq 200
nviol=$(awk -F, 'NR > 1 && $9 == 1' "$tmp/dec.csv" | wc -l)
pct=$(jq -r '.[0].slo_violation_pct' <<<"$json")
tap_check "sim --decisions-out: violated rows ($nviol) match slo_violation_pct ($pct)" \
	awk -v n="$nviol" -v p="$pct" 'BEGIN { exit !(n > 0 && (n / 200 * 100 - p) ^ 2 < 1e-6) }'
tap_check "sim --decisions-out: the step is overloaded (latency inf) on ready replicas" \
	grep -q ',inf,1$' "$tmp/dec.csv"

# --- config check (offline) ---
out=$("$PRESAGE" config check config/presage.json 2>&1)
tap_check "config check: the shipped config is valid ($out)" test $? -eq 0
cat >"$tmp/bad.json" <<'EOF'
{ "tick_seconds": 0, "telemetry": { "tikc": 3 }, "driver": "k8s",
  "services": { "web": { "min": 5, "max": 3 } } }
EOF
err=$("$PRESAGE" config check "$tmp/bad.json" 2>&1)
rc=$?
tap_check "config check: a bad file exits 1" test $rc -eq 1
tap_check "config check: every error on its own line (4)" test "$(grep -c "^presage: $tmp/bad.json: " <<<"$err")" -eq 4
tap_check "config check: unknown key named by path" grep -q 'unknown key "telemetry.tikc"' <<<"$err"
tap_check "config check: bounds explained" grep -q '"tick_seconds" = 0 is out of bounds' <<<"$err"
printf '{ "tick_seconds": 1,\n  oops }' >"$tmp/syntax.json"
err=$("$PRESAGE" config check "$tmp/syntax.json" 2>&1)
tap_check "config check: a JSON syntax error names the line" grep -q 'invalid JSON at line 2' <<<"$err"
"$PRESAGE" config check "$tmp/absent.json" >/dev/null 2>&1
tap_check "config check: a missing file exits 1" test $? -eq 1

# --- a fake daemon of protocol 2 ---
python3 - "$tmp/v2.sock" <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(4)
for _ in range(2):
    c, _ = s.accept()
    c.makefile().readline()
    c.sendall(b'{"v":2,"ok":true,"data":{}}\n')
    c.close()
EOF
fake=$!
cleanup_push "kill_pid $fake"
wait_for 10 test -S "$tmp/v2.sock"
err=$("$PRESAGE" --socket "$tmp/v2.sock" status 2>&1)
rc=$?
tap_check "protocol mismatch: exit 1 and both versions named" \
	test $rc -eq 1 -a "$err" = "presage: presaged speaks protocol 2, this presage speaks 1: use matching presage and presaged versions"

# --- a running daemon with a workload in a test cgroup ---
cat >"$tmp/presage.json" <<EOF
{ "tick_seconds": 0.5, "model_step_seconds": 1 }
EOF
if ! daemon_start "$sock" "$tmp/presaged.log" 30 "$PRESAGED" --config "$tmp/presage.json" \
	--socket "$sock" --state-dir "$tmp/state" --listen "127.0.0.1:$port" --log-level info; then
	tap_fail "daemon starts" "$DAEMON_TAIL"
	tap_done
	exit 1
fi
dpid=$DAEMON_PID
ready() { P status -o json 2>/dev/null | jq -e '.ready == true' >/dev/null; }
wait_for 30 ready # the first snapshot: telemetry is attached
cg_create "$cg"
sh -c 'while :; do :; done' &
busy=$!
cleanup_push "kill_pid $busy"
cg_enter "$cg" "$busy"
listed() { P top --once -o json 2>/dev/null | jq -e --arg n "$cg" 'any(.[]; .name == $n)' >/dev/null; }
wait_for 20 listed
tap_check "the test cgroup is tracked" listed

# status
out=$(P status)
tap_check "status (table): names the driver and programs" grep -q '^programs: ' <<<"$out"
tap_check "status (table) fits 100 columns" width_ok <<<"$out"
P status -o json | json_ok '.ready == true and (.programs_attached | type == "number") and (.containers >= 1)'
tap_check "status (json): ready, programs_attached, containers" test $? -eq 0

# top
out=$(P top --once)
tap_check "top --once (table): header and the test cgroup" \
	bash -c "head -1 <<<'$(head -1 <<<"$out")' | grep -q '^NAME ' && grep -q '^$cg' <<<'$out'"
tap_check "top --once (table) fits 100 columns" width_ok <<<"$out"
json=$(P top --once -o json)
tap_check "top --once -o json: an array of objects" json_ok 'type == "array" and length >= 1' <<<"$json"
entry=$(jq -c --arg n "$cg" '.[] | select(.name == $n)' <<<"$json")
for k in id name cgroup cgroup_id image service cpu_seconds_total cpu_cores context_switches_total \
	runqueue_latency_p99_seconds memory_working_set_bytes fs_read_bytes_total fs_write_bytes_total \
	net_rx_bytes_total net_tx_bytes_total oom_kills_total cpu_usage_seconds_total \
	network_receive_bytes_total requests_per_second forecast_cpu_cores anomaly_score; do
	json_ok "has(\"$k\")" <<<"$entry" || tap_fail "top -o json: key $k present"
done
tap_ok "top -o json: every documented key is present"
tap_check "top -o json: cgroup is the v2 path, cgroup_id the v2 id" \
	json_ok ".cgroup == \"/$cg\" and .cgroup_id == $(cg_id "$cg")" <<<"$entry"
tap_check "top -o json: missing values are null, never 0 in their place" \
	json_ok '.requests_per_second == null or (.requests_per_second | type == "number")' <<<"$entry"
P top --once --sort mem >/dev/null && P top --once --sort name >/dev/null
tap_check "top --sort mem / name" test $? -eq 0
live=$(timeout -s INT 3.2 "$PRESAGE" --socket "$sock" top -n 1)
tap_check "top (live) refreshes ($(grep -c '^presage top' <<<"$live") screens in 3 s)" \
	test "$(grep -c '^presage top' <<<"$live")" -ge 2
timeout -s INT 2.2 "$PRESAGE" --socket "$sock" top -n 1 -o json >"$tmp/live.json"
tap_check "top (live) -o json: one array per line ($(wc -l <"$tmp/live.json") lines)" \
	bash -c "[ \$(wc -l <'$tmp/live.json') -ge 2 ] && jq -e 'type == \"array\"' <'$tmp/live.json' >/dev/null"

# events: a SIGHUP reload is a config event on the bus
kill -HUP "$dpid"
reloaded() { P events -o json | jq -e 'any(.[]; .kind == "config")' >/dev/null; }
wait_for 10 reloaded
tap_check "events -o json: an array with the reload event" reloaded
out=$(P events)
tap_check "events (table): header and rows" bash -c "head -1 <<<'$out' | grep -q '^TIME ' && [ \$(wc -l <<<'$out') -ge 2 ]"
tap_check "events (table) fits 100 columns" width_ok <<<"$out"
( sleep 1.2; kill -HUP "$dpid" ) &
follow=$(timeout -s INT 3 "$PRESAGE" --socket "$sock" events --follow -o json --limit 1)
tap_check "events --follow -o json: the new reload arrives as a JSON line" \
	bash -c "[ \$(grep -c '\"kind\":\"config\"' <<<'$follow') -ge 2 ]"

# explain
out=$(P explain "$cg")
tap_check "explain (table): names the container and its last decision" \
	bash -c "head -1 <<<'$out' | grep -q '$cg' && grep -q '^last decision: ' <<<'$out'"
P explain "$cg" -o json | json_ok '(.decision == null or (.decision | type == "object")) and has("name")'
tap_check "explain -o json: decision and name" test $? -eq 0
err=$(P explain no-such-container-$$ 2>&1)
tap_check "explain of an unknown name: exit 1, one line" \
	test $? -eq 1 -a "$(wc -l <<<"$err")" -eq 1

# forecast (live form of the engine's command)
has_fc() { P forecast "$cg" -o json >/dev/null 2>&1; }
wait_for 30 has_fc
out=$(P forecast "$cg" --horizon 4)
tap_check "forecast NAME (table): a header and 4 rows" \
	test "$(grep -c '^20[0-9][0-9]-' <<<"$out")" -eq 4 -a -n "$(grep FORECAST <<<"$out")"
P forecast "$cg" --horizon 4 -o json | json_ok '(.points | length) == 4 and .metric == "cpu_cores"'
tap_check "forecast NAME -o json: 4 points of cpu_cores" test $? -eq 0
out=$(P forecast "$cg" --metric memory_bytes --horizon 2 -o csv)
tap_check "forecast NAME -o csv: header and 2 rows" \
	test "$(head -1 <<<"$out")" = "timestamp,forecast,lower,upper" -a "$(wc -l <<<"$out")" -eq 3

# fingerprint (the first one after a few dozen model steps)
has_fp() { P fingerprint "$cg" -o json >/dev/null 2>&1; }
wait_for 90 has_fp
P fingerprint "$cg" -o json | json_ok 'type == "object" and (.features | type == "object")'
tap_check "fingerprint -o json: an object with features" test $? -eq 0
out=$(P fingerprint "$cg")
tap_check "fingerprint (table): key: value lines" grep -q '^features:' <<<"$out"
err=$(P fingerprint no-such-container-$$ 2>&1)
tap_check "fingerprint of an unknown name: exit 1, one line" \
	test $? -eq 1 -a "$(wc -l <<<"$err")" -eq 1

# daemon gone again
kill_pid "$dpid"
wait "$dpid" 2>/dev/null
err=$(P status 2>&1)
tap_check "after the daemon stopped: cannot reach presaged" grep -q "^presage: cannot reach presaged at $sock: " <<<"$err"
tap_done
