#!/bin/sh
# Install the build, test and runtime packages presage needs (Debian/Ubuntu).
# Idempotent: packages already present are left alone.
set -e
PKGS="make clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libcjson-dev
libcurl4-openssl-dev libmicrohttpd-dev libcmocka-dev libclang-rt-14-dev pkg-config
docker.io prometheus haproxy wrk linux-perf busybox-static python3-statsmodels
valgrind jq iproute2 libbpf-tools curl util-linux procps systemd"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
