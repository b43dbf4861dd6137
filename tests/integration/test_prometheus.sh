#!/usr/bin/env bash
# test_prometheus.sh - a real Prometheus scrapes presaged: the CPU counter of
# a test cgroup whose workload has stopped matches the kernel's accounting
# within 5% after two scrape intervals, the run-queue histogram works with
# histogram_quantile, `promtool check metrics` accepts the exposition, and
# the endpoint survives hundreds of concurrent scrapes, slow clients and
# malformed requests while the daemon keeps ticking.
set -u
cd "$(dirname "$0")/../.."
source tests/lib/tap.sh
source tests/lib/port.sh
source tests/lib/cgroup.sh
B=${PRESAGE_BUILD:-build}
PRESAGED=$B/presaged
PRESAGE=$B/presage

for tool in prometheus promtool curl jq python3; do
	if ! command -v "$tool" >/dev/null; then
		tap_ok "prometheus suite # SKIP $tool is not installed"
		tap_done
		exit 0
	fi
done

tmp=$(mktemp -d /tmp/presage-prom-XXXXXX)
cleanup_push "rm -rf '$tmp'"
free_port mport
free_port pport
sock=$tmp/presage.sock
cg=presage-prom-$$
metrics_url=http://127.0.0.1:$mport/metrics
api=http://127.0.0.1:$pport/api/v1

# --- presaged ---
echo '{ "tick_seconds": 1 }' >"$tmp/presage.json"
"$PRESAGED" --config "$tmp/presage.json" --listen "127.0.0.1:$mport" --socket "$sock" \
	--state-dir "$tmp/state" --log-level info 2>"$tmp/presaged.log" &
dpid=$!
cleanup_push "kill_pid $dpid"
if ! wait_for 30 curl -fs -o /dev/null "$metrics_url"; then
	tap_fail "presaged serves /metrics" "$(tail -5 "$tmp/presaged.log")"
	tap_done
	exit 1
fi
tap_ok "presaged serves /metrics on 127.0.0.1:$mport"

# --- Prometheus, private port and data directory, scraping every second ---
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: presaged
    static_configs:
      - targets: ['127.0.0.1:$mport']
EOF
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
	--web.listen-address="127.0.0.1:$pport" --log.level=warn 2>"$tmp/prometheus.log" &
ppid_=$!
cleanup_push "kill_pid $ppid_"
query() { # PROMQL -> first value of the instant vector, or nothing
	curl -fs "$api/query" --data-urlencode "query=$1" 2>/dev/null |
		jq -r '.data.result[0].value[1] // empty'
}
target_up() { test "$(query 'up{job="presaged"}')" = 1; }
if ! wait_for 60 target_up; then
	tap_fail "Prometheus scrapes presaged" "$(tail -5 "$tmp/prometheus.log")"
	tap_done
	exit 1
fi
tap_ok "Prometheus scrapes presaged (up == 1)"

# --- a CPU workload in a test cgroup (v2 and v1 cpu,cpuacct, same path) ---
cg_create "$cg"
pids=()
for i in 1 2 3; do # three loops on two cores: CPU time and run-queue waits
	sh -c 'while :; do :; done' &
	pids+=($!)
	cleanup_push "kill_pid $!"
	cg_enter "$cg" "$!"
done
sleep 5
for p in "${pids[@]}"; do kill_pid "$p"; wait "$p" 2>/dev/null; done
sleep 3 # one tick for the last sample, then two scrape intervals
kernel=$(cg_cpu_seconds "$cg")
sel="container_name=\"$cg\""
prom_cpu=$(query "presage_container_cpu_usage_seconds_total{$sel}")
tap_check "Prometheus has presage_container_cpu_usage_seconds_total for $cg" test -n "$prom_cpu"
tap_within "Prometheus CPU counter matches the kernel's cpuacct" "${prom_cpu:-0}" "$kernel" 0.05
p99=$(query "histogram_quantile(0.99, rate(presage_container_runqueue_latency_seconds_bucket{$sel}[1m]))")
tap_check "histogram_quantile(0.99, runqueue latency) is a number ($p99 s)" \
	awk -v v="$p99" 'BEGIN { exit !(v != "" && v != "NaN" && v + 0 == v && v >= 0) }'

# --- the exposition itself ---
curl -fsS "$metrics_url" >"$tmp/metrics.txt"
lint=$(promtool check metrics <"$tmp/metrics.txt" 2>&1)
tap_check "promtool check metrics passes" test $? -eq 0 -a -z "$lint"
[ -n "$lint" ] && echo "# $lint" | head -5
for fam in presage_container_cpu_usage_seconds_total presage_container_runqueue_latency_seconds \
	presage_container_memory_working_set_bytes presage_container_network_receive_bytes_total \
	presage_bpf_events_total presage_ringbuf_dropped_events_total presage_build_info; do
	tap_check "family $fam has HELP and TYPE" \
		grep -q "^# TYPE $fam " "$tmp/metrics.txt"
done
tap_check "healthz answers ok" bash -c "curl -fsS http://127.0.0.1:$mport/healthz | grep -q '^ok'"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
tap_check "unknown path is 404" test "$(code "http://127.0.0.1:$mport/nope")" = 404
tap_check "POST is 405" test "$(code -X POST -d x "$metrics_url")" = 405
tap_check "HEAD /metrics is 200" test "$(code -I "$metrics_url")" = 200
big=$(head -c 100000 /dev/zero | tr '\0' a)
tap_check "oversized request headers are refused (431)" \
	test "$(code -H "X-Big: $big" "$metrics_url")" = 431

# --- faults: hundreds of concurrent scrapes, slow clients ---
seq0=$("$PRESAGE" --socket "$sock" status -o json | jq -r .snapshot_seq)
seq 300 | xargs -P 300 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 "$metrics_url" \
	>"$tmp/codes.txt"
ok=$(grep -c '^200$' "$tmp/codes.txt")
tap_check "300 concurrent scrapes: $ok answered 200, none failed with a server error" \
	bash -c "! grep -q '^5' '$tmp/codes.txt' && [ $ok -ge 250 ]"
python3 - "$mport" >"$tmp/slow.txt" 2>&1 <<'EOF'
import socket, sys, time, urllib.request
port = int(sys.argv[1])
slow = []
for _ in range(50):  # each sends half a request and then nothing
    s = socket.create_connection(("127.0.0.1", port))
    s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    slow.append(s)
t = time.time()
r = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5)
print("status", r.status, "seconds %.3f" % (time.time() - t))
EOF
tap_check "a scrape is served while 50 slow clients hold connections ($(cat "$tmp/slow.txt"))" \
	grep -q '^status 200' "$tmp/slow.txt"
sleep 2
seq1=$("$PRESAGE" --socket "$sock" status -o json | jq -r .snapshot_seq)
tap_check "telemetry kept ticking through the storm (snapshot $seq0 -> $seq1)" \
	test "${seq1:-0}" -gt "${seq0:-0}"
tap_check "presaged is still running" kill -0 "$dpid"

# --- removed containers disappear from the output ---
cg_remove "$cg"
gone() { ! curl -fsS "$metrics_url" 2>/dev/null | grep -q "container_name=\"$cg\""; }
wait_for 15 gone
tap_check "a removed cgroup leaves /metrics" gone
tap_done
