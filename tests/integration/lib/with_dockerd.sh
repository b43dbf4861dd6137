#!/usr/bin/env bash
# tests/integration/lib/with_dockerd.sh - run a test program against private
# dockerds, then clean up.
#
# Usage: with_dockerd.sh PROGRAM [ARGS...]
# Starts two daemons (see dockerd.sh): a plain one with --live-restore (its
# containers survive a daemon restart; used for the docker driver and outage
# tests) and a swarm manager (`docker swarm init`), imports the busybox image
# into both, exports
#   PRESAGE_TEST_DOCKER   unix://... of the plain daemon
#   PRESAGE_TEST_DOCKER_DIR  its directory (for dockerd_ctl.sh stop|start)
#   PRESAGE_TEST_SWARM    unix://... of the swarm manager
#   PRESAGE_TEST_IMAGE    the imported image tag
# and runs PROGRAM.  Prints one TAP "not ok" and exits 1 if setup fails;
# otherwise exits with PROGRAM's status.
set -u
cd "$(dirname "$0")/../../.."
source tests/lib/tap.sh
source tests/lib/port.sh
source tests/integration/lib/dockerd.sh

setup_fail() {
	echo "not ok 1 - private dockerd setup: $1"
	exit 1
}

command -v dockerd >/dev/null || setup_fail "dockerd is not installed"
# Swarm makes a docker_gwbridge link in the host's namespace and leaves it
# when the daemon stops: remove it afterwards unless it was there before.
ip link show docker_gwbridge >/dev/null 2>&1 ||
	cleanup_push "ip link show docker_gwbridge >/dev/null 2>&1 && ip link delete docker_gwbridge"
dockerd_start swarm || setup_fail "swarm dockerd did not start"
bb_image_import || setup_fail "busybox image import failed"
# Random ports: another swarm on this host may hold the defaults (2377, 4789).
free_port port
dk swarm init --advertise-addr "127.0.0.1:$port" --listen-addr "127.0.0.1:$port" \
	--data-path-port $((port + 1)) >/dev/null 2>&1 || setup_fail "docker swarm init failed"
export PRESAGE_TEST_SWARM=$DOCKERD_HOST
dockerd_start plain --live-restore || setup_fail "plain dockerd did not start"
bb_image_import || setup_fail "busybox image import failed"
export PRESAGE_TEST_DOCKER=$DOCKERD_HOST PRESAGE_TEST_DOCKER_DIR=$DOCKERD_DIR
export PRESAGE_TEST_IMAGE=$DOCKERD_TAG
"$@"
