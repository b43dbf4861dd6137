#!/usr/bin/env bash
# test_loop_outage.sh - dockerd (non-swarm, --live-restore) stopped and
# restarted under a running presaged whose replica group is under rising
# load: the daemon keeps sampling during the outage (snapshot_seq advances),
# logs the outage and the recovery once each, resumes acting once dockerd is
# back, and does not duplicate actions (each scale-up event matches exactly
# the replicas that exist; no half-created container is left behind).
set -u
cd "$(dirname "$0")/../.."
source tests/lib/tap.sh
source tests/lib/port.sh
source tests/integration/lib/dockerd.sh
source tests/integration/lib/loop.sh

loop_begin loopo "dockerd outage" --live-restore

free_port port
loop_web web-1 "$port" web presage.enable=true presage.min=1 presage.max=3 presage.capacity=100
loop_daemon '{ "tick_seconds": 0.5, "model_step_seconds": 1, "driver": "docker",
  "policy": { "default": "predictive", "time_scale": 60 }, "actuation": { "cooldown_seconds": 2 } }' ||
	{ tap_fail "presaged starts"; tap_done; exit 1; }
seq_of() { pg status -o json | jq -r '.snapshot_seq // 0'; }
sleep 4
tap_check "the daemon is sampling before the outage" test "$(seq_of)" -gt 0

# The outage: load rises while dockerd is away, so the loop wants to act.
dockerd_stop
seq0=$(seq_of)
loop_load "$port" "$LOOP_TMP/load.csv" --shape 30,100,180,250,250,250,250,250,250,250,250,250,250,250,250,250,250,250,250,250 \
	--step-ms 2000 --max-requests 40000
sleep 8
seq1=$(seq_of)
tap_check "snapshot_seq advances during the outage ($seq0 -> $seq1)" test "$seq1" -gt "$seq0"
tap_check "web-1 keeps serving (live restore)" curl -fsS -o /dev/null "http://127.0.0.1:$port/"
dockerd_start_again || { tap_fail "dockerd starts again"; tap_done; exit 1; }
echo "$DOCKERD_PID" >"$DOCKERD_DIR/pid"

grown() { [ "$(loop_replicas web)" -ge 2 ]; }
wait_for 40 grown
tap_check "acting resumes once dockerd is back ($(loop_replicas web) replicas)" grown
sleep 6 # let any further step of the loop land
# the event stream reconnects as soon as another request finds dockerd back
recovered() { grep -q "runtime is back" "$PD_LOG"; }
wait_for 20 recovered
down=$(grep -c "runtime unreachable" "$PD_LOG")
up=$(grep -c "runtime is back" "$PD_LOG")
tap_check "the outage is logged once ($down) and the recovery once ($up)" test "$down" -eq 1 -a "$up" -eq 1
ev=$(loop_events_json)
n_out=$(jq '[.[] | select(.kind == "runtime" and .action == "outage")] | length' <<<"$ev")
tap_check "and published once on the bus ($n_out)" test "$n_out" -eq 1

# No duplicates: the scale-ups chain (each starts where the last ended) and
# the managed containers are exactly what they added, all running.
added=$(jq '[.[] | select(.service == "web" and .action == "scale_up") | .message |
	capture("replicas (?<a>[0-9]+) -> (?<b>[0-9]+)") | (.b | tonumber) - (.a | tonumber)] | add // 0' <<<"$ev")
removed=$(jq '[.[] | select(.service == "web" and .action == "scale_down") | .message |
	capture("replicas (?<a>[0-9]+) -> (?<b>[0-9]+)") | (.a | tonumber) - (.b | tonumber)] | add // 0' <<<"$ev")
managed=$(dk ps -a -q --filter label=presage.service=web --filter label=presage.managed-by=presage | wc -l)
running=$(dk ps -q --filter label=presage.service=web --filter label=presage.managed-by=presage | wc -l)
jq -r '.[] | select(.kind == "scale" or .kind == "runtime") | "# \(.kind) \(.action): \(.message)"' <<<"$ev"
tap_check "managed replicas = added - removed by events ($managed = $added - $removed)" \
	test "$managed" -eq $((added - removed))
tap_check "every managed replica runs (none half-created: $running of $managed)" test "$running" -eq "$managed"
tap_check "replica names are unique" \
	test "$(dk ps -a --filter label=presage.service=web --format '{{.Names}}' | sort | uniq -d)" = ""
tap_check "within max 3 ($(loop_replicas web))" test "$(loop_replicas web)" -le 3
tap_done
