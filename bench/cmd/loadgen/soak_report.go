package main

// The soak's readings and its report: what it samples from the server
// along the way, and the summary it prints at the end as text and JSON.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"time"
)

// debugVars is what the soak reads from the server's /debug/vars.
type debugVars struct {
	Goroutines   int64            `json:"goroutines"`
	HeapLive     int64            `json:"heap_live"`
	Sockets      int64            `json:"sockets"`
	SocketErrors int64            `json:"socket_errors"`
	LastError    string           `json:"last_socket_error"`
	Causes       map[string]int64 `json:"disconnect_causes"`
	MemStats     struct {
		HeapAlloc  int64 `json:"HeapAlloc"`
		HeapInuse  int64 `json:"HeapInuse"`
		StackInuse int64 `json:"StackInuse"`
		Sys        int64 `json:"Sys"`
		NumGC      int64 `json:"NumGC"`
	} `json:"memstats"`
}

// soakSample is one periodic reading of the server.
type soakSample struct {
	Label     string  `json:"label"`
	AtSeconds float64 `json:"at_s"` // since the start of the exchange window
	RSS       int64   `json:"rss_bytes"`
	CPUPct    float64 `json:"server_cpu_pct"` // of one core, since the previous sample
	// LoadgenPct is the load generator's CPU (of one core) and OtherPct
	// every other process's (of the whole machine) since the previous
	// sample: how much the machine was shared.
	LoadgenPct float64 `json:"loadgen_cpu_pct"`
	OtherPct   float64 `json:"other_cpu_pct"`
	Goroutines int64   `json:"goroutines,omitempty"`
	HeapLive   int64   `json:"heap_live_bytes,omitempty"`
	HeapAlloc  int64   `json:"heap_alloc_bytes,omitempty"`
	StackInuse int64   `json:"stack_inuse_bytes,omitempty"`
	Sockets    int64   `json:"sockets,omitempty"`
	NumGC      int64   `json:"num_gc,omitempty"`
}

var debugClient = &http.Client{Timeout: 5 * time.Second}

func (s *soak) readDebug() (debugVars, bool) {
	var v debugVars
	if s.so.debugURL == "" {
		return v, false
	}
	resp, err := debugClient.Get(s.so.debugURL)
	if err != nil {
		return v, false
	}
	defer resp.Body.Close()
	if json.NewDecoder(resp.Body).Decode(&v) != nil {
		return v, false
	}
	return v, true
}

// sampler reads the server's RSS, CPU and runtime figures.
type sampler struct {
	s        *soak
	lastCPU  time.Duration
	lastSelf time.Duration
	lastBusy time.Duration
	lastAt   time.Time
	t0       time.Time
}

