# Sourced by run.sh and ab.sh: args_for prints the loadgen arguments of a
# scenario. Full sizes keep the whole run.sh near 10 minutes on 2 cores;
# QUICK=1 gives tiny ones, a smoke test.
args_for() {
	local scen=$1
	if [ "${QUICK:-0}" = 1 ]; then
		case $scen in
		handshake) echo "-scenario handshake -clients 20 -n 300 -duration 10s" ;;
		handshake-warm) echo "-scenario handshake -clients 20 -warmup 100 -n 300 -duration 10s" ;;
		echo) echo "-scenario echo -clients 10 -duration 1s" ;;
		fanout-1k) echo "-scenario fanout -clients 100 -count 20 -settle 200ms -timeout 30s" ;;
		fanout-10k) echo "-scenario fanout -clients 500 -count 4 -settle 200ms -timeout 30s" ;;
		poll-echo) echo "-scenario poll-echo -clients 10 -duration 1s" ;;
		esac
		return
	fi
	case $scen in
	handshake) echo "-scenario handshake -clients 50 -n 5000 -duration 20s -timeout 60s" ;;
	handshake-warm) echo "-scenario handshake -clients 50 -warmup 2000 -n 20000 -duration 60s -timeout 120s" ;;
	echo) echo "-scenario echo -clients 50 -duration 10s -timeout 60s" ;;
	fanout-1k) echo "-scenario fanout -clients 1000 -count 500 -settle 2s -timeout 90s" ;;
	fanout-10k) echo "-scenario fanout -clients 10000 -count 40 -settle 3s -timeout 120s" ;;
	poll-echo) echo "-scenario poll-echo -clients 50 -duration 10s -timeout 60s" ;;
	esac
}
