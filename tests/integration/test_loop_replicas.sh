#!/usr/bin/env bash
# test_loop_replicas.sh - closed loop, horizontal: a replica group
# (presage.service=web, presage.enable=true, min 1, max 3, capacity 100
# req/s) of SO_REUSEPORT servers under rising `Connection: close` load gains
# replicas, and loses them when the load falls, always within min/max, with
# the actions in `presage events -o json` and `presage explain web`.  Next to
# it a group without presage.enable (same labels otherwise) under the same
# load, and a lone container, are never changed.
set -u
cd "$(dirname "$0")/../.."
source tests/lib/tap.sh
source tests/lib/port.sh
source tests/integration/lib/dockerd.sh
source tests/integration/lib/loop.sh

loop_begin loopr "replicas" --live-restore

free_port port
port2=$((port + 1))
loop_web web-1 "$port" web presage.enable=true presage.min=1 presage.max=3 presage.capacity=100
loop_web other-1 "$port2" other presage.min=1 presage.max=3 presage.capacity=100
dk run -d --network none --name lone --label presage.cpu.max=1 "$LOOP_IMAGE" sleep 1000 >/dev/null
untouched() { dk ps -a --filter label=presage.service=other -q; dk inspect -f '{{.Name}} {{.State.Pid}} {{.State.StartedAt}} {{.HostConfig.NanoCpus}}' other-1 lone; }
before=$(untouched)

loop_daemon '{ "tick_seconds": 0.5, "model_step_seconds": 1, "driver": "docker",
  "policy": { "default": "predictive", "time_scale": 60 }, "actuation": { "cooldown_seconds": 2 } }' ||
	{ tap_fail "presaged starts"; tap_done; exit 1; }
sleep 5 # a few model steps of the idle group first

# 30 s at 20 req/s rising to 260, 20 s at 260, then 30 req/s: 70 s in all.
shape="20,20,60,100,140,180,220,260,260,260,260,260,260,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30"
loop_load "$port" "$LOOP_TMP/load.csv" --shape "$shape" --step-ms 2000 --max-requests 40000
load1=$LOAD_PID
loop_load "$port2" "$LOOP_TMP/load2.csv" --shape "$shape" --step-ms 2000 --max-requests 40000
lo=99 hi=0 max_seen=0
sample() {
	local n
	n=$(loop_replicas web)
	[ "$n" -lt "$lo" ] && lo=$n
	[ "$n" -gt "$hi" ] && hi=$n
	echo "$SECONDS $n" >>"$LOOP_TMP/replicas"
}
deadline=$((SECONDS + 28))
while [ $SECONDS -lt $deadline ]; do sample; sleep 1; done
peak=$hi
tap_check "under rising load web gains replicas (1 -> $peak)" test "$peak" -gt 1
# Load falls at ~26 s; the group shrinks back within about 40 s.
shrunk() { sample; [ "$(loop_replicas web)" -lt "$peak" ]; }
wait_for 50 shrunk
after=$(loop_replicas web)
tap_check "when load falls it loses replicas ($peak -> $after)" test "$after" -lt "$peak"
tap_check "replicas stayed within min 1 and max 3 (seen $lo..$hi)" test "$lo" -ge 1 -a "$hi" -le 3
wait "$load1" 2>/dev/null
ok=$(awk -F, 'NR > 1 { ok += $3; err += $4 } END { print ok + 0, err + 0 }' "$LOOP_TMP/load.csv")
echo "# load on web: ok/errors $ok"

# The scale-down event is published once the replica is stopped and removed.
has_down() { [ "$(loop_actions web scale_down)" -ge 1 ]; }
wait_for 15 has_down
ev=$(loop_events_json)

ups=$(jq '[.[] | select(.service == "web" and .action == "scale_up")] | length' <<<"$ev")
downs=$(jq '[.[] | select(.service == "web" and .action == "scale_down")] | length' <<<"$ev")
tap_check "presage events -o json lists the scale-ups ($ups) and scale-downs ($downs) of web" \
	test "$ups" -ge 1 -a "$downs" -ge 1
tap_check "every scale event carries a reason and before/after replicas" \
	jqe '[.[] | select(.kind == "scale" and .service == "web")] |
		all(.reason != "" and (.message | test("replicas [0-9]+ -> [0-9]+")))' <<<"$ev"
# explain answers with the newest applied decision even when the current
# tick holds; read before the events so every decision it names is in them
# (an event's reason is the decision's message, cut to the bus's 63 bytes).
ex=$(pg explain web -o json)
ev=$(loop_events_json)
tap_check "presage explain web names the last scaling decision ($(jq -r .decision.action <<<"$ex"), now $(jq -r .current.action <<<"$ex"))" \
	jqe '(.decision.action | test("^scale_")) and (.current.action | type == "string")' <<<"$ex"
reasons=$(jq -c '[.[] | select(.service == "web" and .kind == "scale") | .reason]' <<<"$ev")
tap_check "its reason and inputs are those of a scale event of web" \
	jqe --argjson r "$reasons" '(.decision.message as $m | $r | any(. as $x | $m | startswith($x))) and
		(.decision.inputs.replicas_requested | type == "number") and
		(.decision.applied | test("^scaled web to"))' <<<"$ex"
jq -r '.[] | select(.service == "web" and .kind == "scale") | "# \(.action): \(.message) (\(.reason))"' <<<"$ev"
tap_check "only presage's replicas were removed (web-1 still runs)" \
	test "$(dk inspect -f '{{.State.Running}}' web-1)" = true
tap_check "the group without presage.enable and the lone container are unchanged" \
	test "$(untouched)" = "$before"
n=$(jq '[.[] | select((.kind == "scale" or .kind == "resize") and .service != "web")] | length' <<<"$ev")
tap_check "no action about anything else ($n)" test "$n" -eq 0
tap_done
