package socketio

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClient is an in-process client (see newFakeSocket): a session with no
// transport and no worker, whose queue the test reads.
func fakeClient(tb testing.TB, srv *Server) *client {
	tb.Helper()
	cfg := srv.config()
	sess := &session{
		cfg:      &cfg,
		sid:      newSID(),
		req:      &requestInfo{ip: "127.0.0.1"},
		q:        newSendQueue(cfg.SendQueueSize),
		closeReq: make(chan struct{}),
		done:     make(chan struct{}),
	}
	sess.transport.Store(onWebSocket)
	sess.worker.Store(workerFinished) // no worker: the test reads the queue
	c := &client{srv: srv, h: &handler{srv: srv}, sess: sess}
	sess.handler = c
	return c
}

// connectWith sends a CONNECT for "/" with auth and returns the socket,
// nil when refused.
func connectWith(c *client, auth string) *Websocket {
	var data []byte
	if auth != "" {
		data = []byte(auth)
	}
	c.connect(sioPacket{Type: sioConnect, Nsp: "/", Data: data})
	return c.socket("/")
}

// queued returns the packets queued to the client: text as is, binary as
// "bin:" and the bytes.
func queued(c *client) []string {
	var out []string
	for _, p := range c.sess.q.take() {
		if p.binary {
			out = append(out, "bin:"+string(p.data))
		} else {
			out = append(out, string(p.data))
		}
	}
	return out
}

// connectReply decodes a "40{...}" CONNECT reply.
func connectReply(t *testing.T, p string) (sid, pid string) {
	t.Helper()
	if !strings.HasPrefix(p, "40{") {
		t.Fatalf("not a CONNECT reply: %q", p)
	}
	var v struct{ Sid, Pid string }
	if err := json.Unmarshal([]byte(p[2:]), &v); err != nil {
		t.Fatal(err)
	}
	return v.Sid, v.Pid
}

// eventArgs decodes a "42[...]" or "45N-[...]" EVENT into its name and
// arguments, and returns its offset (the last argument, when a string).
func eventArgs(t *testing.T, p string) (name string, args []string, offset string) {
	t.Helper()
	i := strings.IndexByte(p, '[')
	if i < 0 || p[0] != '4' || (p[1] != '2' && p[1] != '5') {
		t.Fatalf("not an EVENT: %q", p)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(p[i:]), &raw); err != nil {
		t.Fatalf("%q: %v", p, err)
	}
	_ = json.Unmarshal(raw[0], &name)
	for _, a := range raw[1:] {
		args = append(args, string(a))
	}
	if len(raw) > 1 {
		_ = json.Unmarshal(raw[len(raw)-1], &offset)
	}
	return name, args, offset
}

func authFor(pid, offset string) string {
	b, _ := json.Marshal(map[string]string{"pid": pid, "offset": offset})
	if offset == "" {
		b, _ = json.Marshal(map[string]string{"pid": pid})
	}
	return string(b)
}

// logCapture records the Logger's messages.
type logCapture struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logCapture) log(level, msg string, fields ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := level + " " + msg
	for _, f := range fields {
		if str, ok := f.(string); ok {
			s += " " + str
		}
	}
	l.msgs = append(l.msgs, s)
}

func (l *logCapture) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.msgs {
		if strings.Contains(m, sub) {
			return true
		}
	}
	return false
}

func TestRecoveryOffWireFormat(t *testing.T) {
	srv := NewServer(testConfig())
	c := fakeClient(t, srv)
	kws := connectWith(c, "")
	kws.EmitArgs("ev", []byte("1"))
	_ = srv.To(kws.id).Emit("ev", []byte("2"))
	got := queued(c)
	want := []string{`40{"sid":"` + kws.id + `"}`, `42["ev",1]`, `42["ev",2]`}
	if !equalStrings(got, want) {
		t.Fatalf("without recovery: %q, want %q", got, want)
	}
	if kws.rlog != nil || kws.pid != "" {
		t.Error("recovery state without recovery")
	}
}

