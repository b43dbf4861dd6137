#!/usr/bin/env bash
# test_install.sh - `make install DESTDIR=<tmp>` installs binaries, config,
# systemd unit, man pages, bash completion and the Grafana dashboard; a copy
# of the unit whose ExecStart points into the DESTDIR tree passes
# `systemd-analyze verify`; `make uninstall` removes what install put there.
set -u
cd "$(dirname "$0")/../.."
source tests/lib/tap.sh

dest=$(mktemp -d /tmp/presage-install-XXXXXX)
cleanup_push "rm -rf '$dest'"
prefix=/usr/local
quiet() { "$@" >/dev/null 2>&1; }

if ! make -s install DESTDIR="$dest" PREFIX="$prefix" >"$dest.log" 2>&1; then
	tap_fail "make install DESTDIR=$dest" "$(tail -3 "$dest.log")"
	rm -f "$dest.log"
	tap_done
	exit 1
fi
rm -f "$dest.log"
tap_ok "make install DESTDIR=$dest"

unit=$dest/lib/systemd/system/presaged.service
for f in "$prefix/sbin/presaged" "$prefix/bin/presage"; do
	tap_check "installed executable $f" test -x "$dest$f"
done
for f in /etc/presage/presage.json /lib/systemd/system/presaged.service \
	"$prefix/share/man/man1/presage.1" "$prefix/share/man/man8/presaged.8" \
	"$prefix/share/bash-completion/completions/presage" \
	"$prefix/share/presage/grafana-dashboard.json"; do
	tap_check "installed $f" test -s "$dest$f"
done
tap_check "the unit's ExecStart is the installed daemon" \
	grep -q "^ExecStart=$prefix/sbin/presaged " "$unit"
tap_check "the unit restarts on failure and starts after docker" \
	bash -c "grep -q '^Restart=on-failure' '$unit' && grep -q '^After=.*docker.service' '$unit'"
tap_check "the installed config is valid" quiet "$dest$prefix/bin/presage" config check "$dest/etc/presage/presage.json"
tap_check "the dashboard is valid JSON with panels" \
	quiet jq -e '.panels | length > 10' "$dest$prefix/share/presage/grafana-dashboard.json"
tap_check "the installed daemon runs (--version)" quiet "$dest$prefix/sbin/presaged" --version

# systemd-analyze verify needs ExecStart to exist: verify a copy into DESTDIR.
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$dest/verify"
	sed "s|^ExecStart=$prefix/sbin/presaged|ExecStart=$dest$prefix/sbin/presaged|" "$unit" \
		>"$dest/verify/presaged.service"
	out=$(MANPATH=$dest$prefix/share/man systemd-analyze verify "$dest/verify/presaged.service" 2>&1)
	rc=$?
	tap_check "systemd-analyze verify accepts the unit" test $rc -eq 0 -a -z "$out"
	[ -n "$out" ] && sed 's/^/#   /' <<<"$out"
else
	tap_ok "systemd-analyze verify # SKIP systemd-analyze is not installed"
fi

for page in "$prefix/share/man/man1/presage.1" "$prefix/share/man/man8/presaged.8"; do
	warn=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=100 man --warnings -l "$dest$page" 2>&1 >/dev/null)
	tap_check "man page $(basename "$page") renders without warnings" test -z "$warn"
done
if [ -f /usr/share/bash-completion/bash_completion ]; then
	tap_check "bash completion registers presage" bash -c \
		"source /usr/share/bash-completion/bash_completion; source '$dest$prefix/share/bash-completion/completions/presage'; complete -p presage | grep -q _presage"
else
	tap_check "bash completion parses" bash -n "$dest$prefix/share/bash-completion/completions/presage"
fi

make -s uninstall DESTDIR="$dest" PREFIX="$prefix" >/dev/null 2>&1
tap_check "make uninstall removes the binaries, unit and pages" bash -c \
	"[ ! -e '$dest$prefix/sbin/presaged' ] && [ ! -e '$unit' ] && [ ! -e '$dest$prefix/share/man/man1/presage.1' ]"
tap_check "make uninstall keeps the configuration" test -f "$dest/etc/presage/presage.json"
tap_done
