# tests/lib/cgroup.sh - test cgroups on hybrid (v1 + v2) and pure v2 hosts.
#
# cg_create NAME makes /NAME in the v2 hierarchy and, on hybrid hosts, in the
# v1 controllers cpu, cpuacct, memory, blkio and pids; cg_enter NAME PID moves
# a process into all of them; cg_remove NAME kills what is left inside (by
# pid, read from the cgroup's own procs files) and removes the directories.
# Only cgroups these functions created are ever touched.  Requires tap.sh.

# mountinfo: fields after the " - " separator are fstype, source, super options.
_cg_mounts() { # prints "fstype mountpoint superopts" per cgroup mount
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1), $5, $(i + 3); break } }' \
		/proc/self/mountinfo | awk '$1 == "cgroup" || $1 == "cgroup2"'
}
CG_V2=$(_cg_mounts | awk '$1 == "cgroup2" { print $2; exit }')
CG_V1_CTRLS=(cpu cpuacct memory blkio pids)

cg_v1_dir() { # CTRL -> mount point of that v1 controller, or nothing
	_cg_mounts | awk -v c="$1" '$1 == "cgroup" { n = split($3, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $2; exit } }'
}

cg_dirs() { # NAME -> every directory of the test cgroup
	local c d
	echo "$CG_V2/$1"
	for c in "${CG_V1_CTRLS[@]}"; do
		d=$(cg_v1_dir "$c")
		[ -n "$d" ] && echo "$d/$1"
	done | sort -u
}

cg_create() {
	local d
	while read -r d; do
		mkdir -p "$d" || return 1
	done < <(cg_dirs "$1")
	cleanup_push "cg_remove '$1'"
}

cg_enter() {
	local d
	while read -r d; do
		echo "$2" >"$d/cgroup.procs" || return 1
	done < <(cg_dirs "$1")
}

cg_id() { # NAME -> v2 cgroup id (inode of the directory)
	stat -c %i "$CG_V2/$1"
}

cg_remove() {
	local d p i
	while read -r d; do
		[ -d "$d" ] || continue
		for i in $(seq 50); do
			# cgroup files report size 0: read them to see if anyone is left.
			p=$(cat "$d/cgroup.procs" 2>/dev/null)
			[ -n "$p" ] || break
			for p in $p; do kill -KILL "$p" 2>/dev/null; done
			sleep 0.1
		done
	done < <(cg_dirs "$1")
	# Children first (depth-first), then the cgroup itself.
	while read -r d; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done < <(cg_dirs "$1")
	return 0
}

# cg_cpu_seconds NAME -> CPU seconds from the kernel's own accounting
cg_cpu_seconds() {
	local d
	d=$(cg_v1_dir cpuacct)
	if [ -n "$d" ] && [ -f "$d/$1/cpuacct.usage" ]; then
		awk '{ printf "%.6f\n", $1 / 1e9 }' "$d/$1/cpuacct.usage"
	else
		awk '$1 == "usage_usec" { printf "%.6f\n", $2 / 1e6 }' "$CG_V2/$1/cpu.stat"
	fi
}