// TestRecoveryReplayInOrder checks the exact packets: a CONNECT with a
// pid, offsets on direct emits and broadcasts (one encoding shared by the
// receivers), no offset on acks and volatile packets, and after a loss the
// replay of exactly what follows the client's offset, binary attachments
// included, behind the CONNECT reply and before newer packets.
func TestRecoveryReplayInOrder(t *testing.T) {
	srv := NewServer(recoveryConfig(RecoveryConfig{}))
	c := fakeClient(t, srv)
	kws := connectWith(c, `{"token":1}`)
	other := connectWith(fakeClient(t, srv), "")
	kws.Join("room")
	other.Join("room")
	pkts := queued(c)
	sid, pid := connectReply(t, pkts[0])
	if sid != kws.id || pid == "" || len(pkts) != 1 {
		t.Fatalf("connect reply %q", pkts)
	}
	kws.EmitArgs("ev", []byte("1"))
	_ = srv.To("room").Emit("ev", []byte("2"))
	kws.EmitWithAckTimeout("ask", []byte("3"), time.Minute, func([]byte, error) {})
	_ = kws.Volatile().Emit("vol", []byte(`"4"`))
	pkts = queued(c)
	if len(pkts) != 4 || pkts[3] != `42["vol","4"]` {
		t.Fatalf("queued %q, want the volatile packet last without an offset", pkts)
	}
	_, _, off1 := eventArgs(t, pkts[0])
	_, _, off2 := eventArgs(t, pkts[1])
	if off1 == "" || off2 == "" || off1 == off2 {
		t.Fatalf("offsets %q %q", off1, off2)
	}
	if _, args, _ := eventArgs(t, pkts[2]); len(args) != 1 || !strings.HasPrefix(pkts[2], "42") || strings.HasPrefix(pkts[2], "42[") {
		t.Errorf("ack emit carries an offset or lacks its id: %q", pkts[2])
	}
	otherPkts := queued(other.client)
	if otherPkts[len(otherPkts)-1] != pkts[1] {
		t.Errorf("broadcast differs per receiver: %q vs %q", otherPkts[len(otherPkts)-1], pkts[1])
	}
	// Packets 5 and 6 are queued but never reach the client.
	kws.EmitArgs("ev", []byte("5"))
	_ = srv.To("room").Emit("ev", []byte("6"))
	c.onClose(c.sess, ErrTransportClosed)
	if kws.IsAlive() {
		t.Fatal("socket alive after its session was lost")
	}
	// The gap: to the socket, to its room, to everyone, excepting its
	// room (not stored), to another room (not stored), binary.
	kws.EmitArgs("ev", []byte("7"))
	_ = srv.To("room").Emit("ev", []byte("8"))
	_ = srv.Of("/").Emit("ev", []byte("9"))
	_ = srv.Of("/").Except("room").Emit("no", []byte("0"))
	_ = srv.To("elsewhere").Emit("no", []byte("0"))
	_ = srv.To(kws.id).Volatile().Emit("no", []byte("0"))
	if err := kws.EmitValues("bin", []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	// A broadcast that selected the socket before the loss is delivered
	// after it: the held buffer takes it.
	nspHost{srv.Of("/")}.Deliver(kws.id, (&Packet{Nsp: "/", Event: "ev", Args: [][]byte{[]byte("10")}, Offset: formatOffset(srv.Of("/").nextOffset())}).Encode(), BroadcastFlags{}, nil)

	c2 := fakeClient(t, srv)
	back := connectWith(c2, authFor(pid, off2))
	if back == nil || !back.Recovered() || back.id != kws.id {
		t.Fatalf("not recovered: %+v", back)
	}
	kws.EmitArgs("ev", []byte("11")) // through the old socket, after the restore
	pkts = queued(c2)
	sid2, pid2 := connectReply(t, pkts[0])
	if sid2 != kws.id || pid2 != pid {
		t.Errorf("restored CONNECT %q", pkts[0])
	}
	var nums []string
	for _, p := range pkts[1:] {
		if strings.HasPrefix(p, "bin:") {
			nums = append(nums, "bin")
			continue
		}
		name, args, off := eventArgs(t, p)
		if off == "" {
			t.Errorf("replayed packet without offset: %q", p)
		}
		nums = append(nums, name+":"+args[0])
	}
	want := []string{"ev:5", "ev:6", "ev:7", "ev:8", "ev:9", `bin:{"_placeholder":true,"num":0}`, "bin", "ev:10", "ev:11"}
	if !equalStrings(nums, want) {
		t.Errorf("replay %q, want %q", nums, want)
	}
	if rooms := back.Rooms(); !equalStrings(rooms, sortedPair(back.id, "room")) {
		t.Errorf("rooms %v", rooms)
	}
	if len(srv.Of("/").adp().SocketRooms(back.id)) != 2 {
		t.Errorf("adapter rooms %v", srv.Of("/").adp().SocketRooms(back.id))
	}
	if string(back.HandshakeAuth()) == `{"token":1}` {
		t.Error("the recovered socket keeps the old auth instead of the new CONNECT's")
	}
	// Once restored, the pid cannot be used again.
	if again := connectWith(fakeClient(t, srv), authFor(pid, off2)); again == nil || again.Recovered() || again.id == kws.id {
		t.Errorf("pid restored twice")
	}
}

// lostSocket connects, sends n events (the client receives them all) and
// loses the connection; it returns the socket, its pid and the offsets.
func lostSocket(t *testing.T, srv *Server, n int) (*Websocket, string, []string) {
	t.Helper()
	c := fakeClient(t, srv)
	kws := connectWith(c, "")
	kws.Join("room")
	_, pid := connectReply(t, queued(c)[0])
	var offs []string
	for i := 0; i < n; i++ {
		kws.EmitArgs("ev", []byte("1"))
		_, _, off := eventArgs(t, queued(c)[0])
		offs = append(offs, off)
	}
	c.onClose(c.sess, nil) // a client-side transport close
	return kws, pid, offs
}

func TestRecoveryBounds(t *testing.T) {
	logs := &logCapture{}
	cfg := recoveryConfig(RecoveryConfig{MaxPackets: 4, MaxBytes: 1 << 20})
	cfg.Logger = logs.log
	srv := NewServer(cfg)

	t.Run("evicted while connected, offset still kept", func(t *testing.T) {
		kws, pid, offs := lostSocket(t, srv, 10)
		back := connectWith(fakeClient(t, srv), authFor(pid, offs[7]))
		if !back.Recovered() || back.id != kws.id {
			t.Fatal("not recovered")
		}
		if n := len(queued(back.client)); n != 1+2 {
			t.Errorf("replayed %d packets, want CONNECT and 2", n)
		}
	})
	t.Run("offset evicted", func(t *testing.T) {
		kws, pid, offs := lostSocket(t, srv, 10)
		back := connectWith(fakeClient(t, srv), authFor(pid, offs[2]))
		if back.Recovered() || back.id == kws.id {
			t.Fatal("recovered past evicted packets")
		}
		if !logs.has(ErrRecoveryOffsetUnknown.Error()) {
			t.Errorf("no log of the cause: %q", logs.msgs)
		}
		if srv.Of("/").adp().SocketRooms(kws.id) != nil {
			t.Error("the failed restore left the old socket in its rooms")
		}
	})
	t.Run("offset just evicted", func(t *testing.T) {
		_, pid, offs := lostSocket(t, srv, 10)
		back := connectWith(fakeClient(t, srv), authFor(pid, offs[5]))
		if !back.Recovered() || len(queued(back.client)) != 1+4 {
			t.Fatal("a client whose offset is the last evicted one misses nothing")
		}
	})
	t.Run("no offset, nothing sent", func(t *testing.T) {
		_, pid, _ := lostSocket(t, srv, 0)
		_ = srv.To("room").Emit("ev", []byte("1"))
		back := connectWith(fakeClient(t, srv), authFor(pid, ""))
		if !back.Recovered() || len(queued(back.client)) != 2 {
			t.Fatal("a client that received no event recovers everything")
		}
	})
	t.Run("junk offset", func(t *testing.T) {
		_, pid, _ := lostSocket(t, srv, 2)
		if connectWith(fakeClient(t, srv), authFor(pid, "hello")).Recovered() {
			t.Fatal("recovered from a string that is not an offset")
		}
	})
	t.Run("gap overflow", func(t *testing.T) {
		kws, pid, offs := lostSocket(t, srv, 1)
		for i := 0; i < 4; i++ {
			_ = srv.To("room").Emit("ev", []byte("1"))
		}
		if kws.rlog.len() != 0 || !kws.rlog.isBroken() {
			t.Errorf("buffer kept %d packets past its bound", kws.rlog.len())
		}
		back := connectWith(fakeClient(t, srv), authFor(pid, offs[0]))
		if back.Recovered() || back.id == kws.id {
			t.Fatal("recovered with a gap")
		}
		if !logs.has(ErrRecoveryBufferOverflow.Error()) {
			t.Errorf("no log of the cause: %q", logs.msgs)
		}
	})
	t.Run("gap overflow in bytes", func(t *testing.T) {
		cfg := recoveryConfig(RecoveryConfig{MaxPackets: 100, MaxBytes: 100})
		srv := NewServer(cfg)
		kws, pid, offs := lostSocket(t, srv, 1)
		kws.EmitArgs("ev", []byte(`"`+strings.Repeat("x", 100)+`"`))
		if connectWith(fakeClient(t, srv), authFor(pid, offs[0])).Recovered() {
			t.Fatal("recovered past MaxBytes")
		}
	})
}

func TestRecoveryExpiry(t *testing.T) {
	srv := NewServer(recoveryConfig(RecoveryConfig{MaxDisconnectionDuration: 20 * time.Millisecond}))
	kws, pid, offs := lostSocket(t, srv, 1)
	nsp := srv.Of("/")
	if nsp.heldBuffer(kws.id) == nil {
		t.Fatal("no held buffer")
	}
	waitFor(t, "the held buffer to be released", func() bool { return nsp.heldBuffer(kws.id) == nil })
	if !kws.rlog.isBroken() {
		t.Error("expired buffer not released")
	}
	_, err := nsp.adp().(SessionAwareAdapter).RestoreSession(pid, offs[0])
	if !errors.Is(err, ErrSessionNotFound) {
		t.Errorf("RestoreSession after the window: %v", err)
	}
}

func TestRecoveryNotOnPurposeDisconnects(t *testing.T) {
	srv := NewServer(recoveryConfig(RecoveryConfig{}))
	for name, end := range map[string]func(*Websocket){
		"client namespace disconnect": func(kws *Websocket) {
			_ = kws.client.route(sioPacket{Type: sioDisconnect, Nsp: "/"}, nil)
		},
		"server close":   func(kws *Websocket) { kws.Close() },
		"protocol error": func(kws *Websocket) { kws.client.onClose(kws.sess, ErrInvalidPacket) },
	} {
		c := fakeClient(t, srv)
		kws := connectWith(c, "")
		_, pid := connectReply(t, queued(c)[0])
		end(kws)
		if back := connectWith(fakeClient(t, srv), authFor(pid, "")); back.Recovered() {
			t.Errorf("%s: recovered", name)
		}
	}
}

// TestRecoveryAfterShutdown: as in Node, a socket a server shutdown ended
// is kept for recovery (on another node, when the adapter shares
// sessions), with what it was sent after.
func TestRecoveryAfterShutdown(t *testing.T) {
	srv := NewServer(recoveryConfig(RecoveryConfig{}))
	c := fakeClient(t, srv)
	kws := connectWith(c, "")
	_, pid := connectReply(t, queued(c)[0])
	kws.Join("r")
	kws.client.onClose(kws.sess, ErrServerShutdown)
	if err := srv.To("r").Emit("missed", []byte("1")); err != nil {
		t.Fatal(err)
	}
	c2 := fakeClient(t, srv)
	back := connectWith(c2, authFor(pid, ""))
	if !back.Recovered() || back.id != kws.id {
		t.Fatalf("recovered %v as %s, want %s", back.Recovered(), back.id, kws.id)
	}
	if rooms := back.Rooms(); !slices.Contains(rooms, "r") {
		t.Errorf("rooms %q lack r", rooms)
	}
	if got := queued(c2); len(got) < 2 || !strings.Contains(got[len(got)-1], `"missed",1`) {
		t.Errorf("recovered socket was sent %q, want the missed event last", got)
	}
}

func TestRecoveryMiddlewares(t *testing.T) {
	srv := NewServer(recoveryConfig(RecoveryConfig{RunMiddlewares: true}))
	var runs int
	srv.Use(func(kws *Websocket, next func(error)) {
		runs++
		if runs == 3 {
			next(errors.New("no"))
			return
		}
		next(nil)
	})
	kws, pid, offs := lostSocket(t, srv, 1)
	back := connectWith(fakeClient(t, srv), authFor(pid, offs[0]))
	if !back.Recovered() || runs != 2 {
		t.Fatalf("recovered %v after %d middleware runs", back.Recovered(), runs)
	}
	back.client.onClose(back.sess, ErrTransportClosed)
	c := fakeClient(t, srv)
	if connectWith(c, authFor(pid, offs[0])) != nil {
		t.Fatal("refused by the middleware, yet connected")
	}
	if srv.Of("/").adp().SocketRooms(kws.id) != nil {
		t.Error("a refused restore left the socket in its rooms")
	}
}

// storeAdapter is a SessionAwareAdapter that keeps sessions as a store
// outside the process would: the exported fields and the packets' bytes
// only, recording stored broadcasts itself and giving the missed ones back
// through Session.Missed. Rooms are left to an in-memory adapter.
type storeAdapter struct {
	Adapter
	mu       sync.Mutex
	sessions map[string]*Session
}

func (a *storeAdapter) PersistSession(s *Session) {
	a.DelAll(s.ID)
	cp := &Session{ID: s.ID, PID: s.PID, UUID: s.UUID, Rooms: s.Rooms, Data: s.Data, Deadline: s.Deadline, Missed: s.Packets()}
	a.mu.Lock()
	a.sessions[s.PID] = cp
	a.mu.Unlock()
}

func (a *storeAdapter) RestoreSession(pid, offset string) (*Session, error) {
	a.mu.Lock()
	s := a.sessions[pid]
	delete(a.sessions, pid)
	a.mu.Unlock()
	if s == nil {
		return nil, ErrSessionNotFound
	}
	for i, p := range s.Missed {
		if p.Offset == offset {
			s.Missed = s.Missed[i+1:]
			return s, nil
		}
	}
	return nil, ErrRecoveryOffsetUnknown
}

func (a *storeAdapter) Broadcast(pkt *Packet, opts BroadcastOptions) error {
	if pkt.Offset != "" {
		enc := pkt.Encode()
		a.mu.Lock()
		for _, s := range a.sessions {
			for _, r := range s.Rooms {
				if len(opts.Rooms) == 0 || r == opts.Rooms[0] {
					s.Missed = append(s.Missed, enc)
					break
				}
			}
		}
		a.mu.Unlock()
	}
	return a.Adapter.Broadcast(pkt, opts)
}

// TestRecoveryExternalAdapter restores through an adapter that returns the
// missed packets itself (Session.Missed) rather than the session's buffer.
func TestRecoveryExternalAdapter(t *testing.T) {
	srv := NewServer(recoveryConfig(RecoveryConfig{}))
	srv.SetAdapter(func(h AdapterHost) Adapter {
		return &storeAdapter{Adapter: NewMemoryAdapter(h), sessions: map[string]*Session{}}
	})
	kws, pid, offs := lostSocket(t, srv, 3)
	_ = srv.To("room").Emit("ev", []byte("4"))
	_ = srv.To("elsewhere").Emit("ev", []byte("0"))
	_ = srv.Of("/").Emit("ev", []byte("5"))
	back := connectWith(fakeClient(t, srv), authFor(pid, offs[1]))
	if !back.Recovered() || back.id != kws.id {
		t.Fatal("not recovered")
	}
	var nums []string
	for _, p := range queued(back.client)[1:] {
		_, args, _ := eventArgs(t, p)
		nums = append(nums, args[0])
	}
	if !equalStrings(nums, []string{"1", "4", "5"}) {
		t.Errorf("replayed %q, want the third event, then 4 and 5", nums)
	}
	if rooms := back.Rooms(); !equalStrings(rooms, sortedPair(back.id, "room")) {
		t.Errorf("rooms %v", rooms)
	}
}

// TestRecoveryConcurrentEmits loses and restores a socket while goroutines
// emit to it directly and to its room: what the first connection queued
// (all taken as received) plus the replay and what follows on the second
// connection hold every event exactly once.
func TestRecoveryConcurrentEmits(t *testing.T) {
	cfg := recoveryConfig(RecoveryConfig{MaxPackets: 1 << 16, MaxBytes: 1 << 26})
	cfg.SendQueueSize = 1 << 20
	srv := NewServer(cfg)
	c := fakeClient(t, srv)
	kws := connectWith(c, "")
	kws.Join("room")
	_, pid := connectReply(t, queued(c)[0])
	const writers, each = 4, 300
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			<-start
			for i := 0; i < each; i++ {
				v := []byte(strconv.Itoa(w*each + i))
				if i%3 == 0 {
					kws.EmitArgs("ev", v)
				} else {
					_ = srv.To("room").Emit("ev", v)
				}
			}
		}(w)
	}
	close(start)
	time.Sleep(time.Millisecond)
	c.onClose(c.sess, ErrTransportClosed)
	first := queued(c)
	offset := ""
	if len(first) > 0 {
		_, _, offset = eventArgs(t, first[len(first)-1])
	}
	c2 := fakeClient(t, srv)
	back := connectWith(c2, authFor(pid, offset))
	if back == nil || !back.Recovered() {
		t.Fatal("not recovered")
	}
	wg.Wait()
	if c2.sess.closed() {
		t.Fatal("the second session closed")
	}
	second := queued(c2)[1:]
	seen := map[string]int{}
	for _, p := range append(first, second...) {
		_, args, _ := eventArgs(t, p)
		seen[args[0]]++
	}
	for i := 0; i < writers*each; i++ {
		if n := seen[strconv.Itoa(i)]; n != 1 {
			t.Errorf("event %d seen %d times", i, n)
		}
	}
	t.Logf("%d events on the first connection, %d on the second", len(first), len(second))
	if srv.Of("/").heldBuffer(kws.id) != nil {
		t.Error("held buffer still indexed after the restore")
	}
}

