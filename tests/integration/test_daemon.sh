#!/usr/bin/env bash
# test_daemon.sh - presaged end to end on this kernel: flags, config errors,
# live CPU accounting of a test cgroup through `presage top` and /metrics,
# cgroup churn leaving nothing behind, SIGHUP reload, clean SIGTERM exit.
set -u
cd "$(dirname "$0")/../.."
source tests/lib/tap.sh
source tests/lib/port.sh
source tests/lib/cgroup.sh
source tests/lib/daemon.sh
B=${PRESAGE_BUILD:-build}
PRESAGED=$B/presaged
PRESAGE=$B/presage

tmp=$(mktemp -d /tmp/presage-daemon-XXXXXX)
cleanup_push "rm -rf '$tmp'"
free_port port
sock=$tmp/presage.sock
name=presage-t-$$

# --- flags and config errors (no root needed) ---
"$PRESAGED" --no-such-flag >/dev/null 2>&1
tap_check "unknown flag exits 2" test $? -eq 2
"$PRESAGED" --version | grep -q '^presaged '
tap_check "--version prints the version" test $? -eq 0
echo '{"tick_seconds": 1, "telemetry": {"tikc": 3}}' >"$tmp/bad.json"
err=$("$PRESAGED" --config "$tmp/bad.json" --socket "$sock" --state-dir "$tmp/state" 2>&1 >/dev/null)
rc=$?
tap_check "config with an unknown key is rejected (exit 1)" test $rc -eq 1
tap_check "the error names the unknown key" grep -q 'telemetry.tikc' <<<"$err"
"$PRESAGED" --config "$tmp/missing.json" >/dev/null 2>&1
tap_check "a missing --config file is an error" test $? -eq 1

# --- a running daemon ---
cat >"$tmp/good.json" <<EOF
{ "tick_seconds": 0.5, "model_step_seconds": 2 }
EOF
if ! daemon_start "$sock" "$tmp/daemon.log" 20 "$PRESAGED" --config "$tmp/good.json" \
	--socket "$sock" --state-dir "$tmp/state" --listen "127.0.0.1:$port" --log-level info; then
	tap_fail "daemon starts and opens its socket" "$DAEMON_TAIL"
	tap_done
	exit 1
fi
dpid=$DAEMON_PID
tap_ok "daemon starts and opens its socket"
tap_check "control socket is mode 0600" test "$(stat -c %a "$sock")" = 600

status=$("$PRESAGE" --socket "$sock" status -o json)
attached=$(jq -r '.programs_attached' <<<"$status")
total=$(jq -r '.programs_total' <<<"$status")
tap_check "status: every BPF program attached ($attached/$total)" \
	test "$attached" -gt 0 -a "$attached" = "$total"

# A light, steady workload the engine learns while the rest of the test runs.
cg_create "$name-fc"
sh -c 'while :; do sleep 0.01; done' &
light=$!
cleanup_push "kill_pid $light"
cg_enter "$name-fc" "$light"

cg_create "$name"
sh -c 'while :; do :; done' &
busy=$!
cleanup_push "kill_pid $busy"
cg_enter "$name" "$busy"
sleep 4
kill_pid "$busy"
wait "$busy" 2>/dev/null
sleep 1.5 # two ticks after the workload stopped
kernel=$(cg_cpu_seconds "$name")
top=$("$PRESAGE" --socket "$sock" top --once -o json)
entry=$(jq -c --arg c "/$name" '.[] | select(.cgroup == $c)' <<<"$top")
tap_check "top lists the test cgroup" test -n "$entry"
seen=$(jq -r '.cpu_seconds_total' <<<"$entry")
tap_within "top: cpu_seconds_total matches cpuacct" "$seen" "$kernel" 0.05
tap_check "top: cgroup_id is the v2 id" test "$(jq -r .cgroup_id <<<"$entry")" = "$(cg_id "$name")"
tap_check "top: missing values are null, not 0" \
	test "$(jq -r '.requests_per_second' <<<"$entry")" = null -o \
	"$(jq -r '.requests_per_second' <<<"$entry")" != 0
