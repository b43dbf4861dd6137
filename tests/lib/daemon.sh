# tests/lib/daemon.sh - start presaged (directly or under a wrapper such as
# valgrind) for a test.  Source after tests/lib/tap.sh.
#
#   daemon_start SOCK LOG SECONDS CMD...
#       runs CMD in the background (a child of the test's shell, so the test
#       can `wait` for it) with its stdout and stderr in LOG, registers its
#       stop by pid, and waits up to SECONDS for its control socket SOCK.
#       Sets DAEMON_PID.  Returns 1 when the socket did not appear; the
#       log's last lines are then in DAEMON_TAIL.

daemon_start() {
	local sock=$1 log=$2 secs=$3
	shift 3
	"$@" >"$log" 2>&1 &
	DAEMON_PID=$!
	cleanup_push "kill_pid $DAEMON_PID"
	wait_for "$secs" test -S "$sock" && return 0
	DAEMON_TAIL=$(tail -5 "$log")
	return 1
}
