#!/usr/bin/env bash
# test_loop_swarm.sh - the closed loop on a Swarm service.
#
# A private dockerd becomes a one-node swarm.  Service `sweb` (host network,
# SO_REUSEPORT servers burning 2 ms of CPU per request) carries the presage
# labels on the *service* (`docker service create --label`: its task
# containers do not have them): enable, min 1, max 3, cpu.max 0.5 and
# reactive policy, but no capacity: presaged must learn it (0.5 core at 2 ms
# per request: about 250 req/s per replica).  Service `soff` has labels
# (capacity 100) but not presage.enable.  Under rising
# `Connection: close` load presaged must scale sweb up through the service
# API (Spec.Mode.Replicated.Replicas, tasks running), scale it down when the
# load is gone, resize its task container in place within cpu.max (the
# service spec keeps its limits: changing them would restart the tasks), say
# so in `presage events` / `presage explain sweb`, and leave soff alone.
set -u
cd "$(dirname "$0")/../.."
source tests/lib/tap.sh
source tests/lib/port.sh
source tests/integration/lib/dockerd.sh
source tests/integration/lib/loop.sh

# Swarm makes a docker_gwbridge link in the host's namespace and leaves it
# when the daemon stops: remove it afterwards unless it was there before.
ip link show docker_gwbridge >/dev/null 2>&1 ||
	cleanup_push "ip link show docker_gwbridge >/dev/null 2>&1 && ip link delete docker_gwbridge"
loop_begin loops "swarm"
free_port sp
if ! dk swarm init --advertise-addr "127.0.0.1:$sp" --listen-addr "127.0.0.1:$sp" \
	--data-path-port $((sp + 1)) >/dev/null 2>&1; then
	tap_fail "docker swarm init"
	tap_done
	exit 1
fi

free_port port
# svc NAME PORT WORK_US LABELS...: a replicated service of one http_reuseport task.
svc() {
	local name=$1 p=$2 work=$3 l labels=()
	shift 3
	for l in "$@"; do labels+=(--label "$l"); done
	dk service create --detach --no-resolve-image --name "$name" --network host \
		--replicas 1 --stop-grace-period 2s "${labels[@]}" \
		"$LOOP_IMAGE" http_reuseport --port "$p" --threads 2 --work-us "$work" >/dev/null
}
common=(presage.min=1 presage.max=3 presage.policy=reactive)
svc sweb "$port" 2000 presage.enable=true presage.cpu.max=0.5 "${common[@]}" ||
	{ tap_fail "service sweb created"; tap_done; exit 1; }
svc soff $((port + 1)) 0 presage.capacity=100 "${common[@]}" ||
	{ tap_fail "service soff created"; tap_done; exit 1; }
listening() { ss -Hltn "sport = :$port" | grep -q . && ss -Hltn "sport = :$((port + 1))" | grep -q .; }
wait_for 60 listening || { tap_fail "both services' first tasks listen"; tap_done; exit 1; }

spec_replicas() { dk service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' "$1"; }
running_tasks() { dk service ps -q --filter desired-state=running "$1" | while read -r t; do
	dk inspect -f '{{.Status.State}}' "$t"; done | grep -c '^running$'; }

# The first task's container: resized in place later, never restarted.
task0=$(dk ps -q --no-trunc --filter label=com.docker.swarm.service.name=sweb | head -1)
task0_start=$(dk inspect -f '{{.State.StartedAt}}' "$task0")

loop_daemon '{ "tick_seconds": 0.5, "model_step_seconds": 1, "driver": "docker",
  "policy": { "time_scale": 60 }, "actuation": { "cooldown_seconds": 2 } }' ||
	{ tap_fail "presaged starts"; tap_done; exit 1; }

# 20 req/s, a ramp to 260 req/s (needs 3 at target 0.7), a hold, then back to 10.
shape=$(awk 'BEGIN { for (t = 0; t <= 70; t++) {
	v = t < 8 ? 20 : t < 20 ? 20 + 240 * (t - 8) / 12 : t < 36 ? 260 : 10
	printf "%s%d", (t > 0 ? "," : ""), v } }')
loop_load "$port" "$LOOP_TMP/on.csv" --shape "$shape" --step-ms 1000 --max-requests 40000
lon=$LOAD_PID
loop_load $((port + 1)) "$LOOP_TMP/off.csv" --shape "$shape" --step-ms 1000 --max-requests 40000
loff=$LOAD_PID

peak=1
grown() { local n; n=$(spec_replicas sweb); [ "$n" -gt "$peak" ] && peak=$n; [ "$n" -ge 2 ]; }
wait_for 40 grown
up=$(spec_replicas sweb)
tap_check "under load presaged scales the Swarm service up through the service API (1 -> $up)" \
	test "$up" -ge 2
tasks_up() { [ "$(running_tasks sweb)" -ge 2 ]; }
wait_for 30 tasks_up
tap_check "the new tasks run ($(running_tasks sweb) running)" tasks_up
shrunk() { local n; n=$(spec_replicas sweb); [ "$n" -gt "$peak" ] && peak=$n; [ "$n" -lt "$peak" ]; }
wait_for 60 shrunk
down=$(spec_replicas sweb)
tap_check "when the load is gone it scales down ($peak -> $down)" test "$down" -lt "$peak"
tap_check "within min 1 and max 3 (peak $peak, now $down)" test "$peak" -le 3 -a "$down" -ge 1
wait "$lon" "$loff" 2>/dev/null

ev=$(loop_events_json)
ex=$(pg explain sweb -o json)
jq -r '.[] | select(.service == "sweb" or .service == "soff") | select(.kind == "scale") |
	"# \(.service) \(.action): \(.message) (\(.reason))"' <<<"$ev"
tap_check "presage events lists the scale-ups and scale-downs of sweb" jqe \
	'([.[] | select(.service == "sweb" and .action == "scale_up")] | length) >= 1 and
	 ([.[] | select(.service == "sweb" and .action == "scale_down")] | length) >= 1' <<<"$ev"
tap_check "presage explain sweb names its last action ($(jq -r .decision.action <<<"$ex"))" \
	jqe '.decision.action | test("^(scale_|resize)")' <<<"$ex"
cap=$(jq -r '.current.inputs.capacity' <<<"$ex")
tap_check "its capacity was learnt, not labelled ($cap req/s per replica; 0.5 core at 2 ms per request is 250)" \
	jqe '.current.inputs.capacity_learned and .current.inputs.capacity > 100 and .current.inputs.capacity < 400' <<<"$ex"
t0=$(dk inspect -f '{{.HostConfig.NanoCpus}} {{.State.Running}} {{.State.StartedAt}}' "$task0")
read -r t0_nano t0_run t0_start <<<"$t0"
tap_check "sweb's task was resized in place under the service's labels ($t0_nano NanoCpus, cpu.max 0.5)" \
	test "${t0_nano:-0}" -gt 0 -a "${t0_nano:-0}" -le 500000000
tap_check "without a restart (running $t0_run, started $t0_start, before $task0_start)" \
	test "$t0_run" = true -a "$t0_start" = "$task0_start"
tap_check "presage events lists the resize of sweb's task" jqe \
	'any(.[]; .service == "sweb" and .kind == "resize")' <<<"$ev"
tap_check "the service without presage.enable kept 1 replica ($(spec_replicas soff))" \
	test "$(spec_replicas soff)" = 1
n=$(jq '[.[] | select((.kind == "scale" or .kind == "resize") and .service == "soff")] | length' <<<"$ev")
tap_check "no action about soff ($n)" test "$n" -eq 0
tap_done
