#!/usr/bin/env bash
# tests/integration/lib/dockerd_ctl.sh - stop or start a private dockerd
# started by dockerd.sh in another process: dockerd_ctl.sh stop|start DIR.
# Used by test programs for outage tests; the owner's cleanup still removes it.
set -u
cd "$(dirname "$0")/../../.."
source tests/lib/tap.sh
source tests/integration/lib/dockerd.sh
trap - EXIT
dockerd_attach "$2"
case $1 in
stop) dockerd_stop ;;
start) dockerd_start_again ;;
*) echo "usage: dockerd_ctl.sh stop|start DIR" >&2; exit 2 ;;
esac
