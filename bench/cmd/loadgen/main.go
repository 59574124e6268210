// Command loadgen drives an Engine.IO v4 / Socket.IO v5 server on a
// loopback address through one scenario and prints one JSON line with the
// result: the rate, latency percentiles where relevant, and the server
// process's CPU time per operation (from /proc/PID/stat), which is what the
// comparison is about since the load generator shares the machine's cores
// with the server.
//
// The server must implement the bench behaviour (see BENCHMARKS.md):
// event "echo" with an ack answering the same arguments, and event "bcast"
// (payload, count) broadcasting event "msg" with payload count times to
// every connected socket.
//
// The soak scenario (-scenario soak, see RELIABILITY.md and soak.go) is
// different: it keeps -ws WebSocket and -poll polling clients connected for
// -duration, checks every ack and broadcast message, samples the server's
// memory, and prints a summary as text and JSON; its exit status is 1 when
// anything was lost or went wrong.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/fiber-socketio/socketio/bench/internal/fdlimit"
)

// result is one scenario's outcome, printed as a JSON line.
type result struct {
	Server   string  `json:"server"`
	Scenario string  `json:"scenario"`
	Label    string  `json:"label,omitempty"`
	Clients  int     `json:"clients"`
	Ops      int64   `json:"ops"`
	Seconds  float64 `json:"seconds"`
	Rate     float64 `json:"rate"`
	P50us    float64 `json:"p50_us,omitempty"`
	P99us    float64 `json:"p99_us,omitempty"`
	// CPUus is the server's CPU time (user+system) during the measured
	// window; CPUusPerOp divides it by Ops.
	CPUus      float64 `json:"server_cpu_us"`
	CPUusPerOp float64 `json:"server_cpu_us_per_op"`
	// Server system calls (read, write: syscr and syscw of /proc/PID/io)
	// during the window, per operation: shows how well writes are batched.
	ReadsPerOp  float64 `json:"server_reads_per_op"`
	WritesPerOp float64 `json:"server_writes_per_op"`
	reads       int64
	writes      int64
	// Expected and Shortfall: messages a broadcast should have delivered
	// and how many did not arrive before the timeout.
	Expected  int64 `json:"expected,omitempty"`
	Shortfall int64 `json:"shortfall"`
	Errors    int64 `json:"errors"`
	// Idle memory, for the fan-out scenario: server VmRSS before the
	// clients connected and after, and the delta per connection.
	RSSBefore   int64   `json:"rss_before,omitempty"`
	RSSAfter    int64   `json:"rss_after,omitempty"`
	MemPerConnB float64 `json:"mem_per_conn_bytes,omitempty"`
	ClientCPUus float64 `json:"loadgen_cpu_us"`
	// OtherCPUPct is the CPU used by every other process on the machine
	// during the whole loadgen run, in percent of all cores; StealPct the
	// hypervisor's steal time likewise; LoadAvg the one-minute load
	// average at the end. They tell how disturbed the measurement was.
	OtherCPUPct   float64 `json:"other_cpu_pct"`
	StealPct      float64 `json:"steal_pct"`
	LoadAvg       float64 `json:"loadavg_1m"`
	Note          string  `json:"note,omitempty"`
	FirstError    string  `json:"first_error,omitempty"`
	ConnectSecond float64 `json:"connect_seconds,omitempty"`
}

type options struct {
	t        target
	pid      int
	clients  int
	n        int
	warmup   int
	duration time.Duration
	count    int
	payload  int
	timeout  time.Duration
	settle   time.Duration
	dialConc int
}

