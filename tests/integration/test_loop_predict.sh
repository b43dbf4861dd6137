#!/usr/bin/env bash
# test_loop_predict.sh - predictive vs reactive on the same replayed ramp,
# with replicas that take a while to start serving.
#
# Two identical replica groups run side by side under one presaged: web-r
# with presage.policy=reactive and web-p with presage.policy=predictive
# (min 1, max 4, capacity 100 req/s, target 0.7: 4 replicas from 210 req/s).
# Every replica waits WARMUP_MS before it listens, like a service that loads
# caches or compiles first, so a replica asked for late serves late.
#
# Two load generators replay the same time-compressed shape at the same
# moment: 20 req/s; a step to 100 req/s (both groups scale to 2, which is
# where presaged measures the start-up: scale-up -> first request served by
# the new replica); a hold; then a ramp to 280 req/s over RAMP_S (45) seconds
# (the peak) and a plateau.  The reactive (HPA) rule asks for the 4th replica only
# once the load is above 3 x 70 x 1.1 = 231 req/s, 73% of the way up, so it
# serves a warm-up after that: after the peak.  The predictive policy asks
# for the replicas the forecast's upper bound needs one measured start-up
# ahead, so they serve earlier: before the peak when the forecast turns
# with the ramp soon enough.
#
# Measured, not assumed: when each group's 4th replica served its first
# request is read from the replicas' own logs, and compared with the peak
# (the shape's start plus the peak's offset) and with each other.
# LOOP_MODEL picks the forecasting model (default ensemble, the daemon's).
set -u
cd "$(dirname "$0")/../.."
source tests/lib/tap.sh
source tests/lib/port.sh
source tests/integration/lib/dockerd.sh
source tests/integration/lib/loop.sh

WARMUP_MS=14000
export LOOP_WARMUP_MS=$WARMUP_MS
loop_begin loopp "predictive vs reactive" --live-restore

free_port port
common=(presage.enable=true presage.min=1 presage.max=4 presage.capacity=100 presage.target=0.7)
loop_web web-r-1 "$port" web-r "${common[@]}" presage.policy=reactive
loop_web web-p-1 $((port + 1)) web-p "${common[@]}" presage.policy=predictive
loop_daemon '{ "tick_seconds": 0.5, "model_step_seconds": 1, "driver": "docker",
  "engine": { "model": "'"${LOOP_MODEL:-ensemble}"'" }, "policy": { "time_scale": 60 }, "actuation": { "cooldown_seconds": 2 } }' || { tap_fail "presaged starts"; tap_done; exit 1; }

# The first replicas warm up too: wait until both listen.
listening() { ss -Hltn "sport = :$port" | grep -q . && ss -Hltn "sport = :$((port + 1))" | grep -q .; }
wait_for $((WARMUP_MS / 1000 + 20)) listening || { tap_fail "the first replicas listen"; tap_done; exit 1; }

# The shape, one point per second: 20 req/s until STEP_AT, 100 until RAMP_AT,
# then a linear ramp to 280 at PEAK_AT and a plateau.
STEP_AT=12 RAMP_AT=36 RAMP_S=45 PLATEAU_S=14
PEAK_AT=$((RAMP_AT + RAMP_S))
shape=$(awk -v s=$STEP_AT -v a=$RAMP_AT -v r=$RAMP_S -v p=$PLATEAU_S 'BEGIN {
	for (t = 0; t <= a + r + p; t++) {
		if (t < s) v = 20; else if (t <= a) v = 100
		else if (t >= a + r) v = 280; else v = 100 + 180 * (t - a) / r
		printf "%s%d", (t > 0 ? "," : ""), v
	} }')
t0=$(loop_now)
loop_load "$port" "$LOOP_TMP/r.csv" --shape "$shape" --step-ms 1000 --max-requests 40000
lr=$LOAD_PID
loop_load $((port + 1)) "$LOOP_TMP/p.csv" --shape "$shape" --step-ms 1000 --max-requests 40000
lp=$LOAD_PID
wait "$lr" "$lp" 2>/dev/null
ev=$(loop_events_json)
ex=$(pg explain web-p -o json)

