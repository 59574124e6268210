#!/usr/bin/env bash
# Builds the bench, runs every scenario against every server, one server
# process at a time (a fresh one per scenario), and writes
# results/latest.jsonl (raw loadgen output) and results/latest.md (tables).
#
# Only a full run (all servers, all scenarios, not QUICK) writes
# results/latest.* and refreshes BENCHMARKS.md; other runs write
# results/partial.*.
#
# Environment:
#   REPEAT=n      run each scenario n times per server (the table shows the
#                 median by server CPU per operation); default 1
#   QUICK=1       tiny sizes, to check that everything works (seconds)
#   PROFILE=1     give fiber-socketio -cpuprofile results/ours-<scenario>.prof
#   QUIET_WAIT=s  before each run, wait up to s seconds (default 30) for the
#                 machine to be quiet: less than 15 % of its CPU busy over a
#                 second while nothing of the bench runs (the machine may be
#                 shared); 0 disables the wait
#   SERVERS="fiber-socketio fiber-socketio-lowmem fiber-socketio-reuse floor floor-fiber node"
#                 which servers to run; fiber-socketio-lowmem is the same
#                 server with Fiber's ReduceMemoryUsage set, run in the
#                 fanout-10k scenario only; fiber-socketio-reuse is the same
#                 server with ReuseEventPayloads set, run in echo only;
#                 floor-fiber is the floor mounted in a Fiber app behind the
#                 contrib websocket middleware (what the framework costs),
#                 run in the handshake and echo scenarios only
#   SCENARIOS="handshake handshake-warm echo fanout-1k fanout-10k poll-echo"
set -euo pipefail
cd "$(dirname "$0")"

REPEAT=${REPEAT:-1}
QUICK=${QUICK:-0}
PROFILE=${PROFILE:-0}
ALL_SERVERS="fiber-socketio fiber-socketio-lowmem fiber-socketio-reuse floor floor-fiber node"
SERVERS=${SERVERS:-$ALL_SERVERS}
QUIET_WAIT=${QUIET_WAIT:-30}
SCENARIOS=${SCENARIOS:-"handshake handshake-warm echo fanout-1k fanout-10k poll-echo"}

# 10,000 connections per process: raise the descriptor limit as far as the
# hard limit allows (the Go programs raise their own too).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

mkdir -p bin results
echo "== build" >&2
go build -o bin/ ./cmd/loadgen ./cmd/report ./servers/fiber-socketio ./servers/floor
if [ ! -d servers/node/node_modules/socket.io ] || [ servers/node/package-lock.json -nt servers/node/node_modules ]; then
	npm ci --prefix servers/node --no-audit --no-fund --silent
fi

FULL=0
if [ "$QUICK" != 1 ] && [ "$SERVERS" = "$ALL_SERVERS" ] &&
	[ "$SCENARIOS" = "handshake handshake-warm echo fanout-1k fanout-10k poll-echo" ]; then
	FULL=1
fi
# Only a full run replaces results/latest.*; others write results/partial.*.
NAME=partial
[ "$FULL" = 1 ] && NAME=latest
OUT=results/$NAME.jsonl
META=results/$NAME.meta
: >"$OUT"
{
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "nproc=$(nproc)"
	echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "go=$(go env GOVERSION)"
	echo "node=$(node --version)"
	echo "socket.io=$(node -p 'require("./servers/node/node_modules/socket.io/package.json").version')"
	echo "loadavg at start=$(cut -d' ' -f1-3 /proc/loadavg)"
	[ "$QUICK" = 1 ] && echo "sizes=QUICK (smoke test, not a measurement)"
	[ "$REPEAT" != 1 ] && echo "repeat=$REPEAT"
	echo "quiet wait=${QUIET_WAIT}s"
} >"$META"

PORT_OURS=3101
PORT_NODE=3102
PORT_FLOOR=3103
. ./server.sh
. ./scenarios.sh