func main() {
	var (
		rawURL   = flag.String("url", "http://127.0.0.1:3000/socket.io/", "server base URL (loopback only)")
		server   = flag.String("server", "", "server label in the output")
		scenario = flag.String("scenario", "", "handshake | echo | poll-echo | fanout | soak")
		label    = flag.String("label", "", "row label in the output (default: the scenario)")
		o        options
	)
	flag.IntVar(&o.pid, "pid", 0, "server process id (for CPU and RSS)")
	flag.IntVar(&o.clients, "clients", 50, "concurrent clients (handshake workers, echo clients, fan-out receivers)")
	flag.IntVar(&o.n, "n", 5000, "handshake: how many")
	flag.IntVar(&o.warmup, "warmup", 0, "handshake: how many to do first, outside the measurement")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "echo: measured window; handshake: upper bound")
	flag.IntVar(&o.count, "count", 100, "fanout: broadcasts (each to every client)")
	flag.IntVar(&o.payload, "payload", 32, "payload string length in bytes")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Second, "hard limit of the whole scenario")
	flag.DurationVar(&o.settle, "settle", 2*time.Second, "fanout: wait after connecting before reading RSS")
	flag.IntVar(&o.dialConc, "dial-concurrency", 100, "connections being opened at once")
	flag.IntVar(&spread, "spread", 8, "source addresses 127.0.0.1..127.0.0.N")
	var so soakOptions
	flag.IntVar(&so.ws, "ws", 10000, "soak: WebSocket clients")
	flag.IntVar(&so.poll, "poll", 1000, "soak: HTTP long-polling clients")
	flag.DurationVar(&so.interval, "interval", 5*time.Second, "soak: mean time between two echoes of one client (each wait jittered ±50%)")
	flag.DurationVar(&so.bcastEvery, "bcast-every", 5*time.Second, "soak: time between two broadcasts")
	flag.IntVar(&so.bcastCount, "bcast-count", 3, "soak: messages per broadcast (bcast count)")
	flag.DurationVar(&so.ackTimeout, "ack-timeout", 10*time.Second, "soak: an ack arriving later is counted late")
	flag.DurationVar(&so.sample, "sample", 30*time.Second, "soak: time between two samples of the server")
	flag.DurationVar(&so.drain, "drain", 10*time.Second, "soak: wait after the window for the last acks and messages")
	flag.IntVar(&so.ramp, "ramp", 500, "soak: connections opened per second during the ramp-up")
	flag.StringVar(&so.debugURL, "debug-url", "", "soak: the server's expvar URL, e.g. http://127.0.0.1:3199/debug/vars (loopback)")
	flag.StringVar(&so.jsonOut, "json", "", "soak: also write the JSON summary to this file")
	flag.BoolVar(&so.lateFails, "late-fails", false, "soak: acks later than -ack-timeout fail the run too (they are always counted)")
	flag.Parse()
	if *scenario == "soak" {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["duration"] {
			o.duration = 10 * time.Minute
		}
		if so.ws < 1 || so.poll < 0 || so.ramp < 1 || so.bcastCount < 1 || so.interval <= 0 || so.bcastEvery <= 0 || so.sample <= 0 {
			fatalf("soak: -ws ≥ 1, -poll ≥ 0, -ramp ≥ 1, -bcast-count ≥ 1 and positive durations are required")
		}
		if so.debugURL != "" {
			if _, err := parseTarget(so.debugURL); err != nil {
				fatalf("-debug-url: %v", err)
			}
		}
		if !set["timeout"] {
			ramp := time.Duration(float64(so.ws+so.poll) / float64(so.ramp) * float64(time.Second))
			o.timeout = ramp + o.duration + so.drain + 5*time.Minute
		}
	}

	if o.pid <= 0 {
		fatalf("-pid is required")
	}
	if spread < 1 || spread > 250 {
		fatalf("-spread must be 1..250")
	}
	t, err := parseTarget(*rawURL)
	if err != nil {
		fatalf("%v", err)
	}
	o.t = t
	fdlimit.Raise(1 << 16)

	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	// A watchdog: the scenario stops by itself even if a read hangs.
	go func() {
		time.Sleep(o.timeout + 15*time.Second)
		fmt.Fprintln(os.Stderr, "loadgen: watchdog timeout")
		os.Exit(3)
	}()

	if *scenario == "soak" {
		os.Exit(runSoak(ctx, o, so, *server))
	}

	selfBefore, _ := cpuTime(os.Getpid())
	serverBefore, _ := cpuTime(o.pid)
	busyBefore, stealBefore, _ := machineBusy()
	wallBefore := time.Now()
	var res result
	switch *scenario {
	case "handshake":
		res, err = runHandshake(ctx, o)
	case "echo":
		res, err = runEcho(ctx, o)
	case "poll-echo":
		res, err = runPollEcho(ctx, o)
	case "fanout":
		res, err = runFanout(ctx, o)
	default:
		fatalf("unknown -scenario %q", *scenario)
	}
	if err != nil {
		fatalf("%s: %v", *scenario, err)
	}
	selfAfter, _ := cpuTime(os.Getpid())
	serverAfter, _ := cpuTime(o.pid)
	busyAfter, stealAfter, _ := machineBusy()
	if capacity := float64(time.Since(wallBefore)) * float64(runtime.NumCPU()); capacity > 0 {
		other := (busyAfter - busyBefore) - (selfAfter - selfBefore) - (serverAfter - serverBefore)
		res.OtherCPUPct = max(0, 100*float64(other)/capacity)
		res.StealPct = 100 * float64(stealAfter-stealBefore) / capacity
	}
	res.LoadAvg = loadAvg1()
	res.Server = *server
	res.Scenario = *scenario
	res.Label = *label
	if res.Label == "" {
		res.Label = *scenario
	}
	res.ClientCPUus = float64((selfAfter - selfBefore).Microseconds())
	if res.Seconds > 0 {
		res.Rate = float64(res.Ops) / res.Seconds
	}
	if res.Ops > 0 {
		res.CPUusPerOp = res.CPUus / float64(res.Ops)
		res.ReadsPerOp = float64(res.reads) / float64(res.Ops)
		res.WritesPerOp = float64(res.writes) / float64(res.Ops)
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
	os.Exit(2)
}

// percentiles returns p50 and p99 of the samples, in microseconds.
func percentiles(samples []time.Duration) (p50, p99 float64) {
	if len(samples) == 0 {
		return 0, 0
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	at := func(q float64) float64 {
		i := int(q * float64(len(samples)-1))
		return float64(samples[i].Nanoseconds()) / 1e3
	}
	return at(0.50), at(0.99)
}

// cpuWindow measures the server's CPU time across a window.
type cpuWindow struct {
	pid    int
	start  time.Duration
	r0, w0 int64
	t0     time.Time
	// reads and writes are the server's system calls in the window, set
	// by stop.
	reads, writes int64
}

func startCPU(pid int) (*cpuWindow, error) {
	c, err := cpuTime(pid)
	r, w := syscalls(pid)
	return &cpuWindow{pid: pid, start: c, r0: r, w0: w, t0: time.Now()}, err
}

func (w *cpuWindow) stop() (cpuUs float64, err error) {
	c, err := cpuTime(w.pid)
	if err != nil {
		return 0, err
	}
	r, wr := syscalls(w.pid)
	if r >= 0 && w.r0 >= 0 {
		w.reads, w.writes = r-w.r0, wr-w.w0
	}
	return float64((c - w.start).Microseconds()), nil
}
