#!/usr/bin/env bash
# bench/overhead.sh - cost of presage's kernel telemetry on scheduler-heavy work.
#
# Runs `perf bench sched pipe` and `perf bench sched messaging` pinned to one
# CPU (unpinned context-switch benchmarks swing tenfold on small VMs), RUNS
# times each without and with every telemetry program attached, interleaved
# (off/on, then on/off) so drift hits both sides alike.  Prints the median of
# each side, the slowdown ratio and the spread (min..max).  Then attaches once
# more with kernel BPF statistics on and prints nanoseconds per program run
# (run_time_ns / run_cnt) over the same workloads.
#
# Usage: sudo bench/overhead.sh            (env: RUNS=5, PIPE_LOOPS=200000,
#                                           MSG_LOOPS=300, CPU=0, B=build)
set -u
cd "$(dirname "$0")/.."
B=${B:-${PRESAGE_BUILD:-build}}
RUNS=${RUNS:-5}
PIPE_LOOPS=${PIPE_LOOPS:-200000}
MSG_LOOPS=${MSG_LOOPS:-300}
CPU=${CPU:-0}
ATTACH=$B/bench/overhead_attach
LOADER_PID=

die() { echo "overhead: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (attaches BPF programs)"
command -v perf >/dev/null || die "perf not found (Debian: linux-perf)"
[ -x "$ATTACH" ] || die "$ATTACH not built (make $ATTACH)"

stop_loader() {
	[ -n "$LOADER_PID" ] || return 0
	kill -TERM "$LOADER_PID" 2>/dev/null
	wait "$LOADER_PID" 2>/dev/null
	LOADER_PID=
}
trap 'stop_loader; stop_runqlat' EXIT

# start_loader [ARGS...] : attach everything; returns once attached.
start_loader() {
	local fifo line
	fifo=$(mktemp -u /tmp/presage-overhead.XXXXXX)
	mkfifo "$fifo" || die "failed to create $fifo"
	"$ATTACH" "$@" >"$fifo" 2>/dev/null &
	LOADER_PID=$!
	exec 7<"$fifo"
	rm -f "$fifo"
	read -r -t 30 line <&7 && [[ $line == attached* ]] ||
		die "telemetry failed to attach (run $ATTACH by hand to see why)"
	# "attached N/M": every program of this kernel's variants must be in.
	[ "${line#attached }" = "$(awk -F/ '{ print $2 "/" $2 }' <<<"${line#attached }")" ] ||
		die "only $line programs attached"
}

pipe_us() { # microseconds per pipe round trip
	taskset -c "$CPU" perf bench sched pipe -l "$PIPE_LOOPS" 2>/dev/null |
		awk '/usecs\/op/ { print $1 }'
}

msg_s() { # seconds for the messaging run
	taskset -c "$CPU" perf bench sched messaging -g 2 -l "$MSG_LOOPS" 2>/dev/null |
		awk '/Total time:/ { print $3 }'
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
spread() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo ".." hi }'; }

# The reference point: libbpf-tools' runqlat (Debian libbpf-tools), alone.
RUNQLAT_PID=
start_runqlat() {
	runqlat 3600 1 >/dev/null 2>&1 &
	RUNQLAT_PID=$!
	sleep 2 # attached well before the measured run
}
stop_runqlat() {
	[ -n "$RUNQLAT_PID" ] || return 0
	kill -INT "$RUNQLAT_PID" 2>/dev/null
	wait "$RUNQLAT_PID" 2>/dev/null
	RUNQLAT_PID=
}

# measure NAME FUNC [START STOP] : interleaved runs without and with what
# START attaches (default: presage's telemetry), then the summary lines.
# Besides the ratio of medians, the median of the per-pair ratios (each
# "with" run over the "without" run next to it) is printed: it cancels slow
# drift in load.
measure() {
	local name=$1 fn=$2 up=${3:-start_loader} down=${4:-stop_loader}
	local i a b off=() on=() ratios=() m0 m1
	for ((i = 0; i < RUNS; i++)); do
		if ((i % 2 == 0)); then
			a=$($fn)
			$up; b=$($fn); $down
		else
			$up; b=$($fn); $down
			a=$($fn)
		fi
		off+=("$a") on+=("$b")
		ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", b / a }')")
	done
	m0=$(printf '%s\n' "${off[@]}" | median)
	m1=$(printf '%s\n' "${on[@]}" | median)
	BASE=$m0
	printf '%-22s without %-10s with %-10s slowdown %s  spread without %s with %s\n' \
		"$name" "$m0" "$m1" \
		"$(awk -v a="$m1" -v b="$m0" 'BEGIN { printf "%.3fx (%+.1f%%)", a / b, (a / b - 1) * 100 }')" \
		"$(printf '%s\n' "${off[@]}" | spread)" "$(printf '%s\n' "${on[@]}" | spread)"
	printf '%-22s per-pair slowdown median %sx, spread %s\n' "$name" \
		"$(printf '%s\n' "${ratios[@]}" | median)" "$(printf '%s\n' "${ratios[@]}" | spread)"
}

# stats_block : ask the stats loader for its figures, print "runs ns" totals.
stats_block() {
	local line
	kill -USR1 "$LOADER_PID"
	while read -r -t 10 line <&7; do
		case $line in
		total_runs*) awk '{ print $2, $4 }' <<<"$line" ;;
		end) return 0 ;;
		esac
	done
}

