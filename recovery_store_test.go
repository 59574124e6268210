package socketio

import (
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// streamStore is a PacketStore for the tests: the in-memory adapter's
// rooms, with the stored packets and the lost sessions kept in a log that
// several servers can share, as a Redis stream is shared. Its offsets are
// "<n>-0", like a stream's.
type streamStore struct {
	Adapter
	log *packetLog
}

// packetLog is what the store keeps.
type packetLog struct {
	mu       sync.Mutex
	seq      int
	entries  []storedPacket
	sessions map[string]Session
}

type storedPacket struct {
	off  string
	enc  *EncodedPacket
	opts BroadcastOptions
}

func newPacketLog() *packetLog { return &packetLog{sessions: map[string]Session{}} }

// factory returns an AdapterFactory of stores sharing l.
func (l *packetLog) factory() AdapterFactory {
	return func(host AdapterHost) Adapter {
		return &streamStore{Adapter: NewMemoryAdapter(host), log: l}
	}
}

func (a *streamStore) StoresPackets() bool { return true }

func (a *streamStore) Broadcast(pkt *Packet, opts BroadcastOptions) error {
	if pkt.Offset != "" {
		a.log.mu.Lock()
		a.log.seq++
		pkt.Offset = strconv.Itoa(a.log.seq) + "-0"
		a.log.entries = append(a.log.entries, storedPacket{off: pkt.Offset, enc: pkt.Encode(), opts: opts})
		a.log.mu.Unlock()
	}
	return a.Adapter.Broadcast(pkt, opts)
}

func (a *streamStore) PersistSession(s *Session) {
	if n := len(s.Packets()); n > 0 {
		panic("a PacketStore was given " + strconv.Itoa(n) + " packets")
	}
	a.Adapter.DelAll(s.ID)
	a.log.mu.Lock()
	a.log.sessions[s.PID] = Session{ID: s.ID, PID: s.PID, UUID: s.UUID, Rooms: slices.Clone(s.Rooms), Data: s.Data, Deadline: s.Deadline}
	a.log.mu.Unlock()
}

func (a *streamStore) RestoreSession(pid, offset string) (*Session, error) {
	a.log.mu.Lock()
	defer a.log.mu.Unlock()
	s, ok := a.log.sessions[pid]
	delete(a.log.sessions, pid)
	if !ok || time.Now().After(s.Deadline) {
		return nil, ErrSessionNotFound
	}
	i := slices.IndexFunc(a.log.entries, func(e storedPacket) bool { return e.off == offset })
	if i < 0 {
		return nil, ErrRecoveryOffsetUnknown
	}
	for _, e := range a.log.entries[i+1:] {
		if selects(e.opts, s.Rooms) {
			s.Missed = append(s.Missed, e.enc)
		}
	}
	return &s, nil
}

// selects reports whether a broadcast with opts reaches a socket in rooms.
func selects(opts BroadcastOptions, rooms []string) bool {
	in := len(opts.Rooms) == 0
	for _, r := range rooms {
		if slices.Contains(opts.Except, r) {
			return false
		}
		in = in || slices.Contains(opts.Rooms, r)
	}
	return in
}

// TestPacketStoreOffsets: with a PacketStore, a broadcast and an emit to
// one socket both reach the adapter with an offset to replace, and the
// client receives the store's offset as the last argument.
func TestPacketStoreOffsets(t *testing.T) {
	t.Parallel()
	log := newPacketLog()
	srv := NewServer(recoveryConfig(RecoveryConfig{}))
	srv.SetAdapter(log.factory())
	srv.On("go", func(ep *EventPayload) {
		ep.Kws.EmitArgs("one", []byte(`1`))
		_ = srv.Of("/").Emit("all", []byte(`2`))
		ep.Kws.EmitWithAckTimeout("acked", []byte(`3`), time.Second, func([]byte, error) {})
	})
	ts := startServer(t, srv, nil)
	res := runNode(t, ts.url, `
const socket = io(URL, { transports: ["websocket"] });
const got = [];
socket.on("connect", () => socket.emit("go"));
socket.on("one", (...a) => got.push(["one", ...a]));
socket.on("all", (...a) => got.push(["all", ...a]));
socket.on("acked", (...a) => { a.pop()(); got.push(["acked", ...a]); out(got); process.exit(0); });
`, 10*time.Second)
	want := `[["one",1,"1-0"],["all",2,"2-0"],["acked",3]]`
	if len(res.lines) == 0 || res.lines[len(res.lines)-1] != want {
		t.Fatalf("client got %q, want %s", res.lines, want)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.entries) != 2 {
		t.Errorf("stored %d packets, want 2", len(log.entries))
	}
}
