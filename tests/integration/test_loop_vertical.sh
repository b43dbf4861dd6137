#!/usr/bin/env bash
# test_loop_vertical.sh - closed loop, vertical: a CPU-bound container
# labelled presage.enable=true presage.cpu.max=1 starts with a 0.3-core
# limit; the running presaged raises its limit in place while it spins and
# lowers it once it idles - seen in `docker inspect` (NanoCpus) and in the
# cgroup's CPU quota - without a restart (same pid and start time).  A
# bystander without presage.enable runs the same load and is never touched.
set -u
cd "$(dirname "$0")/../.."
source tests/lib/tap.sh
source tests/integration/lib/dockerd.sh
source tests/integration/lib/loop.sh

loop_begin loopv "vertical" --live-restore

# Spin 30 s, then idle in the same process tree (exec keeps the pid).
run_busy() {
	dk run -d --network none --name "$1" --cpus 0.3 "${@:2}" "$LOOP_IMAGE" \
		sh -c 'busy 30; exec sleep 1000' >/dev/null
}
run_busy hot --label presage.enable=true --label presage.cpu.max=1 --label presage.cpu.min=0.2
run_busy bystander --label presage.cpu.max=1
nano() { dk inspect -f '{{.HostConfig.NanoCpus}}' "$1"; }
quota() { # cores from the v1 (hybrid) or v2 cgroup of the container
	local id f
	id=$(dk inspect -f '{{.Id}}' "$1")
	f=/sys/fs/cgroup/cpu/docker/$id/cpu.cfs_quota_us
	if [ -r "$f" ]; then
		awk -v q="$(cat "$f")" -v p="$(cat "${f%quota_us}period_us")" 'BEGIN { printf "%.2f", q / p }'
	else
		awk '{ printf "%.2f", $1 / $2 }' "/sys/fs/cgroup/docker/$id/cpu.max"
	fi
}
pid0=$(dk inspect -f '{{.State.Pid}}' hot)
start0=$(dk inspect -f '{{.State.StartedAt}}' hot)
by0=$(dk inspect -f '{{.State.Pid}} {{.State.StartedAt}} {{.HostConfig.NanoCpus}}' bystander)

loop_daemon '{ "tick_seconds": 0.5, "model_step_seconds": 1, "driver": "docker",
  "policy": { "time_scale": 60 }, "actuation": { "cooldown_seconds": 2 } }' || { tap_fail "presaged starts"; tap_done; exit 1; }

# Raised: above the starting 0.3 cores while it spins.
peak=0 q_hot=0
deadline=$((SECONDS + 22))
while [ $SECONDS -lt $deadline ]; do
	n=$(nano hot)
	if [ "$n" -gt "$peak" ]; then
		peak=$n
		q_hot=$(quota hot)
	fi
	sleep 1
done
tap_check "the spinning container's limit is raised in place (docker inspect: $peak NanoCpus)" \
	test "$peak" -gt 300000000
tap_check "never above presage.cpu.max=1 ($peak NanoCpus)" test "$peak" -le 1000000000
tap_check "the cgroup's CPU quota follows ($q_hot cores at the peak)" \
	awk -v q="$q_hot" 'BEGIN { exit !(q > 0.3) }'

# Lowered: idle from 30 s on; wait for the limit to come down.
lowered() { [ "$(nano hot)" -le $((peak / 2)) ]; }
wait_for 45 lowered
low=$(nano hot)
q_low=$(quota hot)
tap_check "once idle the limit is lowered ($peak -> $low NanoCpus, cgroup $q_low cores)" \
	test "$low" -lt "$peak" -a "$low" -ge 200000000
tap_check "and the cgroup's quota follows ($q_low cores)" \
	awk -v q="$q_low" -v p="$q_hot" 'BEGIN { exit !(q < p) }'
tap_check "no restart: same pid and start time" \
	test "$(dk inspect -f '{{.State.Pid}} {{.State.StartedAt}}' hot)" = "$pid0 $start0"
tap_check "the container without presage.enable is untouched" \
	test "$(dk inspect -f '{{.State.Pid}} {{.State.StartedAt}} {{.HostConfig.NanoCpus}}' bystander)" = "$by0"
n=$(loop_events_json | jq '[.[] | select(.action == "resize_cpu" or .action == "resize")] | length')
tap_check "the resizes are events ($n)" test "$n" -ge 2
tap_done
