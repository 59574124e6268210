#!/usr/bin/env bash
# Soak test of this package (see RELIABILITY.md): builds the load generator
# and the fiber-socketio bench server, starts the server (with its expvar
# endpoint on a second loopback port), raises the descriptor limit, runs
# `loadgen -scenario soak`, and stops the server. The exit status is the
# soak's: 0 when no ack or broadcast message was lost and no error was seen.
#
# Output: the samples and the summary on stdout, also written to
# results/soak.log, and the JSON summary to results/soak.json (both
# overwritten by each run). Not part of `make test`.
#
# Environment:
#   WS=10000 POLL=1000   clients per transport
#   DURATION=10m         exchange window (after the ramp-up)
#   PORT=3451 DEBUG_PORT=3452   server and expvar ports on 127.0.0.1
# Further arguments go to loadgen, e.g. ./soak.sh -interval 8s -ramp 300
set -euo pipefail
cd "$(dirname "$0")"

WS=${WS:-10000}
POLL=${POLL:-1000}
DURATION=${DURATION:-10m}
PORT=${PORT:-3451}
DEBUG_PORT=${DEBUG_PORT:-3452}

# 11,000 connections per process: raise the descriptor limit as far as the
# hard limit allows (the Go programs raise their own too).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$PORT" "$DEBUG_PORT"; do
	if listening "$p"; then
		echo "soak: port $p is in use; set PORT / DEBUG_PORT" >&2
		exit 2
	fi
done

mkdir -p bin results
echo "== build" >&2
go build -o bin/ ./cmd/loadgen ./servers/fiber-socketio

. ./server.sh

./bin/fiber-socketio -addr "127.0.0.1:$PORT" -debug-addr "127.0.0.1:$DEBUG_PORT" &
SERVER_PID=$!
for _ in $(seq 100); do
	listening "$PORT" && listening "$DEBUG_PORT" && break
	sleep 0.1
done
listening "$PORT" || {
	echo "soak: server did not listen on $PORT" >&2
	exit 2
}

{
	echo "machine: $(date -u '+%Y-%m-%d %H:%M UTC'); nproc $(nproc);" \
		"cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//');" \
		"memory $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo);" \
		"$(go env GOVERSION); ulimit -n $(ulimit -n); loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "command: ./bin/loadgen -server fiber-socketio -pid $SERVER_PID -url http://127.0.0.1:$PORT/socket.io/" \
		"-scenario soak -ws $WS -poll $POLL -duration $DURATION" \
		"-debug-url http://127.0.0.1:$DEBUG_PORT/debug/vars -json results/soak.json $*"
} | tee results/soak.log

rc=0
./bin/loadgen -server fiber-socketio -pid "$SERVER_PID" -url "http://127.0.0.1:$PORT/socket.io/" \
	-scenario soak -ws "$WS" -poll "$POLL" -duration "$DURATION" \
	-debug-url "http://127.0.0.1:$DEBUG_PORT/debug/vars" -json results/soak.json "$@" |
	tee -a results/soak.log || rc=$? # pipefail: loadgen's status
echo "loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a results/soak.log
exit "$rc"