// TestRecoveryReplayBeyondQueueBound replays more packets than the send
// queue holds; the emits that follow must not find the queue full.
func TestRecoveryReplayBeyondQueueBound(t *testing.T) {
	cfg := recoveryConfig(RecoveryConfig{})
	cfg.SendQueueSize = 10
	srv := NewServer(cfg)
	kws, pid, offs := lostSocket(t, srv, 1)
	for i := 0; i < 50; i++ {
		kws.EmitArgs("ev", []byte("1"))
	}
	c := fakeClient(t, srv)
	back := connectWith(c, authFor(pid, offs[0]))
	if !back.Recovered() {
		t.Fatal("not recovered")
	}
	for i := 0; i < 5; i++ {
		back.EmitArgs("ev", []byte("2"))
	}
	if c.sess.closed() {
		t.Fatal("the session closed on a full queue after the replay")
	}
	if n := len(queued(c)); n != 1+50+5 {
		t.Errorf("queued %d packets, want 56", n)
	}
}

// A packet emitted with Compress(false) is replayed with the flag: it is
// never sent compressed on the recovered connection either.
func TestRecoveryReplayKeepsCompressFalse(t *testing.T) {
	srv := NewServer(recoveryConfig(RecoveryConfig{}))
	kws, pid, offs := lostSocket(t, srv, 1)
	_ = kws.Compress(false).Emit("plain", []byte("1"))
	_ = srv.To("room").Compress(false).Emit("plain", []byte("2"))
	_ = srv.To("room").Emit("deflatable", []byte("3"))
	c := fakeClient(t, srv)
	back := connectWith(c, authFor(pid, offs[0]))
	if back == nil || !back.Recovered() {
		t.Fatal("not recovered")
	}
	pkts := c.sess.q.take()
	var got []string
	for _, p := range pkts[1:] {
		name := "bin"
		if !p.binary {
			name, _, _ = eventArgs(t, string(p.data))
		}
		got = append(got, name+":"+strconv.FormatBool(p.plain))
	}
	want := []string{"plain:true", "plain:true", "deflatable:false"}
	if !equalStrings(got, want) {
		t.Errorf("replayed %q, want %q", got, want)
	}
}
