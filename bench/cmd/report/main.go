// Command report turns the JSON lines written by loadgen (one per run)
// into the Markdown tables of results/latest.md.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

type result struct {
	Server      string  `json:"server"`
	Scenario    string  `json:"scenario"`
	Label       string  `json:"label"`
	Clients     int     `json:"clients"`
	Ops         int64   `json:"ops"`
	Seconds     float64 `json:"seconds"`
	Rate        float64 `json:"rate"`
	P50us       float64 `json:"p50_us"`
	P99us       float64 `json:"p99_us"`
	CPUus       float64 `json:"server_cpu_us"`
	CPUusPerOp  float64 `json:"server_cpu_us_per_op"`
	ReadsPerOp  float64 `json:"server_reads_per_op"`
	WritesPerOp float64 `json:"server_writes_per_op"`
	Expected    int64   `json:"expected"`
	Shortfall   int64   `json:"shortfall"`
	Errors      int64   `json:"errors"`
	MemPerConnB float64 `json:"mem_per_conn_bytes"`
	ClientCPUus float64 `json:"loadgen_cpu_us"`
	Note        string  `json:"note"`
	FirstError  string  `json:"first_error"`
	Failed      bool    `json:"failed"`
	OtherCPUPct float64 `json:"other_cpu_pct"`
	StealPct    float64 `json:"steal_pct"`
	LoadAvg     float64 `json:"loadavg_1m"`
}

// scenario rows, in table order, keyed by the label run.sh gives loadgen.
type row struct {
	key, title, unit string
}

var rows = []row{
	{"handshake", "Handshake (EIO open + SIO connect, WebSocket), fresh server", "handshakes/s"},
	{"handshake-warm", "Handshake (EIO open + SIO connect, WebSocket), steady state", "handshakes/s"},
	{"echo", "Echo with ack, WebSocket", "acks/s"},
	{"fanout-1k", "Broadcast fan-out, 1,000 clients", "msgs/s delivered"},
	{"fanout-10k", "Broadcast fan-out, 10,000 clients", "msgs/s delivered"},
	{"poll-echo", "Echo with ack, HTTP long-polling", "acks/s"},
}

// servers in table order. fiber-socketio-lowmem is fiber-socketio with
// Fiber's ReduceMemoryUsage set (run.sh runs it in fanout-10k only),
// fiber-socketio-reuse with ReuseEventPayloads set (in echo only), and
// floor-fiber the floor behind Fiber and the contrib websocket middleware
// (in the handshake and echo scenarios only).
var servers = []string{"fiber-socketio", "fiber-socketio-lowmem", "fiber-socketio-reuse", "floor", "floor-fiber", "node"}

// ours reports whether server s is this package (in either configuration).
func ours(s string) bool { return strings.HasPrefix(s, "fiber-socketio") }

// targets: the CPU ratio of ours to the floor and to Node that issue 4
// aims at; 0 means no target.
var targets = map[string][2]float64{
	"handshake":      {1.1, 0.25},
	"handshake-warm": {1.1, 0.25},
	"echo":           {1.05, 0.5},
	"fanout-1k":      {0.5, 0},
	"fanout-10k":     {0.5, 0},
}

// memTargetBytes is issue 4's memory target: at most 12 KiB per idle
// WebSocket connection (server VmRSS delta / N at 10,000 connections),
// which puts it below the floor's, as the issue asks. It is an absolute
// figure, not a ratio: the ratio row shows "below the floor" (< 1.00).
const memTargetBytes = 12 << 10

