#!/usr/bin/env bash
# tools/scripts/demo.sh - `make demo`: presage scaling a web service live,
# ahead of the peaks of a real trace.
#
# Starts a private dockerd when none answers (else uses $DOCKER_HOST or
# /var/run/docker.sock), imports a busybox image carrying the SO_REUSEPORT
# web server, runs one replica of the group `web` (presage.enable=true,
# min 1, max 6, 40 req/s per replica), runs presaged with the docker driver
# and a load generator replaying the NASA HTTP trace of July 1995
# (../shared/traces/nasa_http_jul95_1min.csv, or $PRESAGE_TRACES/...),
# time-compressed: one trace minute per PRESAGE_DEMO_ROW_MS (default 50 ms),
# so a day lasts 72 s.  It prints the offered load, the replicas and the
# forecast every few seconds, `presage top --once` now and then, and every
# scaling event as it happens; at the end, when each replica was added
# relative to the next load peak.  Everything it started is stopped and
# removed on exit (Ctrl-C is fine).
#
# Environment: PRESAGE_TRACES (trace directory), PRESAGE_DEMO_DAYS (3),
# PRESAGE_DEMO_ROW_MS (50), PRESAGE_DEMO_PEAK (req/s at the trace's peak,
# 180), PRESAGE_DEMO_POLICY (predictive), PRESAGE_BUILD (build).
set -u
cd "$(dirname "$0")/../.."
source tests/lib/tap.sh
source tests/integration/lib/dockerd.sh

B=${PRESAGE_BUILD:-build}
TRACE=${PRESAGE_TRACES:-../shared/traces}/nasa_http_jul95_1min.csv
DAYS=${PRESAGE_DEMO_DAYS:-3}
ROW_MS=${PRESAGE_DEMO_ROW_MS:-50}
PEAK=${PRESAGE_DEMO_PEAK:-180}
POLICY=${PRESAGE_DEMO_POLICY:-predictive}
IMAGE=presage-demo:latest
RUN=demo-$$

