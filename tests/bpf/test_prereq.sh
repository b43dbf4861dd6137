#!/usr/bin/env bash
# tests/bpf/test_prereq.sh - telemetry start-up checks fail with one clear line.
#
# Runs the attach helper (bench/overhead_attach, which calls tele_open) as an
# unprivileged user and without capabilities: it must exit non-zero with a
# single error line naming what is missing, and leave no program attached.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
B=${PRESAGE_BUILD:-build}
ATTACH=$B/bench/overhead_attach

if [ ! -x "$ATTACH" ]; then
	echo "ok 1 - prerequisites # SKIP $ATTACH not built"
	exit 0
fi

# as_nobody CMD... : run with uid/gid 65534 and no capabilities.
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all "$@"
}

out=$(as_nobody "$ATTACH" -t 1 2>&1)
rc=$?
tap_check "non-root attach fails" test "$rc" -ne 0
tap_check "non-root error names the missing privilege" grep -q "needs root or CAP_BPF" <<<"$out"
tap_check "non-root error is one line per cause" test "$(grep -c 'telemetry needs' <<<"$out")" -eq 1

# Root without CAP_SYS_ADMIN/CAP_BPF/CAP_PERFMON is refused the same way.
out=$(setpriv --inh-caps=-all --bounding-set=-all "$ATTACH" -t 1 2>&1)
rc=$?
tap_check "root without capabilities fails" test "$rc" -ne 0
tap_check "capability error is clear" grep -q "needs root or CAP_BPF" <<<"$out"

# With privileges it attaches everything and exits cleanly after -t.
out=$("$ATTACH" -t 1 2>&1)
rc=$?
tap_check "root attaches" test "$rc" -eq 0
line=$(grep '^attached ' <<<"$out")
tap_check "every chosen program attached ($line)" \
	awk -v l="${line#attached }" 'BEGIN { split(l, a, "/"); exit !(a[1] == a[2] && a[2] > 0) }'
tap_done
