#!/usr/bin/env bash
# Alternating A/B runs of bench servers, for differences smaller than what
# the machine drifts between runs (see "Run to run" in BENCHMARKS.md): each
# round runs every server once, in turn, on the same scenario; at the end
# it prints each server's median server CPU per operation and, round by
# round, each server's figure over the first server's.
#
#   ./ab.sh [-n rounds] [-s scenario] name=command ...
#
# command is a bench server binary with its flags (quote it when it has
# flags); ab.sh adds -addr. The scenarios and their sizes are run.sh's
# (scenarios.sh). Example, the current tree against an older commit:
#
#   go build -o bin/ ./cmd/loadgen ./servers/floor ./servers/fiber-socketio
#   git -C .. worktree add /tmp/old <commit>
#   (cd /tmp/old/bench && go build -o /tmp/old-server ./servers/fiber-socketio)
#   ./ab.sh -n 8 -s handshake-warm floor=bin/floor old=/tmp/old-server new=bin/fiber-socketio
#
# Each run's figure goes to results/ab-<scenario>-<time>.txt as it comes.
set -euo pipefail
cd "$(dirname "$0")"

ROUNDS=5
SCEN=echo
while getopts "n:s:" opt; do
	case $opt in
	n) ROUNDS=$OPTARG ;;
	s) SCEN=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -lt 2 ]; then
	echo "usage: $0 [-n rounds] [-s scenario] name=command name=command ..." >&2
	exit 2
fi

. ./server.sh
. ./scenarios.sh
args=$(args_for "$SCEN")
if [ -z "$args" ]; then
	echo "unknown scenario $SCEN" >&2
	exit 2
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ -x bin/loadgen ] || go build -o bin/ ./cmd/loadgen
mkdir -p results
OUT=results/ab-$SCEN-$(date -u +%Y%m%d-%H%M%S).txt
PORT=3190

for round in $(seq "$ROUNDS"); do
	for spec in "$@"; do
		name=${spec%%=*}
		cmd=${spec#*=}
		# shellcheck disable=SC2086
		$cmd -addr 127.0.0.1:$PORT &
		SERVER_PID=$!
		for _ in $(seq 100); do
			(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
			sleep 0.1
		done
		sleep 0.3
		# shellcheck disable=SC2086
		cpu=$(./bin/loadgen -server "$name" -pid "$SERVER_PID" -label "$SCEN" \
			-url "http://127.0.0.1:$PORT/socket.io/" $args 2>/dev/null |
			sed -n 's/.*"server_cpu_us_per_op":\([0-9.]*\).*/\1/p') || true
		stop_server
		echo "$round $name ${cpu:-failed}" | tee -a "$OUT"
		sleep 1
	done
done

first=${1%%=*}
echo "== $SCEN, $ROUNDS rounds: median server CPU µs/op; per round, over $first"
for spec in "$@"; do
	name=${spec%%=*}
	awk -v n="$name" -v f="$first" '
		$3 == "failed" { next }
		$2 == f { base[$1] = $3 }
		$2 == n { v[++k] = $3; r[$1] = $3; if ($1 > last) last = $1 }
		END {
			# median of v (insertion sort: a few values)
			for (i = 2; i <= k; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j+1] = v[j]; v[j+1] = x }
			m = (k % 2) ? v[(k+1)/2] : (v[k/2] + v[k/2+1]) / 2
			line = sprintf("%-16s median %8.2f  ratios", n, m)
			for (i = 1; i <= last; i++) if ((i in r) && (i in base)) line = line sprintf(" %.3f", r[i] / base[i])
			print line
		}' "$OUT"
done