die() {
	echo "demo: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "presaged needs root (BPF telemetry): run as root"
[ -r "$TRACE" ] || die "cannot read the trace $TRACE (set PRESAGE_TRACES to its directory)"
for b in presaged presage tests/helpers/http_reuseport tests/helpers/loadgen; do
	[ -x "$B/$b" ] || die "$B/$b is missing: run make all first"
done
command -v jq >/dev/null || die "jq is not installed"

# A Docker endpoint: the user's if one answers, else a private one.
DOCKERD_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
if docker -H "$DOCKERD_HOST" version >/dev/null 2>&1; then
	echo "demo: using the running Docker at $DOCKERD_HOST"
else
	command -v dockerd >/dev/null || die "no Docker answers and dockerd is not installed"
	echo "demo: no Docker answers; starting a private dockerd"
	dockerd_start demo || die "the private dockerd did not start"
	echo "demo: private dockerd on $DOCKERD_HOST (data under $DOCKERD_DIR)"
fi
bb_image_import "$IMAGE" "$B/tests/helpers/http_reuseport" || die "importing the busybox image failed"

tmp=$(mktemp -d /tmp/presage-demo-XXXXXX)
cleanup_push "rm -rf '$tmp'"
# Only what this run labelled (the first replica and presage's clones of it).
cleanup_push "dk ps -aq --filter label=presage.demo=$RUN | xargs -r docker -H '$DOCKERD_HOST' rm -f"
port=$((20000 + RANDOM % 20000))
dk run -d --network host --name "web-$RUN-1" --stop-timeout 2 \
	--label presage.service=web --label presage.enable=true --label presage.demo="$RUN" \
	--label presage.min=1 --label presage.max=6 --label presage.capacity=40 \
	--label presage.policy="$POLICY" "$IMAGE" http_reuseport --port "$port" --threads 2 \
	>/dev/null || die "the web container did not start"

# One model step per second; a day of the trace (1440 rows) in 1440*ROW_MS.
season=$(awk -v m="$ROW_MS" 'BEGIN { printf "%g", 1440 * m / 1000 }')
cat >"$tmp/presage.json" <<EOF
{ "tick_seconds": 0.5, "model_step_seconds": 1, "driver": "docker",
  "engine": { "season": $season }, "policy": { "time_scale": 60 },
  "actuation": { "cooldown_seconds": 5 } }
EOF
sock=$tmp/presage.sock
"$B/presaged" --config "$tmp/presage.json" --socket "$sock" \
	--state-dir "$tmp/state" --listen "127.0.0.1:$((port + 1))" --docker-host "$DOCKERD_HOST" \
	2>"$tmp/presaged.log" &
pd=$!
cleanup_push "kill_pid $pd"
wait_for 30 test -S "$sock" || die "presaged did not start: $(tail -3 "$tmp/presaged.log")"
pg() { "$B/presage" --socket "$sock" "$@"; }
echo "demo: presaged running (policy $POLICY, one model step per second, a trace day = ${season}s)"

rows=$((DAYS * 1440))
"$B/tests/helpers/loadgen" --port "$port" --trace "$TRACE" --rows "$rows" --peak "$PEAK" \
	--step-ms "$ROW_MS" --concurrency 32 --duration $((rows * ROW_MS / 1000 + 5)) \
	>"$tmp/load.csv" 2>"$tmp/load.err" &
lg=$!
cleanup_push "kill_pid $lg"
t0=$(date +%s.%N)
echo "demo: replaying $DAYS days of $TRACE, peak $PEAK req/s, $((rows * ROW_MS / 1000)) s"
echo

replicas() { dk ps -q --filter label=presage.demo="$RUN" --filter status=running | wc -l; }
last_seq=0
show_events() {
	local ev
	ev=$(pg events --limit 1000 -o json 2>/dev/null) || return
	jq -r --argjson s "$last_seq" --argjson t "$t0" '.[] | select(.seq > $s and .kind == "scale") |
		"    \(.time - $t | floor)s  \(.action)  \(.message)  (\(.reason))"' <<<"$ev"
	last_seq=$(jq '[.[].seq] | max // 0' <<<"$ev")
}
printf '%6s %12s %9s %18s\n' "t(s)" "offered r/s" replicas "forecast r/s +1"
i=0
while kill -0 "$lg" 2>/dev/null; do
	sleep 3
	i=$((i + 1))
	rate=$(tail -1 "$tmp/load.csv" | awk -F, '{ print $2 }')
	fc=$(pg top --once -o json 2>/dev/null | jq -r '[.[] | select(.service == "web") |
		.forecast_requests_per_second] | map(select(. != null)) | .[0] // "-" |
		if type == "number" then (. * 10 | round / 10) else . end')
	printf '%6d %12s %9s %18s\n' "$(awk -v t="$t0" -v n="$(date +%s.%N)" 'BEGIN { print int(n - t) }')" \
		"${rate:--}" "$(replicas)" "$fc"
	show_events
	if [ $((i % 10)) -eq 0 ]; then
		echo "--- presage top --once"
		pg top --once | awk 'NR == 1 || /web/' | sed 's/^/    /'
	fi
done

echo
echo "demo: scaling decisions against the offered load (peaks of each trace day):"
pg events --limit 1000 -o json | jq -r --argjson t "$t0" '.[] | select(.kind == "scale") |
	"\(.time - $t)\t\(.action)\t\(.message)"' >"$tmp/actions.tsv"
awk -F, -v ms="$ROW_MS" 'NR > 1 { print $1, $2 }' "$tmp/load.csv" >"$tmp/rate.txt"
awk -v day="$season" '
	FNR == NR { t[NR] = $1; r[NR] = $2; n = NR; next }
	{ split($0, f, "\t"); a = f[1]; d = int(a / day)
	  # the peak of that trace day, and whether the load was still rising
	  best = 0; bt = 0
	  for (k = 1; k <= n; k++) if (int(t[k] / day) == d && r[k] > best) { best = r[k]; bt = t[k] }
	  rel = a - bt
	  printf "  %6.1fs  %-10s %-22s day %d peak %.0f r/s at %.1fs: %s\n", a, f[2], f[3], d + 1, best, bt,
		rel < 0 ? sprintf("%.1fs before the peak", -rel) : sprintf("%.1fs after the peak", rel) }
' "$tmp/rate.txt" "$tmp/actions.tsv"
echo "demo: load generator: $(cat "$tmp/load.err")"
echo "demo: done; stopping everything it started"