func main() {
	in := flag.String("in", "results/latest.jsonl", "loadgen output")
	meta := flag.String("meta", "results/latest.meta", "key=value lines about the run")
	flag.Parse()

	runs := map[string]map[string][]result{}
	f, err := os.Open(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r result
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.Server == "" {
			continue
		}
		key := r.Label
		known := false
		for _, rw := range rows {
			known = known || rw.key == key
		}
		if !known {
			continue
		}
		if runs[key] == nil {
			runs[key] = map[string][]result{}
		}
		runs[key][r.Server] = append(runs[key][r.Server], r)
	}
	f.Close()
	var others, loads []float64
	var steal float64
	for _, byServer := range runs {
		for _, rs := range byServer {
			for _, r := range rs {
				if r.Failed {
					continue
				}
				others = append(others, r.OtherCPUPct)
				loads = append(loads, r.LoadAvg)
				steal = max(steal, r.StealPct)
			}
		}
	}
	sort.Float64s(others)
	sort.Float64s(loads)

	var b strings.Builder
	if m, err := os.ReadFile(*meta); err == nil {
		b.WriteString("Run: ")
		var parts []string
		for _, l := range strings.Split(strings.TrimSpace(string(m)), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				parts = append(parts, k+": "+v)
			}
		}
		b.WriteString(strings.Join(parts, "; "))
		b.WriteString("\n\n")
	}
	if len(others) > 0 {
		fmt.Fprintf(&b, "Disturbance during the %d loadgen runs: CPU used by other processes (neither the server nor the load generator) %.1f–%.1f %% of the machine (median %.1f %%); steal time at most %.1f %%; 1-minute load average at the end of a run %.2f–%.2f (the bench itself accounts for about 2).\n\n",
			len(others), others[0], others[len(others)-1], others[len(others)/2], steal, loads[0], loads[len(loads)-1])
	}

	b.WriteString("| Scenario | Server | Clients | Rate | p50 | p99 | Server CPU µs/op | Server syscalls/op (read / write) | Errors / shortfall |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, rw := range rows {
		for _, s := range servers {
			rs := runs[rw.key][s]
			if len(rs) == 0 {
				continue
			}
			r := median(rs)
			if r.Failed {
				fmt.Fprintf(&b, "| %s | %s | %d | failed | | | | | %s |\n", rw.title, s, r.Clients, esc(r.Note))
				continue
			}
			lat50, lat99 := "", ""
			if r.P50us > 0 {
				lat50, lat99 = ms(r.P50us), ms(r.P99us)
			}
			issues := "none"
			if r.Errors > 0 || r.Shortfall > 0 || r.Note != "" {
				issues = fmt.Sprintf("%d errors, %d short", r.Errors, r.Shortfall)
				if r.Note != "" {
					issues += ", " + esc(r.Note)
				}
				if r.FirstError != "" {
					issues += ": " + esc(trunc(r.FirstError, 80))
				}
			}
			runsNote, spread := "", ""
			if len(rs) > 1 {
				runsNote = fmt.Sprintf(" (median of %d)", len(rs))
				if lo, hi, ok := cpuRange(rs); ok {
					spread = fmt.Sprintf(" (%.2f–%.2f)", lo, hi)
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %s %s%s | %s | %s | %.2f%s | %.2f / %.2f | %s |\n",
				rw.title, s, r.Clients, num(r.Rate), rw.unit, runsNote, lat50, lat99, r.CPUusPerOp, spread,
				r.ReadsPerOp, r.WritesPerOp, issues)
		}
	}
	// Memory per idle connection, from the 10,000-client fan-out run.
	b.WriteString("\n| Memory per idle connection (fan-out-10k run) | bytes (server VmRSS delta / N) | target |\n| --- | ---: | ---: |\n")
	mem := map[string]float64{}
	for _, s := range servers {
		rs := runs["fanout-10k"][s]
		if len(rs) == 0 {
			continue
		}
		r := medianBy(rs, func(r result) float64 { return r.MemPerConnB })
		mem[s] = r.MemPerConnB
		verdict, target := "", "—"
		if ours(s) {
			target = "≤ 12 KiB (" + num(memTargetBytes) + ")"
			verdict = " (missed)"
			if r.MemPerConnB <= memTargetBytes {
				verdict = " (met)"
			}
		}
		fmt.Fprintf(&b, "| %s | %s%s | %s |\n", s, num(r.MemPerConnB), verdict, target)
	}

	b.WriteString("\nRatios of fiber-socketio to the floor and to Node (lower is better; server CPU per operation, memory per connection):\n\n")
	b.WriteString("| Scenario | ours/floor | target | ours/node | target |\n| --- | ---: | ---: | ---: | ---: |\n")
	cpu := func(key, s string) float64 {
		rs := runs[key][s]
		if len(rs) == 0 {
			return 0
		}
		r := median(rs)
		if r.Failed {
			return 0
		}
		return r.CPUusPerOp
	}
	for _, rw := range rows {
		ours := cpu(rw.key, "fiber-socketio")
		writeRatio(&b, rw.title+" (CPU/op)", ours, cpu(rw.key, "floor"), cpu(rw.key, "node"), targets[rw.key])
		if reuse := cpu(rw.key, "fiber-socketio-reuse"); reuse > 0 {
			writeRatio(&b, rw.title+", ReuseEventPayloads (CPU/op)", reuse, cpu(rw.key, "floor"), cpu(rw.key, "node"), targets[rw.key])
		}
	}
	writeMemRatio(&b, "Memory per idle connection", mem["fiber-socketio"], mem["floor"], mem["node"])
	if mem["fiber-socketio-lowmem"] > 0 {
		writeMemRatio(&b, "Memory per idle connection, Fiber ReduceMemoryUsage", mem["fiber-socketio-lowmem"], mem["floor"], mem["node"])
	}
	writeFrameworkShare(&b, cpu)
	writePerRun(&b, runs)
	fmt.Print(b.String())
}

// cpuRange returns the lowest and highest CPU per operation of the runs
// that did not fail.
func cpuRange(rs []result) (lo, hi float64, ok bool) {
	for _, r := range rs {
		if r.Failed {
			continue
		}
		if !ok || r.CPUusPerOp < lo {
			lo = r.CPUusPerOp
		}
		if !ok || r.CPUusPerOp > hi {
			hi = r.CPUusPerOp
		}
		ok = true
	}
	return lo, hi, ok
}

