#!/usr/bin/env bash
# test_loop_dryrun.sh - presaged --dry-run under the load that makes the
# real loop act (a replica group under rising load, a CPU-bound container
# with presage.cpu.max): every container stays exactly as it was (same set,
# pids, start times, CPU limits) while the daemon logs and publishes what it
# would do ("dry-run: ..." events, "dry-run: would ..." log lines).
set -u
cd "$(dirname "$0")/../.."
source tests/lib/tap.sh
source tests/lib/port.sh
source tests/integration/lib/dockerd.sh
source tests/integration/lib/loop.sh

loop_begin loopd "dry run" --live-restore

free_port port
loop_web web-1 "$port" web presage.enable=true presage.min=1 presage.max=3 presage.capacity=100
dk run -d --network none --name hot --cpus 0.3 --label presage.enable=true \
	--label presage.cpu.max=1 "$LOOP_IMAGE" busy 40 >/dev/null
state() {
	dk ps -a -q | sort
	dk inspect -f '{{.Name}} {{.State.Pid}} {{.State.StartedAt}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuQuota}}' \
		$(dk ps -a -q)
}
before=$(state)

loop_daemon '{ "tick_seconds": 0.5, "model_step_seconds": 1, "driver": "docker",
  "policy": { "default": "predictive", "time_scale": 60 }, "actuation": { "cooldown_seconds": 2 } }' --dry-run ||
	{ tap_fail "presaged --dry-run starts"; tap_done; exit 1; }
loop_load "$port" "$LOOP_TMP/load.csv" --shape 20,20,100,180,260,260,260,260,260,260,260,260 \
	--step-ms 2000 --max-requests 20000
would() { loop_events_json | jqe '[.[] | select(.message | test("^dry-run"))] |
	(map(select(.kind == "scale")) | length > 0) and (map(select(.kind == "resize")) | length > 0)'; }
wait_for 40 would
ev=$(loop_events_json)
tap_check "dry-run publishes the scale-ups it would do" \
	jqe '[.[] | select(.kind == "scale" and (.message | test("^dry-run")))] | length > 0' <<<"$ev"
tap_check "and the resizes it would do" \
	jqe '[.[] | select(.kind == "resize" and (.message | test("^dry-run")))] | length > 0' <<<"$ev"
jq -r '[.[] | select(.message | test("dry-run"))] | .[:4] | .[] | "# \(.message)"' <<<"$ev"
tap_check "the daemon logs them" grep -q "dry-run: would" "$PD_LOG"
tap_check "no event claims a real change" \
	jqe '[.[] | select((.kind == "scale" or .kind == "resize") and (.message | test("dry-run") | not))] | length == 0' <<<"$ev"
tap_check "every container is unchanged (set, pids, start times, CPU limits)" test "$(state)" = "$before"
tap_check "web still has one replica" test "$(loop_replicas web)" -eq 1
tap_done
