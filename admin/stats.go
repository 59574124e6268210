package admin

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiber-socketio/socketio"
)

// aggregatedEvent is one entry of server_stats' aggregatedEvents: how many
// events of a type (and subtype) happened in one second, as Node's
// EventBuffer counts them.
type aggregatedEvent struct {
	Timestamp int64  `json:"timestamp"` // the second, in ms since the epoch
	Type      string `json:"type"`
	SubType   string `json:"subType,omitempty"`
	Count     int64  `json:"count"`
}

// traffic counts the messages and bytes of one second. The packet
// observers add to the current one with atomics only.
type traffic struct {
	second                                   int64 // ms since the epoch
	packetsIn, bytesIn, packetsOut, bytesOut atomic.Int64
}

// eventBuffer aggregates the engine's events by second until the next
// server_stats takes them.
type eventBuffer struct {
	cur atomic.Pointer[traffic]

	mu sync.Mutex
	// prev is the second before cur; it is read one second after it
	// stopped being current, when no observer can still be adding to it.
	prev   *traffic
	counts map[eventKey]int64
}

type eventKey struct {
	second       int64
	typ, subType string
}

func newEventBuffer() *eventBuffer {
	b := &eventBuffer{counts: map[eventKey]int64{}}
	b.cur.Store(&traffic{second: truncSecond(time.Now())})
	return b
}

func truncSecond(t time.Time) int64 { ms := t.UnixMilli(); return ms - ms%1000 }

// push counts one event of typ (rawConnection, rawDisconnection).
func (b *eventBuffer) push(typ, subType string) {
	k := eventKey{truncSecond(time.Now()), typ, subType}
	b.mu.Lock()
	b.counts[k]++
	b.mu.Unlock()
}

// tick starts a new second of traffic at now, and files the one before
// the previous.
func (b *eventBuffer) tick(now time.Time) {
	next := &traffic{second: truncSecond(now)}
	old := b.cur.Swap(next)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.prev != nil {
		b.file(b.prev)
	}
	b.prev = old
}

// file adds the counts of t; b.mu is held.
func (b *eventBuffer) file(t *traffic) {
	for _, c := range []struct {
		typ string
		n   int64
	}{
		{"packetsIn", t.packetsIn.Load()}, {"bytesIn", t.bytesIn.Load()},
		{"packetsOut", t.packetsOut.Load()}, {"bytesOut", t.bytesOut.Load()},
	} {
		if c.n > 0 {
			b.counts[eventKey{t.second, c.typ, ""}] += c.n
		}
	}
}

// take returns what was aggregated since the last call, oldest first.
func (b *eventBuffer) take() []aggregatedEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	list := make([]aggregatedEvent, 0, len(b.counts))
	for k, n := range b.counts {
		list = append(list, aggregatedEvent{Timestamp: k.second, Type: k.typ, SubType: k.subType, Count: n})
	}
	clear(b.counts)
	sort.Slice(list, func(i, j int) bool {
		if list[i].Timestamp != list[j].Timestamp {
			return list[i].Timestamp < list[j].Timestamp
		}
		return list[i].Type+list[i].SubType < list[j].Type+list[j].SubType
	})
	return list
}

// observeEngine counts the engine's connections, disconnections and
// traffic, and tracks the sessions on polling (pollingClientsCount).
func (in *Instrumentation) observeEngine() {
	in.srv.ObserveEngine(socketio.EngineObserver{
		Open: func(sid, transport string) {
			in.events.push("rawConnection", "")
			if transport == "polling" {
				in.polling.Store(sid, struct{}{})
			}
		},
		Upgrade: func(sid, transport string) {
			in.polling.Delete(sid)
			in.socketsUpgraded(sid, transport)
		},
		Close: func(sid, reason string) {
			in.polling.Delete(sid)
			in.events.push("rawDisconnection", reason)
		},
		PacketIn: func(_ string, size int) {
			t := in.events.cur.Load()
			t.packetsIn.Add(1)
			t.bytesIn.Add(int64(size))
		},
		PacketOut: func(_ string, size int) {
			t := in.events.cur.Load()
			t.packetsOut.Add(1)
			t.bytesOut.Add(int64(size))
		},
	})
}

// namespaceStats is one namespace of server_stats.
type namespaceStats struct {
	Name         string `json:"name"`
	SocketsCount int    `json:"socketsCount"`
}

// serverStats is the server_stats message.
type serverStats struct {
	serverIdentity
	Uptime              float64           `json:"uptime"`
	ClientsCount        int               `json:"clientsCount"`
	PollingClientsCount int               `json:"pollingClientsCount"`
	AggregatedEvents    []aggregatedEvent `json:"aggregatedEvents"`
	Namespaces          []namespaceStats  `json:"namespaces"`
}

// stats gathers the statistics of this server.
func (in *Instrumentation) stats() serverStats {
	st := serverStats{
		serverIdentity:   in.base,
		Uptime:           time.Since(in.started).Seconds(),
		ClientsCount:     in.srv.ClientsCount(),
		AggregatedEvents: in.events.take(),
		Namespaces:       []namespaceStats{},
	}
	in.polling.Range(func(_, _ any) bool {
		st.PollingClientsCount++
		return true
	})
	for _, n := range in.srv.Namespaces() {
		st.Namespaces = append(st.Namespaces, namespaceStats{Name: n.Name(), SocketsCount: n.SocketsCount()})
	}
	return st
}

// emitStatsLoop sends server_stats to the admin namespace at once and then
// every StatsInterval, and turns the traffic's seconds, until Stop.
func (in *Instrumentation) emitStatsLoop() {
	defer close(in.done)
	in.emitStats()
	stats := time.NewTicker(in.opts.StatsInterval)
	defer stats.Stop()
	seconds := time.NewTimer(time.Until(time.UnixMilli(in.events.cur.Load().second + 1000)))
	defer seconds.Stop()
	for {
		select {
		case <-in.stop:
			return
		case now := <-seconds.C:
			in.events.tick(now)
			seconds.Reset(time.Until(time.UnixMilli(truncSecond(now) + 1000)))
		case <-stats.C:
			in.emitStats()
		}
	}
}

func (in *Instrumentation) emitStats() {
	_ = in.nsp.Emit("server_stats", mustJSON(in.stats()))
}