// writePerRun writes, when scenarios were repeated, ours over the floor
// run by run. run.sh runs every server once per repeat, one after the
// other, so the n-th runs of two servers are minutes apart at most, while
// the repeats of one server are a whole scenario apart: the per-run
// ratios show how far the median ratio above could move with the
// machine's noise.
func writePerRun(b *strings.Builder, runs map[string]map[string][]result) {
	var lines []string
	for _, rw := range rows {
		o, f := runs[rw.key]["fiber-socketio"], runs[rw.key]["floor"]
		if len(o) < 2 || len(o) != len(f) {
			continue
		}
		var ratios []string
		for i := range o {
			if o[i].Failed || f[i].Failed || f[i].CPUusPerOp <= 0 {
				ratios = append(ratios, "failed")
				continue
			}
			ratios = append(ratios, fmt.Sprintf("%.2f", o[i].CPUusPerOp/f[i].CPUusPerOp))
		}
		lines = append(lines, fmt.Sprintf("| %s (CPU/op) | %s |\n", rw.title, strings.Join(ratios, ", ")))
	}
	writeTable(b, "Run by run: ours/floor in each repeat (the servers of one repeat run back to back; the tables above take each server's median run):",
		"| Scenario | ours/floor, repeat 1, 2, … |\n| --- | --- |\n", lines)
}

// writeTable writes a paragraph and a table of lines under it; nothing
// when there are no lines.
func writeTable(b *strings.Builder, intro, header string, lines []string) {
	if len(lines) == 0 {
		return
	}
	b.WriteString("\n" + intro + "\n\n" + header)
	for _, l := range lines {
		b.WriteString(l)
	}
}

// writeFrameworkShare writes, when the run has floor-fiber, what Fiber
// and the contrib websocket middleware cost over the plain floor, and
// what this package costs over them: a diagnostic of the CPU ratios, with
// no target of its own.
func writeFrameworkShare(b *strings.Builder, cpu func(key, s string) float64) {
	var lines []string
	for _, rw := range rows {
		ff := cpu(rw.key, "floor-fiber")
		if ff <= 0 {
			continue
		}
		share := func(a, c float64) string {
			if a <= 0 || c <= 0 {
				return "n/a"
			}
			return fmt.Sprintf("%.2f", a/c)
		}
		lines = append(lines, fmt.Sprintf("| %s (CPU/op) | %s | %s |\n", rw.title,
			share(ff, cpu(rw.key, "floor")), share(cpu(rw.key, "fiber-socketio"), ff)))
	}
	writeTable(b, "Where the ratio to the floor comes from: floor-fiber is the floor's connection handler behind a Fiber app and the contrib websocket middleware, as this package is (no target; lower is better):",
		"| Scenario | floor-fiber/floor | ours/floor-fiber |\n| --- | ---: | ---: |\n", lines)
}

func writeRatio(b *strings.Builder, title string, ours, floor, node float64, t [2]float64) {
	ratio := func(a, c float64, target float64) (string, string) {
		tg := "—"
		if target > 0 {
			tg = fmt.Sprintf("≤ %.2f", target)
		}
		if a <= 0 || c <= 0 {
			return "n/a", tg
		}
		v := a / c
		s := fmt.Sprintf("%.2f", v)
		if target > 0 {
			if v <= target {
				s += " (met)"
			} else {
				s += " (missed)"
			}
		}
		return s, tg
	}
	rf, tf := ratio(ours, floor, t[0])
	rn, tn := ratio(ours, node, t[1])
	fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", title, rf, tf, rn, tn)
}

// writeMemRatio writes the memory row of the ratio table. Its target
// against the floor is the issue's "below the floor's" (< 1.00, implied by
// the absolute ≤ 12 KiB); there is none against Node.
func writeMemRatio(b *strings.Builder, title string, ours, floor, node float64) {
	rf, rn := "n/a", "n/a"
	if ours > 0 && floor > 0 {
		v := ours / floor
		rf = fmt.Sprintf("%.2f", v)
		if v < 1 {
			rf += " (met)"
		} else {
			rf += " (missed)"
		}
	}
	if ours > 0 && node > 0 {
		rn = fmt.Sprintf("%.2f", ours/node)
	}
	fmt.Fprintf(b, "| %s (below the floor) | %s | < 1.00 | %s | — |\n", title, rf, rn)
}

// median returns the run with the median CPU per operation.
func median(rs []result) result {
	return medianBy(rs, func(r result) float64 { return r.CPUusPerOp })
}

func medianBy(rs []result, key func(result) float64) result {
	s := append([]result(nil), rs...)
	sort.Slice(s, func(i, j int) bool { return key(s[i]) < key(s[j]) })
	return s[(len(s)-1)/2]
}

func ms(us float64) string { return fmt.Sprintf("%.2f ms", us/1000) }

// num formats with thousands separators.
func num(v float64) string {
	n := int64(v + 0.5)
	s := fmt.Sprintf("%d", n)
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	return string(out)
}

func esc(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
