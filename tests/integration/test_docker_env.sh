#!/usr/bin/env bash
# test_docker_env.sh - the private-dockerd helpers other integration tests
# build on (tests/integration/lib/dockerd.sh): two daemons side by side on
# private sockets, the busybox image imported without a registry, host
# networking, the cgroup layout presage's container discovery expects,
# a --live-restore restart keeping containers, and a cleanup that leaves no
# mount, process or directory behind.
set -u
cd "$(dirname "$0")/../.."
source tests/lib/tap.sh
source tests/lib/port.sh
source tests/integration/lib/dockerd.sh

if ! command -v dockerd >/dev/null; then
	echo "ok 1 - docker env # SKIP dockerd not installed"
	exit 0
fi

dockerd_start env-a --live-restore || { tap_fail "first private dockerd starts"; tap_done; exit 1; }
tap_ok "first private dockerd starts on $DOCKERD_SOCK"
dockerd_save A
dockerd_start env-b || { tap_fail "second private dockerd starts"; tap_done; exit 1; }
tap_ok "a second dockerd runs side by side"
dockerd_save B
tap_check "the two daemons are separate" test "$(docker -H "$A_HOST" info -f '{{.DockerRootDir}}')" != \
	"$(docker -H "$B_HOST" info -f '{{.DockerRootDir}}')"

dockerd_use A
tap_check "busybox image imported without a registry" bb_image_import
tap_check "importing twice is a no-op" bb_image_import
cid=$(dk run -d --network host --label presage.enable=true "$DOCKERD_TAG" sleep 300)
tap_check "a host-network container runs" test -n "$cid"
pid=$(dk inspect -f '{{.State.Pid}}' "$cid")
cg=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
tap_check "its v2 cgroup is /docker/<id> ($cg)" test "$cg" = "/docker/$cid"
tap_check "the container answers through host networking" \
	dk exec "$cid" sh -c 'nc -l -p 0 -w 1 </dev/null >/dev/null 2>&1 || true'

# Replicas sharing a port: the SO_REUSEPORT helper, shipped into an image.
B=${PRESAGE_BUILD:-build}
if [ -x "$B/tests/helpers/http_reuseport" ]; then
	bb_image_import presage-web:test "$B/tests/helpers/http_reuseport"
	tap_check "an image with the http_reuseport helper imported" \
		sh -c "docker -H $DOCKERD_HOST image inspect presage-web:test >/dev/null"
	free_port port
	for r in 1 2; do
		dk run -d --network host --name "rep-$r" presage-web:test \
			http_reuseport --port "$port" --name "rep-$r" >/dev/null
	done
	wait_for 10 curl -fsS "http://127.0.0.1:$port/" >/dev/null
	seen=$(for i in $(seq 40); do curl -fsS "http://127.0.0.1:$port/"; done | awk '{ print $1 }' | sort -u | tr '\n' ' ')
	tap_check "two replicas on one port both serve ($seen)" test "$seen" = "rep-1 rep-2 "
	dk rm -f rep-1 rep-2 >/dev/null
else
	tap_ok "replicas on one port # SKIP build/tests/helpers/http_reuseport not built"
fi

dockerd_restart || tap_fail "dockerd restarts"
tap_check "--live-restore keeps the container over a daemon restart" \
	test "$(dk inspect -f '{{.State.Pid}}' "$cid")" = "$pid"

dir_a=$A_DIR
pid_a=$DOCKERD_PID
dockerd_use B
pid_b=$DOCKERD_PID
dir_b=$DOCKERD_DIR
dockerd_destroy
dockerd_use A
dockerd_destroy
tap_check "no mount left under the daemons' directories" \
	test -z "$(awk -v a="$dir_a" -v b="$dir_b" 'index($5, a) == 1 || index($5, b) == 1' /proc/self/mountinfo)"
tap_check "the directories are removed" test ! -e "$dir_a" -a ! -e "$dir_b"
tap_check "the daemons are gone (also the restarted one)" \
	sh -c "! kill -0 $pid_a 2>/dev/null && ! kill -0 $pid_b 2>/dev/null"
tap_done
