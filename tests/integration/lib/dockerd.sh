# tests/integration/lib/dockerd.sh - a private dockerd for integration tests.
#
# Source after tests/lib/tap.sh (for cleanup_push, wait_for, kill_pid).
#
#   dockerd_start NAME [extra dockerd flags...]
#       starts dockerd on a private socket, data root, exec root and
#       containerd namespace under a fresh temp directory (it runs its own
#       containerd under the exec root); sets DOCKERD_SOCK, DOCKERD_HOST
#       (unix://...), DOCKERD_PID, DOCKERD_DIR and registers the cleanup.
#       Returns 1 (with the log tail on stderr) when it does not come up.
#   dockerd_attach DIR  adopt a daemon started elsewhere (by its directory)
#   dockerd_stop        stop it by pid (TERM, then KILL), keeping its data
#   dockerd_restart     stop and start again on the same directories
#   dockerd_destroy     stop, unmount anything under its dirs, remove them
#   dk ARGS...          the docker CLI against the private daemon
#   bb_image_import [TAG [BINARY...]]
#       builds a rootfs from busybox-static (/bin/busybox + applet links),
#       plus each BINARY in /bin with its shared libraries (e.g. the
#       build/tests/helpers/http_reuseport server), and `docker import`s it
#       as TAG (default presage-bb:test); no registry needed.
#
# Several daemons may run at once: call dockerd_start again and keep the
# variables of the first (dockerd_save VAR_PREFIX / dockerd_use VAR_PREFIX).

DOCKERD_TAG=${DOCKERD_TAG:-presage-bb:test}

dk() {
	docker -H "$DOCKERD_HOST" "$@"
}

_dockerd_launch() {
	local d=$DOCKERD_DIR
	dockerd --iptables=false --ip-forward=false --bridge=none --storage-driver=vfs \
		--host "unix://$d/docker.sock" --data-root "$d/data" --exec-root "$d/exec" \
		--pidfile "$d/dockerd.pid" --containerd-namespace "$DOCKERD_NS" \
		--containerd-plugins-namespace "${DOCKERD_NS}-plugins" \
		"${DOCKERD_EXTRA[@]}" >>"$d/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	if ! wait_for 30 dk version >/dev/null 2>&1; then
		echo "# dockerd did not come up; log tail:" >&2
		tail -5 "$d/dockerd.log" | sed 's/^/#   /' >&2
		return 1
	fi
}

dockerd_start() {
	local name=$1
	shift
	DOCKERD_EXTRA=("$@")
	# Short path: unix socket paths are limited to 108 bytes.
	DOCKERD_DIR=$(mktemp -d "/tmp/pd-$name-XXXXXX")
	DOCKERD_NS="presage-$name-$$"
	DOCKERD_SOCK=$DOCKERD_DIR/docker.sock
	DOCKERD_HOST=unix://$DOCKERD_SOCK
	cleanup_push "DOCKERD_DIR='$DOCKERD_DIR' DOCKERD_PID=\$(cat '$DOCKERD_DIR/pid' 2>/dev/null) dockerd_destroy"
	echo "$DOCKERD_NS" >"$DOCKERD_DIR/ns"
	: >"$DOCKERD_DIR/extra"
	[ ${#DOCKERD_EXTRA[@]} -eq 0 ] || printf '%s\n' "${DOCKERD_EXTRA[@]}" >"$DOCKERD_DIR/extra"
	_dockerd_launch || return 1
	echo "$DOCKERD_PID" >"$DOCKERD_DIR/pid"
}

# dockerd_attach DIR: take over a daemon started by another process (by its
# directory), e.g. to stop or restart it from a test program.
dockerd_attach() {
	DOCKERD_DIR=$1
	DOCKERD_NS=$(cat "$1/ns")
	DOCKERD_PID=$(cat "$1/pid")
	DOCKERD_SOCK=$1/docker.sock
	DOCKERD_HOST=unix://$DOCKERD_SOCK
	mapfile -t DOCKERD_EXTRA <"$1/extra"
}

dockerd_stop() {
	[ -n "${DOCKERD_PID:-}" ] || return 0
	kill_pid "$DOCKERD_PID"
	# kill_pid gives up after TERM + 5 s + KILL; wait until it is really gone
	# so a restart can take the socket and the containerd under exec-root.
	wait_for 20 sh -c "! kill -0 $DOCKERD_PID 2>/dev/null"
	DOCKERD_PID=
}

dockerd_restart() {
	dockerd_stop
	_dockerd_launch || return 1
	echo "$DOCKERD_PID" >"$DOCKERD_DIR/pid"
}

# dockerd_start_again: start a stopped daemon on its directories.
dockerd_start_again() {
	_dockerd_launch || return 1
	echo "$DOCKERD_PID" >"$DOCKERD_DIR/pid"
}

# Containers left running keep shims and mounts: stop the daemon (it stops
# them), then unmount whatever is still mounted under the dirs, deepest first.
dockerd_destroy() {
	local m
	[ -n "${DOCKERD_DIR:-}" ] && [ -d "$DOCKERD_DIR" ] || return 0
	[ -f "$DOCKERD_DIR/pid" ] && DOCKERD_PID=$(cat "$DOCKERD_DIR/pid")
	if [ -n "${DOCKERD_PID:-}" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
		dk ps -aq 2>/dev/null | xargs -r docker -H "unix://$DOCKERD_DIR/docker.sock" rm -f >/dev/null 2>&1
		dockerd_stop
	fi
	if [ -n "${DOCKERD_PID:-}" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
		echo "# dockerd $DOCKERD_PID would not stop; leaving $DOCKERD_DIR" >&2
		return 1
	fi
	for m in $(awk -v d="$DOCKERD_DIR" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	rm -rf "$DOCKERD_DIR"
}

# dockerd_save PFX / dockerd_use PFX: keep the state of several daemons.
dockerd_save() {
	local v
	for v in DIR NS SOCK HOST PID; do eval "${1}_$v=\${DOCKERD_$v}"; done
}
dockerd_use() {
	local v
	for v in DIR NS SOCK HOST; do eval "DOCKERD_$v=\${${1}_$v}"; done
	# The pid file is the truth: a restart in between changed the pid.
	DOCKERD_PID=$(cat "$DOCKERD_DIR/pid" 2>/dev/null)
	mapfile -t DOCKERD_EXTRA <"$DOCKERD_DIR/extra"
}

# _bb_add_binary ROOT BIN: copy BIN into ROOT/bin with the shared libraries
# ldd names (at their absolute paths), so dynamic test helpers run in busybox.
_bb_add_binary() {
	local root=$1 bin=$2 lib
	cp "$bin" "$root/bin/" || return 1
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ )]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib" || return 1
	done
}

bb_image_import() {
	local tag=${1:-$DOCKERD_TAG} root bb a b rc
	[ $# -gt 0 ] && shift
	dk image inspect "$tag" >/dev/null 2>&1 && return 0
	bb=$(command -v busybox) || { echo "# busybox-static is not installed" >&2; return 1; }
	root=$(mktemp -d /tmp/presage-bbroot-XXXXXX)
	mkdir -p "$root/bin" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/etc" "$root/www"
	cp "$bb" "$root/bin/busybox"
	for a in $("$root/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
	done
	for b in "$@"; do
		_bb_add_binary "$root" "$b" || { rm -rf "$root"; return 1; }
	done
	echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
	echo ok >"$root/www/index.html"
	tar -C "$root" -cf "$root.tar" . &&
		dk import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$root.tar" "$tag" >/dev/null
	rc=$?
	rm -rf "$root" "$root.tar"
	return $rc
}