func (sm *sampler) take(label string) soakSample {
	now := time.Now()
	out := soakSample{Label: label, AtSeconds: now.Sub(sm.t0).Seconds()}
	out.RSS, _ = rssBytes(sm.s.o.pid)
	if c, err := cpuTime(sm.s.o.pid); err == nil {
		self, _ := cpuTime(os.Getpid())
		busy, _, _ := machineBusy()
		if !sm.lastAt.IsZero() {
			wall := float64(now.Sub(sm.lastAt))
			out.CPUPct = 100 * float64(c-sm.lastCPU) / wall
			out.LoadgenPct = 100 * float64(self-sm.lastSelf) / wall
			other := (busy - sm.lastBusy) - (c - sm.lastCPU) - (self - sm.lastSelf)
			out.OtherPct = max(0, 100*float64(other)/(wall*float64(runtime.NumCPU())))
		}
		sm.lastCPU, sm.lastSelf, sm.lastBusy, sm.lastAt = c, self, busy, now
	}
	if v, ok := sm.s.readDebug(); ok {
		out.Goroutines, out.HeapLive, out.Sockets = v.Goroutines, v.HeapLive, v.Sockets
		out.HeapAlloc, out.StackInuse, out.NumGC = v.MemStats.HeapAlloc, v.MemStats.StackInuse, v.MemStats.NumGC
	}
	return out
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func (s *soak) printSample(smp soakSample) {
	line := fmt.Sprintf("[%7.1fs %-7s] server rss=%s cpu=%.0f%%", smp.AtSeconds, smp.Label, mib(smp.RSS), smp.CPUPct)
	if smp.Goroutines > 0 {
		line += fmt.Sprintf(" goroutines=%d heap_live=%s heap_alloc=%s stack=%s sockets=%d gcs=%d",
			smp.Goroutines, mib(smp.HeapLive), mib(smp.HeapAlloc), mib(smp.StackInuse), smp.Sockets, smp.NumGC)
	}
	n, oldest := s.pendingCount()
	line += fmt.Sprintf(" | loadgen cpu=%.0f%% others=%.0f%% of the machine", smp.LoadgenPct, smp.OtherPct)
	line += fmt.Sprintf(" | acks sent=%d ok=%d late=%d wrong=%d pending=%d (oldest %.1f s) | bcast sent=%d recv=%d missing=%d dup=%d | disconnects=%d protocol=%d",
		s.acksSent.Load(), s.acksOK.Load(), s.acksLate.Load(), s.acksWrong.Load(), n, oldest.Seconds(),
		s.bcastSeq.Load(), s.bcastRecv.Load(), s.bcastMissing.Load(), s.bcastDup.Load(),
		s.disconnects.total(), s.protocol.total())
	fmt.Println(line)
}

// pendingCount returns how many acks are awaited and the age of the
// oldest.
func (s *soak) pendingCount() (n int, oldest time.Duration) {
	now := time.Now()
	for _, p := range s.peers {
		if p == nil {
			continue
		}
		p.mu.Lock()
		n += len(p.pending)
		for _, t := range p.pending {
			oldest = max(oldest, now.Sub(t))
		}
		p.mu.Unlock()
	}
	return n, oldest
}

// soakSummary is the soak's final report, printed as text and JSON.
type soakSummary struct {
	Server            string           `json:"server"`
	Scenario          string           `json:"scenario"`
	WSClients         int              `json:"ws_clients"`
	PollingClients    int              `json:"polling_clients"`
	Connected         int              `json:"connected"`
	RampSeconds       float64          `json:"ramp_seconds"`
	DurationSeconds   float64          `json:"duration_seconds"`
	EchoIntervalS     float64          `json:"echo_interval_s"`
	AcksSent          int64            `json:"acks_sent"`
	AcksOK            int64            `json:"acks_ok"`
	AcksLate          int64            `json:"acks_late"`
	AcksLost          int64            `json:"acks_lost"`
	AcksWrong         int64            `json:"acks_wrong"`
	AckRate           float64          `json:"acks_per_s"`
	AckP50ms          float64          `json:"ack_p50_ms"`
	AckP99ms          float64          `json:"ack_p99_ms"`
	AckMaxms          float64          `json:"ack_max_ms"`
	BcastSent         int64            `json:"broadcasts_sent"`
	BcastCount        int              `json:"messages_per_broadcast"`
	BcastExpected     int64            `json:"broadcast_messages_expected"`
	BcastRecv         int64            `json:"broadcast_messages_received"`
	BcastMissing      int64            `json:"broadcast_messages_missing"`
	BcastMissingDead  int64            `json:"broadcast_messages_missing_disconnected"`
	BcastDup          int64            `json:"broadcast_messages_duplicate"`
	BcastOutOfOrder   int64            `json:"broadcast_messages_out_of_order"`
	Pongs             int64            `json:"pongs"`
	AckLatency        []latencyLine    `json:"ack_latency_by_transport"`
	LateAcks          []reasonCount    `json:"late_acks_by_transport"`
	LostAcks          []reasonCount    `json:"lost_acks_by_transport"`
	ConnectFailures   []reasonCount    `json:"connect_failures"`
	Disconnects       []reasonCount    `json:"disconnects"`
	ProtocolErrors    []reasonCount    `json:"protocol_errors"`
	ServerSocketErrs  int64            `json:"server_socket_errors"`
	ServerLastError   string           `json:"server_last_socket_error,omitempty"`
	ServerDisconnects map[string]int64 `json:"server_disconnect_causes,omitempty"`
	Samples           []soakSample     `json:"samples"`
	ServerCPUSeconds  float64          `json:"server_cpu_s"`
	LoadgenCPUSeconds float64          `json:"loadgen_cpu_s"`
	OtherCPUPct       float64          `json:"other_cpu_pct"`
	LateFails         bool             `json:"late_acks_fail"`
	Pass              bool             `json:"pass"`
}

// latencyLine is the ack round trip of one transport.
type latencyLine struct {
	Transport string  `json:"transport"`
	Acks      int     `json:"acks"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
	Maxms     float64 `json:"max_ms"`
}

func latencyOf(transport string, lat []time.Duration) latencyLine {
	p50, p99 := percentiles(lat)
	l := latencyLine{Transport: transport, Acks: len(lat), P50ms: p50 / 1e3, P99ms: p99 / 1e3}
	if len(lat) > 0 {
		l.Maxms = float64(lat[len(lat)-1].Microseconds()) / 1e3 // sorted by percentiles
	}
	return l
}

// runSoak runs the soak and prints its samples and summary; it returns the

func printSoakSummary(s soakSummary) {
	w := func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
	verdict := "PASS"
	if !s.Pass {
		verdict = "FAIL"
	}
	if s.Pass && s.AcksLate > 0 {
		verdict += fmt.Sprintf(" (nothing lost or wrong; %d acks arrived after the ack timeout: latency, which fails the run only with -late-fails)", s.AcksLate)
	}
	w("== soak summary: %s", verdict)
	w("clients            %d WebSocket + %d polling; %d connected (ramp %.1f s)", s.WSClients, s.PollingClients, s.Connected, s.RampSeconds)
	w("window             %.1f s, echo every %.1f s per client (jittered ±50%%)", s.DurationSeconds, s.EchoIntervalS)
	w("acks               sent %d, ok %d, late %d, lost %d, wrong %d (%.0f acks/s; round trip p50 %.2f ms, p99 %.2f ms, max %.2f ms)",
		s.AcksSent, s.AcksOK, s.AcksLate, s.AcksLost, s.AcksWrong, s.AckRate, s.AckP50ms, s.AckP99ms, s.AckMaxms)
	w("broadcasts         sent %d × %d messages; messages expected %d, received %d, missing %d (+%d at disconnected clients), duplicate %d, out of order %d",
		s.BcastSent, s.BcastCount, s.BcastExpected, s.BcastRecv, s.BcastMissing, s.BcastMissingDead, s.BcastDup, s.BcastOutOfOrder)
	for _, l := range s.AckLatency {
		w("  %-16s %d acks: p50 %.2f ms, p99 %.2f ms, max %.2f ms", l.Transport, l.Acks, l.P50ms, l.P99ms, l.Maxms)
	}
	w("heartbeats         %d PONGs sent", s.Pongs)
	list := func(name string, rs []reasonCount) {
		if len(rs) == 0 {
			w("%-18s none", name)
			return
		}
		for i, r := range rs {
			label := ""
			if i == 0 {
				label = name
			}
			w("%-18s %d × %s (e.g. %q)", label, r.Count, r.Reason, r.Example)
		}
	}
	list("late acks", s.LateAcks)
	list("lost acks", s.LostAcks)
	list("connect failures", s.ConnectFailures)
	list("disconnects", s.Disconnects)
	list("protocol errors", s.ProtocolErrors)
	w("server errors      %d EventError (last: %q); server-side disconnect causes during the run: %v", s.ServerSocketErrs, s.ServerLastError, s.ServerDisconnects)
	w("cpu                server %.1f s, load generator %.1f s, other processes %.1f %% of the machine", s.ServerCPUSeconds, s.LoadgenCPUSeconds, s.OtherCPUPct)
	w("memory             %-8s %10s %10s %10s %10s %8s %7s", "sample", "rss", "heap_live", "heap_alloc", "stack", "gorout.", "sockets")
	for _, smp := range s.Samples {
		if smp.Label == "sample" {
			continue
		}
		w("                   %-8s %10s %10s %10s %10s %8d %7d", smp.Label, mib(smp.RSS), mib(smp.HeapLive), mib(smp.HeapAlloc), mib(smp.StackInuse), smp.Goroutines, smp.Sockets)
	}
}
