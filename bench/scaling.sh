#!/usr/bin/env bash
# bench/scaling.sh - backtest every scaling policy with `presage sim --policy all`
# on the real traces at two replica start-up times, and report simulation speed.
#
# Traces come from $PRESAGE_TRACES (default ../shared/traces); the binary from
# $PRESAGE_BUILD (default build).  Scales are chosen so the peaks need many
# replicas: NASA values (requests per minute, peak ~400) are read as req/s with
# 20 req/s per replica (peak ~29 replicas at 70%); Google values (0..1) are
# multiplied by 400 (peak ~17 replicas).  SLO p95 500 ms (one request alone
# has p95 150 ms at 20 req/s), utilisation target 0.7.
#
# Targets (issue): predictive and rl at most 20% of reactive's SLO-violation
# time, no more replica-seconds than reactive, within 1.3x the oracle's cost.
# The NAB artificial traces are extra traces nothing was tuned on.
set -u
cd "$(dirname "$0")/.."
BUILD=${PRESAGE_BUILD:-build}
TRACES=${PRESAGE_TRACES:-../shared/traces}
PRESAGE="$BUILD/presage"
rc=0

if [ ! -x "$PRESAGE" ]; then
	echo "scaling: $PRESAGE not built (run make)" >&2
	exit 1
fi

now() { date +%s.%N; }

# run LABEL TRACE ARGS...: print the table and the wall time
run() {
	local label=$1 trace=$2
	shift 2
	if [ ! -r "$trace" ]; then
		echo "scaling: trace $trace not found (set PRESAGE_TRACES)" >&2
		rc=1
		return
	fi
	local steps t0 t1
	steps=$(($(wc -l < "$trace") - 1))
	echo "--- $label: presage sim --trace $trace --policy all $*"
	t0=$(now)
	"$PRESAGE" sim --trace "$trace" --policy all --timing "$@" || rc=1
	t1=$(now)
	awk -v a="$t0" -v b="$t1" -v n="$steps" \
		'BEGIN { printf "time: %.2f s for %d trace rows, 4 policies, forecasting included (%.0f rows/s)\n\n", b - a, n, n / (b - a) }'
}

COMMON=(--capacity 20 --slo-ms 500 --target 0.7 --min 1)
NASA=$TRACES/nasa_http_jul95_1min.csv
GOOGLE=$TRACES/google2019_avg_cpu_5min.csv

for startup in 60 300; do
	run "nasa startup ${startup}s" "$NASA" "${COMMON[@]}" --max 100 --scale 1 --startup "$startup"
	run "google startup ${startup}s" "$GOOGLE" "${COMMON[@]}" --max 100 --scale 400 \
		--startup "$startup"
done
# Google's 5-minute step rounds both start-up times to one step; at --step 60
# (each 5-minute value held for its five minutes) they differ.
for startup in 60 300; do
	run "google --step 60 startup ${startup}s" "$GOOGLE" "${COMMON[@]}" --max 100 --scale 400 \
		--step 60 --startup "$startup"
done
for f in artificialWithAnomaly/art_daily_jumpsup artificialNoAnomaly/art_daily_perfect_square_wave \
	artificialWithAnomaly/art_load_balancer_spikes; do
	run "nab $f startup 300s" "$TRACES/nab-artificial/$f.csv" "${COMMON[@]}" --max 200 \
		--scale 5 --startup 300
done
exit $rc