echo "# presage telemetry overhead: $RUNS interleaved runs per side, pinned to CPU $CPU"
echo "# pipe: taskset -c $CPU perf bench sched pipe -l $PIPE_LOOPS (usecs/op)"
echo "# messaging: taskset -c $CPU perf bench sched messaging -g 2 -l $MSG_LOOPS (seconds)"
measure "sched pipe (us/op)" pipe_us
PIPE_BASE=$BASE
measure "sched messaging (s)" msg_s

# loopback TCP: CONNS connections of 256 KiB each (exercises cgroup_skb and
# inet_sock_set_state); python3 is only the traffic generator here.
tcp_traffic() {
	/usr/bin/python3 - "$1" <<'PY'
import socket, sys, threading
n = int(sys.argv[1]); data = b"x" * 262144
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(64)
def serve():
    for _ in range(n):
        c, _a = srv.accept()
        while c.recv(65536): pass
        c.close()
t = threading.Thread(target=serve); t.start()
for _ in range(n):
    s = socket.create_connection(srv.getsockname()); s.sendall(data); s.close()
t.join()
PY
}

if command -v runqlat >/dev/null; then
	echo "# for scale, in the same run: libbpf-tools runqlat alone"
	measure "pipe, runqlat alone" pipe_us start_runqlat stop_runqlat
fi

echo "# BPF time inside one pipe round trip, from the kernel's own run statistics"
echo "# (includes the statistics' own cost per program run: see the floor below)"
start_loader --stats
read -r r0 n0 < <(stats_block)
us=$(pipe_us)
read -r r1 n1 < <(stats_block)
awk -v r="$((r1 - r0))" -v n="$((n1 - n0))" -v l="$PIPE_LOOPS" -v us="$us" -v base="$PIPE_BASE" '
	BEGIN { printf "pipe: %.1f program runs and %.0f ns of BPF per op (%.3f us/op in this run): " \
		"%.1f%% of the median %.3f us/op without telemetry\n",
		r / l, n / l, us, n / l / (base * 1000) * 100, base }'
stop_loader

# ns_workload : what the per-program figures are taken over.
ns_workload() {
	pipe_us >/dev/null
	msg_s >/dev/null
	dd if=/dev/zero of="$B/overhead-io.$$" bs=64k count=1024 oflag=direct status=none
	rm -f "$B/overhead-io.$$"
	tcp_traffic 200
}

# prog_block : after SIGTERM to the loader, its "prog NAME runs N ns_per_run X" lines.
prog_block() {
	local line
	kill -TERM "$LOADER_PID"
	while read -r -t 10 line <&7; do
		case $line in
		prog* | stats*) echo "$line" ;;
		end) break ;;
		esac
	done
	wait "$LOADER_PID" 2>/dev/null
	LOADER_PID=
}

# The floor: empty programs on the same hooks under the same statistics and
# workload (bpf/floor.bpf.c).
start_loader --floor
ns_workload
floor=$(prog_block)
start_loader --stats
ns_workload
progs=$(prog_block)
echo "# ns per program run (kernel BPF stats on; workload: the runs above plus 64 MiB of"
echo "# O_DIRECT writes in 64 KiB blocks and 200 loopback TCP connections).  'empty' is an"
echo "# empty program on the same hook over the same workload (statistics, dispatch and,"
echo "# here, the cold TLB of every kernel entry); 'own' is the difference"
grep '^stats' <<<"$progs" | sed 's/^/# /'
awk 'NR == FNR { if ($1 == "prog") { n = $2; sub(/^floor_/, "", n); e[n] = $6 } next }
	$1 == "prog" { n = $2; sub(/_(btf|raw)$/, "", n)
		if (n in e && $4 > 0)
			printf "%-22s runs %-10s ns/run %-8s empty %-8s own %.1f\n", $2, $4, $6, e[n], $6 - e[n]
		else
			printf "%-22s runs %-10s ns/run %s\n", $2, $4, $6 }' \
	<(printf '%s\n' "$floor") <(printf '%s\n' "$progs")
