# tests/integration/lib/loop.sh - closed-loop test helpers: a private dockerd
# with the web image, presaged acting on it, load, and queries of what the
# daemon did.
#
# Source after tests/lib/tap.sh and tests/integration/lib/dockerd.sh.
#
#   loop_begin NAME WHAT [dockerd flags...]
#       the start of every closed-loop test: without root or dockerd, a SKIP
#       line naming WHAT and exit 0; then loop_docker NAME (a failed check
#       and exit 1 when it fails) and LOOP_TMP, a scratch directory removed
#       at exit
#   loop_docker NAME [dockerd flags...]
#       dockerd_start NAME and import $LOOP_IMAGE (busybox + http_reuseport
#       + busy) into it; 1 when either fails.
#   loop_daemon CONFIG_JSON [presaged flags...]
#       writes the config into a fresh directory and starts presaged against
#       the private dockerd ($DOCKERD_HOST) with its own socket, state dir
#       and metrics port; sets PD_PID, PD_SOCK, PD_DIR, PD_LOG; registers
#       its stop.  1 (with the log tail) when it does not come up.
#   loop_daemon_stop    stop presaged by pid
#   pg ARGS...          the presage CLI against that daemon
#   loop_web NAME PORT SERVICE [labels...]
#       runs one http_reuseport replica of SERVICE on PORT (host network);
#       LOOP_WORK_US (CPU per request) and LOOP_WARMUP_MS (time before it
#       listens) go to the server, and so to every replica cloned from it
#   loop_first_served CONTAINER
#       unix time the replica served its first request (its own log), or ""
#   loop_load PORT OUT LOADGEN_ARGS...
#       runs the load generator in the background (LOAD_PID), CSV to OUT
#   loop_replicas SERVICE   running containers labelled presage.service=SERVICE
#   loop_events_json        every event the daemon keeps (JSON array)
#   loop_first_action SERVICE ACTION
#       unix time of the first event with that action about SERVICE, or ""
#   loop_actions SERVICE ACTION   how many such events there are
#   loop_now            unix time with fractions

source tests/lib/daemon.sh
source tests/lib/port.sh

B=${PRESAGE_BUILD:-build}
LOOP_IMAGE=${LOOP_IMAGE:-presage-web:test}

loop_begin() {
	local name=$1 what=$2
	shift 2
	if ! command -v dockerd >/dev/null || [ "$(id -u)" != 0 ]; then
		echo "ok 1 - closed loop, $what # SKIP needs root and dockerd"
		exit 0
	fi
	if ! loop_docker "$name" "$@"; then
		tap_fail "private dockerd with the web image"
		tap_done
		exit 1
	fi
	LOOP_TMP=$(mktemp -d "/tmp/presage-$name-XXXXXX")
	cleanup_push "rm -rf '$LOOP_TMP'"
}

loop_docker() {
	dockerd_start "$@" || return 1
	bb_image_import "$LOOP_IMAGE" "$B/tests/helpers/http_reuseport" "$B/tests/helpers/busy"
}

pg() {
	"$B/presage" --socket "$PD_SOCK" "$@"
}

loop_daemon() {
	local cfg=$1
	shift
	PD_DIR=$(mktemp -d /tmp/presage-loop-XXXXXX)
	PD_SOCK=$PD_DIR/presage.sock
	PD_LOG=$PD_DIR/presaged.log
	cleanup_push "rm -rf '$PD_DIR'"
	echo "$cfg" >"$PD_DIR/presage.json"
	free_port PD_PORT
	if ! daemon_start "$PD_SOCK" "$PD_LOG" 30 "$B/presaged" --config "$PD_DIR/presage.json" \
		--socket "$PD_SOCK" --state-dir "$PD_DIR/state" \
		--listen "127.0.0.1:$PD_PORT" --docker-host "$DOCKERD_HOST" "$@"; then
		PD_PID=$DAEMON_PID
		echo "# presaged did not come up; log tail:" >&2
		sed 's/^/#   /' <<<"$DAEMON_TAIL" >&2
		return 1
	fi
	PD_PID=$DAEMON_PID
}

loop_daemon_stop() {
	kill_pid "$PD_PID"
	wait "$PD_PID" 2>/dev/null
}

loop_web() {
	local name=$1 port=$2 svc=$3
	shift 3
	local labels=() l
	for l in "$@"; do labels+=(--label "$l"); done
	dk run -d --network host --name "$name" --label "presage.service=$svc" "${labels[@]}" \
		--stop-timeout 2 "$LOOP_IMAGE" http_reuseport --port "$port" --threads 2 \
		${LOOP_WORK_US:+--work-us "$LOOP_WORK_US"} \
		${LOOP_WARMUP_MS:+--warmup-ms "$LOOP_WARMUP_MS"} >/dev/null
}

loop_first_served() {
	dk logs "$1" 2>&1 | awk '/^first request served at/ { print $5; exit }'
}

loop_load() {
	local port=$1 out=$2
	shift 2
	"$B/tests/helpers/loadgen" --port "$port" "$@" >"$out" 2>>"$out.err" &
	LOAD_PID=$!
	cleanup_push "kill_pid $LOAD_PID"
}

loop_replicas() {
	dk ps -q --filter "label=presage.service=$1" --filter status=running | wc -l
}

loop_events_json() {
	pg events --limit 1000 -o json 2>/dev/null || echo '[]'
}

loop_first_action() {
	loop_events_json | jq -r --arg s "$1" --arg a "$2" \
		'[.[] | select(.service == $s and .action == $a)] | sort_by(.seq) | .[0].time // ""'
}

loop_actions() {
	loop_events_json | jq --arg s "$1" --arg a "$2" \
		'[.[] | select(.service == $s and .action == $a)] | length'
}

loop_now() {
	date +%s.%N
}

# jqe FILTER: true when FILTER on stdin yields true (prints nothing).
jqe() {
	jq -e "$@" >/dev/null
}
