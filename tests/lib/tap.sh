# tests/lib/tap.sh - TAP output and cleanup helpers for bash test scripts.
#
# Source it, call `tap_check NAME COMMAND...` or `tap_ok`/`tap_fail`, and end
# with `tap_done` (exit status 1 when anything failed).  `cleanup_push CMD`
# registers a command run at exit (also on failure or signal), last first.

TAP_N=0
TAP_FAILED=0
_CLEANUPS=()

tap_ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

tap_fail() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1"
	[ $# -gt 1 ] && echo "#   $2"
	return 0
}

# tap_check NAME CMD... : ok when CMD succeeds.
tap_check() {
	local _tap_label=$1
	shift
	if "$@"; then tap_ok "$_tap_label"; else tap_fail "$_tap_label"; fi
}

# tap_within NAME ACTUAL EXPECTED TOLERANCE_FRACTION
tap_within() {
	local _tap_label=$1 a=$2 e=$3 tol=$4
	if awk -v a="$a" -v e="$e" -v t="$tol" \
		'BEGIN { d = a - e; if (d < 0) d = -d; exit !(e != 0 && d <= t * (e < 0 ? -e : e)) }'; then
		tap_ok "$_tap_label ($a vs $e, tolerance $tol)"
	else
		tap_fail "$_tap_label ($a vs $e, tolerance $tol)"
	fi
}

tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

cleanup_push() {
	_CLEANUPS+=("$*")
}

_run_cleanups() {
	local i
	for ((i = ${#_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${_CLEANUPS[$i]}" >/dev/null 2>&1 || true
	done
	_CLEANUPS=()
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

# wait_for TIMEOUT_S CMD... : poll CMD every 0.2 s until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.2
	done
}

# kill_pid PID : TERM, then KILL after 5 s; only the given pid.
kill_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}
