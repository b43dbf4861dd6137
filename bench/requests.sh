#!/usr/bin/env bash
# bench/requests.sh - throughput cost of the request telemetry (see bench/requests.c).
# Builds what it needs, then runs two workloads: keep-alive and Connection: close.
# Extra arguments go to both runs (e.g. -r 7 -d 5).
set -u
cd "$(dirname "$0")/.."
B=${PRESAGE_BUILD:-$PWD/build}
export PRESAGE_BUILD=$B
if [ "$(id -u)" != 0 ]; then
	echo "bench/requests: needs root (BPF); skipped"
	exit 0
fi
make -s B="$B" "$B/bench/requests" "$B/tests/helpers/req_httpd" >/dev/null || exit 1
echo "--- keep-alive"
"$B/bench/requests" "$@" || exit 1
echo "--- Connection: close"
"$B/bench/requests" -k "$@"
