# tests/lib/port.sh - TCP ports for a test's listeners.
#
#   free_port VAR
#       sets VAR to a port of 127.0.0.1 that nothing is bound to right now,
#       drawn at random from 20000-32767: below the kernel's default
#       ephemeral range (32768-60999), so outgoing connections cannot take
#       it between this check and the listener's bind.  A port this shell
#       handed out before is not handed out again, even if its listener has
#       not bound it yet.  Returns 1 (VAR unset) after 200 busy draws.

FREE_PORTS_GIVEN=${FREE_PORTS_GIVEN:-" "}

free_port() {
	local var=$1 p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 12768))
		[[ $FREE_PORTS_GIVEN == *" $p "* ]] && continue
		if python3 -c 'import socket, sys; socket.socket().bind(("127.0.0.1", int(sys.argv[1])))' \
			"$p" 2>/dev/null; then
			FREE_PORTS_GIVEN+="$p "
			printf -v "$var" '%s' "$p"
			return 0
		fi
	done
	echo "free_port: no free port on 127.0.0.1 in 200 draws" >&2
	return 1
}