# rel T: seconds from the shape's start to unix time T ("-" when empty).
rel() { [ -n "$1" ] && awk -v a="$1" -v t="$t0" 'BEGIN { printf "%.1f\n", a - t }' || echo -; }
# served_times SVC: when each replica presage made for SVC served first, sorted.
served_times() {
	local id
	for id in $(dk ps -a -q --filter "label=presage.service=$1" --filter label=presage.managed-by=presage); do
		rel "$(loop_first_served "$id")"
	done | grep -v '^-$' | sort -g
}
# nth_up SVC N: seconds from the shape's start to the scale-up that reached N.
nth_up() {
	jq -r --arg s "$1" --argjson n "$2" --argjson t "$t0" \
		'[.[] | select(.service == $s and .action == "scale_up") |
		  select(.message | capture("-> (?<b>[0-9]+)").b | tonumber >= $n)] | sort_by(.seq) |
		 if length > 0 then (.[0].time - $t) * 10 | round / 10 | tostring else "-" end' <<<"$ev"
}
mapfile -t sr < <(served_times web-r)
mapfile -t sp < <(served_times web-p)
echo "# shape: step at +${STEP_AT}s, ramp from +${RAMP_AT}s, peak at +${PEAK_AT}s; replicas warm up $((WARMUP_MS / 1000))s"
jq -r '.[] | select(.kind == "scale" or .action == "startup_measured") |
	"# \(.service) \(.action): \(.message) (\(.reason))"' <<<"$ev"
for n in 2 3 4; do
	echo "# asked for $n replicas at: reactive +$(nth_up web-r $n)s, predictive +$(nth_up web-p $n)s;" \
		"serving at: reactive +${sr[n - 2]:--}s, predictive +${sp[n - 2]:--}s"
done
echo "# measured start-up of web-p: $(jq -c .startup <<<"$ex")"

tap_check "both groups scaled up at the load step (reactive +$(nth_up web-r 2)s, predictive +$(nth_up web-p 2)s)" \
	test "$(nth_up web-r 2)" != - -a "$(nth_up web-p 2)" != -
serving=$(jq -r '.startup.serving_seconds // "null"' <<<"$ex")
tap_check "presaged measured web-p's start-up to first request served (${serving}s, warm-up $((WARMUP_MS / 1000))s)" \
	awk -v s="$serving" -v w="$WARMUP_MS" 'BEGIN { exit !(s != "null" && s + 0 >= w / 1000 && s + 0 < w / 1000 + 10) }'
tap_check "the predictive decisions use it as their lead time" jqe \
	'.current.inputs.lead_seconds >= 60 * 10' <<<"$ex"
p4=${sp[2]:-} r4=${sr[2]:-}
# Both groups see the same shape at the same moment, so a stall of the
# machine delays both alike: their order is the most robust check.  The ramp
# is long enough (45 s) for the forecaster to turn with it well ahead of the
# peak (7-9 s of margin measured), while the HPA rule's 4th replica,
# asked at 73% of the ramp, still needs its 14 s warm-up after the peak.
echo "# predictive's 4th replica served $(awk -v a="${p4:-1e9}" -v p=$PEAK_AT \
	'BEGIN { d = a - p; printf "%.1fs %s", d < 0 ? -d : d, d < 0 ? "before" : "after" }') the peak"
tap_check "predictive's 4th replica served before reactive's (+${p4:-never}s < +${r4:-never}s)" \
	awk -v a="${p4:-1e9}" -v b="${r4:-1e9}" 'BEGIN { exit !(a < b) }'
tap_check "predictive's 4th replica served before the peak (+${p4:-never}s < +${PEAK_AT}s)" \
	awk -v a="${p4:-1e9}" -v p=$PEAK_AT 'BEGIN { exit !(a < p) }'
tap_check "reactive's 4th replica served after the peak (+${r4:-never}s > +${PEAK_AT}s)" \
	awk -v a="${r4:-1e9}" -v p=$PEAK_AT 'BEGIN { exit !(a > p && a < 1e9) }'
r=$(loop_replicas web-r) p=$(loop_replicas web-p)
tap_check "both within max 4 (reactive $r, predictive $p)" test "$r" -le 4 -a "$p" -le 4
tap_check "reactive decisions are HPA's" jqe \
	'[.[] | select(.service == "web-r" and .kind == "scale")] | all(.reason | test("^hpa"))' <<<"$ev"
tap_check "predictive decisions name the forecast" jqe \
	'[.[] | select(.service == "web-p" and .kind == "scale")] | any(.reason | test("forecast"))' <<<"$ev"
tap_done
