#!/usr/bin/env bash
# test_accept_netns.sh - accept-queue depth of a container with a network
# namespace of its own (--network none: only its loopback), which presaged's
# namespace cannot see: the server is stopped (SIGSTOP to its host pid),
# clients inside the container open connections that wait in its accept
# queue, and `presage top -o json` shows them; once the server runs again
# and accepts, the depth falls back to 0.
set -u
cd "$(dirname "$0")/../.."
source tests/lib/tap.sh
source tests/lib/port.sh
source tests/integration/lib/dockerd.sh
source tests/integration/lib/loop.sh

loop_begin loopa "accept queue in a container's namespace"

dk run -d --network none --name aq-web --stop-timeout 2 "$LOOP_IMAGE" \
	http_reuseport --port 8080 --threads 1 >/dev/null
srv=$(dk inspect -f '{{.State.Pid}}' aq-web)
tap_check "a server runs in a container with its own network namespace" \
	test -n "$srv" -a "$(readlink "/proc/$srv/ns/net")" != "$(readlink /proc/self/ns/net)"
listening() { dk exec aq-web sh -c 'nc -z 127.0.0.1 8080' 2>/dev/null; }
wait_for 10 listening

loop_daemon '{ "tick_seconds": 0.5, "model_step_seconds": 1 }' ||
	{ tap_fail "presaged starts"; tap_done; exit 1; }
depth() { pg top --once -o json 2>/dev/null | jq -r '.[] | select(.name == "aq-web") | .accept_queue_depth // empty'; }

kill -STOP "$srv"
# Six requests the stopped server cannot accept; it answers each (and
# closes) once it runs again.
dk exec -d aq-web sh -c 'for i in 1 2 3 4 5 6; do
	(printf "GET / HTTP/1.1\r\nHost: q\r\n\r\n"; sleep 30) | nc 127.0.0.1 8080 >/dev/null &
done; wait'
queued() { [ "$(depth)" = 6 ]; }
wait_for 20 queued
tap_check "the stopped server's accept queue is seen: 6 waiting (got '$(depth)')" queued
kill -CONT "$srv"
drained() { [ "$(depth)" = 0 ]; }
wait_for 10 drained
tap_check "the server accepts them: depth back to 0 (got '$(depth)')" drained
tap_check "no warning about network namespaces in the log" \
	sh -c "! grep -q 'network namespace' '$PD_LOG'"
tap_done