metrics=$(curl -fsS "http://127.0.0.1:$port/metrics")
line=$(grep '^presage_container_cpu_usage_seconds_total{' <<<"$metrics" | grep "container_name=\"$name\"")
tap_check "/metrics serves the CPU counter of the test cgroup" test -n "$line"
tap_within "/metrics CPU counter matches cpuacct" "$(awk '{print $NF}' <<<"$line")" "$kernel" 0.05
cg_remove "$name"

# --- churn: 200 cgroups born and removed leave nothing behind ---
base=$("$PRESAGE" --socket "$sock" status -o json | jq -r '.containers')
cleanup_push "for d in $CG_V2/$name-churn-*; do rmdir \$d; done"
for i in $(seq 200); do
	mkdir "$CG_V2/$name-churn-$i"
	# a short task in each, so the BPF programs create map entries for it
	sleep 0.2 &
	echo $! >"$CG_V2/$name-churn-$i/cgroup.procs" 2>/dev/null
	churn_pids="${churn_pids:-} $!"
done
# shellcheck disable=SC2086
wait $churn_pids
sleep 1
mid=$("$PRESAGE" --socket "$sock" status -o json | jq -r '.containers')
tap_check "churn: the daemon tracked the new cgroups ($mid > $base)" test "$mid" -ge $((base + 150))
for i in $(seq 200); do rmdir "$CG_V2/$name-churn-$i"; done
gone() { test "$("$PRESAGE" --socket "$sock" status -o json | jq -r '.containers')" -le "$base"; }
wait_for 30 gone
tap_check "churn: every removed cgroup left the daemon's memory" gone
maps=$("$PRESAGE" --socket "$sock" status -o json | jq -r '.bpf_map_entries // empty')
tap_check "churn: BPF maps hold no entry of a removed cgroup ($maps entries)" \
	test -n "$maps" -a "${maps:-99999}" -le $((base + 8))

# --- the engine: live forecast, explain and the model families ---
fc=$("$PRESAGE" --socket "$sock" forecast "$name-fc" --horizon 3 -o json)
tap_check "forecast: 3 points with intervals for a live cgroup" \
	jq -e '(.points | length) == 3 and all(.points[]; .lower <= .forecast and .forecast <= .upper)' \
	<<<"$fc"
tap_check "forecast: the metric defaults to cpu_cores" test "$(jq -r .metric <<<"$fc")" = cpu_cores
"$PRESAGE" --socket "$sock" forecast "$name-fc" --metric nonsense >/dev/null 2>&1
tap_check "forecast: an unknown metric fails (exit 1)" test $? -eq 1
"$PRESAGE" --socket "$sock" forecast "$name-fc" --horizon 5x >/dev/null 2>&1
tap_check "forecast: a bad horizon is a usage error (exit 2)" test $? -eq 2
metrics=$(curl -fsS "http://127.0.0.1:$port/metrics")
tap_check "/metrics: presage_forecast with bounds for the cgroup" \
	grep -q "^presage_forecast{.*container_name=\"$name-fc\".*bound=\"upper\"" <<<"$metrics"
tap_check "/metrics: presage_anomaly_score for the cgroup" \
	grep -q "^presage_anomaly_score{.*container_name=\"$name-fc\"" <<<"$metrics"

# --- SIGHUP: a bad config is rejected and the daemon keeps running ---
cp "$tmp/bad.json" "$tmp/good.json.new"
cp "$tmp/good.json" "$tmp/good.json.bak"
mv "$tmp/good.json.new" "$tmp/good.json"
kill -HUP "$dpid"
sleep 1
tap_check "SIGHUP with a bad config: daemon still running" kill -0 "$dpid"
tap_check "SIGHUP with a bad config: rejection logged" grep -q 'reload rejected' "$tmp/daemon.log"
mv "$tmp/good.json.bak" "$tmp/good.json"
kill -HUP "$dpid"
sleep 1
tap_check "SIGHUP with a good config: reloaded" grep -q 'configuration reloaded' "$tmp/daemon.log"

# --- SIGTERM: clean exit ---
kill -TERM "$dpid"
wait "$dpid"
tap_check "SIGTERM: exit status 0" test $? -eq 0
tap_check "SIGTERM: socket removed" test ! -e "$sock"
tap_done
