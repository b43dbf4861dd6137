#!/bin/sh
# forecast.sh - presage's models and statsmodels side by side under
# the same rolling-origin protocol (see bench/forecast.c and
# bench/forecast_statsmodels.py), then the per-trace targets:
#   ensemble MASE h1 <= best statsmodels h1; ensemble MASE h12 <= 0.9 x best
#   statsmodels h12; CPU per forecast >= 100x lower (batch and online API);
#   ensemble 90% coverage within 88..92 at h1 and h12.  Under the targets, a
# non-causal noise floor for scale (forecast_statsmodels.py --noise-floor).
# usage: bench/forecast.sh [TRACES_DIR]   (default $PRESAGE_TRACES or
# ../shared/traces); run from the repository root after `make build/bench/forecast`.
set -eu
dir=${1:-${PRESAGE_TRACES:-../shared/traces}}
B=${PRESAGE_BUILD:-build}
cd "$(dirname "$0")/.."
ours=$(mktemp) theirs=$(mktemp) floor=$(mktemp)
trap 'rm -f "$ours" "$theirs" "$floor"' EXIT
"$B/bench/forecast" --csv --traces "$dir" >"$ours"
/usr/bin/python3 bench/forecast_statsmodels.py --csv --traces "$dir" >"$theirs"
/usr/bin/python3 bench/forecast_statsmodels.py --csv --noise-floor --traces "$dir" >"$floor"
echo "# presage (online learning, every row)"
column -s, -t <"$ours"
echo "# statsmodels (fit once on the first 70%, then filtered)"
column -s, -t <"$theirs"
echo "# targets per trace"
awk -F, '
FNR == 1 { next }
NR == FNR { if ($2 == "ensemble") { e1[$1] = $3; e12[$1] = $4; c1[$1] = $5; c12[$1] = $6; us[$1] = $7 }; next }
$3 != "" { if (!($1 in b1) || $3 < b1[$1]) b1[$1] = $3
	   if (!($1 in b12) || $4 < b12[$1]) b12[$1] = $4
	   if ($2 != "snaive" && (!($1 in sus) || $7 < sus[$1])) sus[$1] = $7
	   if ($8 != "" && $8 != "nan" && (!($1 in son) || $8 < son[$1])) son[$1] = $8 }
END {
	for (t in e1) {
		printf "%s: h1 %.4f vs %.4f %s; h12 %.4f vs %.4f (%+.1f%%, target -10%%) %s; ", t,
		       e1[t], b1[t], (e1[t] <= b1[t]) ? "ok" : "MISSED", e12[t], b12[t],
		       100 * (e12[t] / b12[t] - 1), (e12[t] <= 0.9 * b12[t]) ? "ok" : "MISSED"
		printf "cpu %.0fx less (batch) %s, %.0fx less (online API); ", sus[t] / us[t],
		       (sus[t] >= 100 * us[t]) ? "ok" : "MISSED", son[t] / us[t]
		printf "coverage %.1f/%.1f %s\n", c1[t], c12[t],
		       (c1[t] >= 88 && c1[t] <= 92 && c12[t] >= 88 && c12[t] <= 92) ? "ok" : "MISSED"
	}
}' "$ours" "$theirs"
echo "# non-causal reference, not a competitor: MASE of the mean of the k samples either side"
echo "# of each h=1 target (the target itself left out; it sees the future), same targets and scale"
column -s, -t <"$floor"