start_server() { # name scenario -> sets SERVER_PID, PORT
	local name=$1 scen=$2
	case $name in
	fiber-socketio)
		PORT=$PORT_OURS
		local prof=()
		[ "$PROFILE" = 1 ] && prof=(-cpuprofile "results/ours-$scen.prof")
		./bin/fiber-socketio -addr 127.0.0.1:$PORT "${prof[@]}" &
		;;
	fiber-socketio-lowmem)
		PORT=$PORT_OURS
		./bin/fiber-socketio -addr 127.0.0.1:$PORT -reduce-memory &
		;;
	fiber-socketio-reuse)
		PORT=$PORT_OURS
		./bin/fiber-socketio -addr 127.0.0.1:$PORT -reuse-payloads &
		;;
	floor)
		PORT=$PORT_FLOOR
		./bin/floor -addr 127.0.0.1:$PORT &
		;;
	floor-fiber)
		PORT=$PORT_FLOOR
		./bin/floor -fiber -addr 127.0.0.1:$PORT &
		;;
	node)
		PORT=$PORT_NODE
		PORT=$PORT node servers/node/server.js &
		;;
	esac
	SERVER_PID=$!
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
			sleep 0.3 # let the accept of the probe settle
			return 0
		fi
		sleep 0.1
	done
	echo "server $name did not listen on $PORT" >&2
	return 1
}


# busy_pct prints the machine's busy CPU percentage over one second.
busy_pct() {
	local a b
	read -r -a a < <(head -1 /proc/stat)
	sleep 1
	read -r -a b < <(head -1 /proc/stat)
	local busy=$(((b[1] + b[2] + b[3] + b[6] + b[7]) - (a[1] + a[2] + a[3] + a[6] + a[7])))
	local idle=$(((b[4] + b[5]) - (a[4] + a[5])))
	echo $((100 * busy / (busy + idle + 1)))
}

# wait_quiet waits up to QUIET_WAIT seconds for the machine to be quiet.
wait_quiet() {
	[ "$QUIET_WAIT" -gt 0 ] || return 0
	local start=$SECONDS pct
	while :; do
		pct=$(busy_pct)
		[ "$pct" -lt 15 ] && return 0
		if [ $((SECONDS - start)) -ge "$QUIET_WAIT" ]; then
			echo "   (machine still ${pct}% busy after ${QUIET_WAIT}s; running anyway)" >&2
			return 0
		fi
		sleep 2
	done
}

for scen in $SCENARIOS; do
	for rep in $(seq "$REPEAT"); do
		for srv in $SERVERS; do
			if [ "$srv" = floor ] && [ "$scen" = poll-echo ]; then
				continue # the floor speaks WebSocket only
			fi
			if [ "$srv" = fiber-socketio-lowmem ] && [ "$scen" != fanout-10k ]; then
				continue # a memory figure: only the idle-connection scenario
			fi
			if [ "$srv" = fiber-socketio-reuse ] && [ "$scen" != echo ]; then
				continue # the option recycles the payloads of client events
			fi
			case $srv/$scen in
			floor-fiber/handshake | floor-fiber/handshake-warm | floor-fiber/echo) ;;
			floor-fiber/*) continue ;; # a diagnostic of the CPU targets only
			esac
			wait_quiet
			echo "== $scen / $srv (run $rep, load $(cut -d' ' -f1 /proc/loadavg))" >&2
			start_server "$srv" "$scen"
			# shellcheck disable=SC2046
			if ! line=$(./bin/loadgen -server "$srv" -pid "$SERVER_PID" \
				-label "$scen" -url "http://127.0.0.1:$PORT/socket.io/" $(args_for "$scen") 2>results/loadgen.err); then
				note=$(tr -d '"\\' <results/loadgen.err | tr '\n' ' ' | cut -c1-200)
				clients=$(args_for "$scen" | sed -n 's/.*-clients \([0-9]*\).*/\1/p')
				line="{\"server\":\"$srv\",\"label\":\"$scen\",\"clients\":$clients,\"failed\":true,\"note\":\"$note\"}"
			fi
			echo "$line" | tee -a "$OUT" >&2
			stop_server
			sleep 1
		done
	done
done

echo "loadavg at end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$META"
./bin/report -in "$OUT" -meta "$META" >"results/$NAME.md"
cat "results/$NAME.md"

# A full run also refreshes the table in BENCHMARKS.md (between the
# results markers); smoke tests and partial runs do not.
if [ "$FULL" = 1 ] && [ -f BENCHMARKS.md ]; then
	awk -v table=results/latest.md '
		/<!-- results:begin -->/ { print; while ((getline l < table) > 0) print l; skip = 1; next }
		/<!-- results:end -->/ { skip = 0 }
		!skip { print }
	' BENCHMARKS.md >BENCHMARKS.md.new && mv BENCHMARKS.md.new BENCHMARKS.md
fi
