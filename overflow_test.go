package socketio

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestListenerBurstReachesClient: a listener that emits thousands of
// packets in a loop, to the socket and to a room it is in, far more than
// SendQueueSize (100) and PollQueueMaxFrames (1024) at their defaults,
// gets every one of them to the official client, in order, over each
// transport, and the session lives on: the queue fills faster than the
// worker starts, and that is no overflow while the client reads (the
// Fiber socketio middleware's "burst sizing" limitation).
func TestListenerBurstReachesClient(t *testing.T) {
	const each = 1500
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(testConfig())
			var errs, disconnects atomic.Int32
			srv.On(EventError, func(*EventPayload) { errs.Add(1) })
			srv.On(EventDisconnect, func(ep *EventPayload) {
				if ep.Error != nil {
					t.Errorf("disconnect: %v", ep.Error)
				}
				disconnects.Add(1)
			})
			srv.On("burst", func(ep *EventPayload) {
				ep.Kws.Join("r")
				for i := range each {
					n := []byte(strconv.Itoa(i))
					ep.Kws.EmitArgs("direct", n)
					srv.To("r").Emit("room", n)
				}
				_ = ep.Ack([]byte(`"sent"`))
			})
			ts := startServer(t, srv, nil)
			res := runNode(t, ts.url, `
const socket = io(URL, { `+tr.opts+` });
const next = { direct: 0, room: 0 };
for (const ev of ["direct", "room"]) {
  socket.on(ev, (i) => {
    if (i !== next[ev]) fail(ev + " " + i + " arrived, " + next[ev] + " expected");
    next[ev]++;
    if (next.direct === `+strconv.Itoa(each)+` && next.room === `+strconv.Itoa(each)+`) {
      out({ received: next, connected: socket.connected, transport: socket.io.engine.transport.name });
      socket.disconnect();
      setTimeout(() => process.exit(0), 100);
    }
  });
}
socket.on("connect", () => socket.emit("burst", () => {}));
socket.on("disconnect", (r) => { if (r !== "io client disconnect") fail("disconnected: " + r); });
socket.on("connect_error", (e) => fail("connect_error " + e.message));
`, 40*time.Second)
			want := `{"received":{"direct":1500,"room":1500},"connected":true`
			if len(res.lines) == 0 || len(res.lines[0]) < len(want) || res.lines[0][:len(want)] != want {
				t.Errorf("client output %q, want it to start with %s", res.lines, want)
			}
			if n := errs.Load(); n != 0 {
				t.Errorf("%d EventError during the burst", n)
			}
			waitFor(t, "the client's disconnect", func() bool { return disconnects.Load() == 1 })
		})
	}
}

// TestBusyClientKeepsEverything: the official client blocks its event
// loop for 600 ms on the first event (a browser tab busy rendering) while
// a listener emits 3,000 packets to it on polling, where it sends no GET
// meanwhile; and a raw client with a small socket buffer stops reading a
// WebSocket for 600 ms while 12 MB are emitted to it. Both stall past
// overflowGrace with more than the queue's bound queued; with
// MaxStalledBytes they get every packet, in order, as from the Node
// server, and their sessions live on. (With MaxStalledBytes negative,
// the rule before it, both overflow.)
func TestBusyClientKeepsEverything(t *testing.T) {
	t.Run("polling", func(t *testing.T) {
		t.Parallel()
		const n = 3000
		srv := NewServer(testConfig())
		srv.On(EventDisconnect, func(ep *EventPayload) {
			if ep.Error != nil {
				t.Errorf("disconnect: %v", ep.Error)
			}
		})
		srv.On("go", func(ep *EventPayload) {
			for i := range n {
				ep.Kws.EmitArgs("tick", []byte(strconv.Itoa(i)))
			}
		})
		ts := startServer(t, srv, nil)
		res := runNode(t, ts.url, `
const socket = io(URL, { transports: ["polling"] });
let next = 0;
socket.on("tick", (i) => {
  if (next === 0) { const end = Date.now() + 600; while (Date.now() < end); }
  if (i !== next) fail("tick " + i + " arrived, " + next + " expected");
  if (++next === `+strconv.Itoa(n)+`) {
    out({ received: next, connected: socket.connected });
    socket.disconnect();
    setTimeout(() => process.exit(0), 100);
  }
});
socket.on("connect", () => socket.emit("go"));
socket.on("disconnect", (r) => { if (r !== "io client disconnect") fail("disconnected: " + r + " after " + next); });
`, 30*time.Second)
		if !res.has(`{"received":3000,"connected":true}`) {
			t.Errorf("client output %q", res.lines)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		t.Parallel()
		const n, size = 3000, 4 << 10
		es := newEchoServer(t, func(c *Config) { c.MaxStalledBytes = 32 << 20 })
		payload := []byte(`"` + strings.Repeat("p", size) + `"`)
		es.srv.On("go", func(ep *EventPayload) {
			go func() {
				for range n {
					ep.Kws.EmitArgs("tick", payload)
				}
				ep.Kws.EmitArgs("done")
			}()
		})
		w := dialWSTCP(t, es.testServer, "", func(c *net.TCPConn) {
			_ = c.SetReadBuffer(256 << 10) // fixed: no autotuning takes the burst
		})
		w.autoPong = true
		if open := w.read(); !strings.HasPrefix(open, "0{") {
			t.Fatalf("open %q", open)
		}
		w.send("40")
		connectReplySID(t, w.read(), "/")
		w.send(`42["go"]`)
		time.Sleep(600 * time.Millisecond) // not reading: the server's writes wait
		got := 0
		for {
			_, msg := w.readMessage()
			if string(msg) == `42["done"]` {
				break
			}
			if !strings.HasPrefix(string(msg), `42["tick",`) {
				t.Fatalf("message %d: %.40q", got, msg)
			}
			got++
		}
		if got != n {
			t.Errorf("received %d ticks, want %d", got, n)
		}
		w.roundTrip("after the pause")
	})
}

// overflowOwner stands for a session's worker in the unit tests below:
// it counts its wake-ups and takes nothing itself.
type overflowOwner struct{ kicks atomic.Int32 }

func (o *overflowOwner) kick() { o.kicks.Add(1) }

// newOverflowSession is a session on a WebSocket (with no connection
// behind it) whose queue of limit packets is full.
func newOverflowSession(t *testing.T, limit int) (*session, *wsConn) {
	t.Helper()
	cfg := testConfig()
	cfg.MaxStalledBytes = -1 // the overflow rule at the bound (TestPushOrWaitSpills has one)
	s := &session{cfg: &cfg, q: newSendQueue(limit), closeReq: make(chan struct{}), done: make(chan struct{})}
	s.q.owner = &overflowOwner{}
	s.transport.Store(onWebSocket)
	w := &wsConn{}
	s.ws.Store(w)
	for i := range limit {
		if err := s.q.push(outPacket{data: []byte(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	return s, w
}

// TestPushOrWaitTakesRoom: a producer the full queue refused pushes as
// soon as the consumer takes, however long the consumer took to come.
func TestPushOrWaitTakesRoom(t *testing.T) {
	t.Parallel()
	s, _ := newOverflowSession(t, 4)
	taken := make(chan int, 1)
	go func() {
		time.Sleep(20 * time.Millisecond)
		taken <- len(s.q.take())
	}()
	p := outPacket{data: []byte("late")}
	if err := s.pushOrWait(1, func() error { return s.q.push(p) }); err != nil {
		t.Fatalf("pushOrWait: %v, want the packet queued once the consumer took", err)
	}
	if n := <-taken; n != 4 {
		t.Errorf("the consumer took %d packets, want 4", n)
	}
	if items := s.q.take(); len(items) != 1 || string(items[0].data) != "late" {
		t.Errorf("queued after the wait: %d packets, want the late one", len(items))
	}
}

// TestPushOrWaitStalled: a producer does not wait for a connection whose
// write has waited for the peer for overflowGrace already, so a broadcast
// to many clients that stopped reading waits once, not once per client;
// and none waits while a hold keeps the consumer from taking.
func TestPushOrWaitStalled(t *testing.T) {
	t.Parallel()
	full := func(s *session) func() error {
		return func() error { return s.q.push(outPacket{data: []byte("x")}) }
	}
	s, w := newOverflowSession(t, 4)
	w.blockedSince.Store(monoAt(time.Now().Add(-overflowGrace)))
	start := time.Now()
	if err := s.pushOrWait(1, full(s)); err != errQueueFull {
		t.Errorf("stalled connection: %v, want errQueueFull", err)
	}
	// It returns at once; half the grace is a bound no scheduler delay
	// reaches, and a wait for the grace would pass it.
	if d := time.Since(start); d >= overflowGrace/2 {
		t.Errorf("waited %v for a connection stalled for overflowGrace", d)
	}

	// A write blocked for less: the wait ends when the grace counted
	// from the block does, not a grace after the push began.
	s, w = newOverflowSession(t, 4)
	w.blockedSince.Store(monoAt(time.Now().Add(-overflowGrace + 50*time.Millisecond)))
	start = time.Now()
	if err := s.pushOrWait(1, full(s)); err != errQueueFull {
		t.Errorf("connection stalled meanwhile: %v, want errQueueFull", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d >= overflowGrace {
		t.Errorf("waited %v, want about the 50ms left of the grace", d)
	}

	s, _ = newOverflowSession(t, 4)
	s.q.hold()
	start = time.Now()
	if err := s.pushOrWait(1, full(s)); err != errQueueFull {
		t.Errorf("held queue: %v, want errQueueFull", err)
	}
	if d := time.Since(start); d >= overflowGrace/2 {
		t.Errorf("waited %v on a held queue", d)
	}
}

// TestPushOrWaitSpills: past the grace, a stalled connection's queue
// takes MaxStalledBytes more past its bound, at once, and then
// overflows; a take that brings it back within the bound ends that, and
// the next stall has the whole amount again.
func TestPushOrWaitSpills(t *testing.T) {
	t.Parallel()
	s, w := newOverflowSession(t, 4)
	s.cfg.MaxStalledBytes = 10
	w.blockedSince.Store(monoAt(time.Now().Add(-overflowGrace)))
	push := func(data string) error {
		return s.pushOrWait(1, func() error { return s.q.push(outPacket{data: []byte(data)}) })
	}
	start := time.Now()
	for i, data := range []string{"1234", "5678", "90"} {
		if err := push(data); err != nil {
			t.Fatalf("push %d (%q) past the bound: %v, want it queued", i, data, err)
		}
	}
	if d := time.Since(start); d >= overflowGrace/2 {
		t.Errorf("pushes waited %v for a connection stalled for the grace", d)
	}
	if err := push("x"); err != errQueueFull {
		t.Errorf("push past MaxStalledBytes: %v, want errQueueFull", err)
	}
	if n := len(s.q.take()); n != 7 {
		t.Errorf("took %d packets, want the 4 within the bound and 3 past it", n)
	}
	for i := range 4 {
		if err := s.q.push(outPacket{data: []byte("y")}); err != nil {
			t.Fatalf("push %d within the bound after the take: %v", i, err)
		}
	}
	for i, data := range []string{"0123456789", "z"} {
		want := error(nil)
		if i == 1 {
			want = errQueueFull
		}
		if err := push(data); err != want {
			t.Errorf("push %q in the next stall: %v, want %v", data, err, want)
		}
	}
}

// TestPushOrWaitPollingWithoutGet: on polling, the connection stalls when
// no GET has come for overflowGrace since the last one ended; a GET
// waiting means it takes.
func TestPushOrWaitPollingWithoutGet(t *testing.T) {
	t.Parallel()
	s, _ := newOverflowSession(t, 4)
	s.transport.Store(onPolling)
	s.pollIdleSince.Store(monoAt(time.Now().Add(-2 * overflowGrace)))
	if since := s.stalledSince(); since == 0 {
		t.Fatal("a polling session without a GET does not count as stalled")
	}
	if err := s.pushOrWait(1, func() error { return s.q.push(outPacket{data: []byte("x")}) }); err != errQueueFull {
		t.Errorf("polling without a GET for 2 graces: %v, want errQueueFull", err)
	}
	s.getActive.Store(true)
	if since := s.stalledSince(); since != 0 {
		t.Errorf("a GET is waiting, yet stalled since %d", since)
	}
}

// TestCloseEndsWait: a producer waiting for room gets
// ErrSendQueueClosed at once, not an overflow after the grace (which
// would log one for a session that ended for another reason), when its
// queue closes or its session ends meanwhile.
func TestCloseEndsWait(t *testing.T) {
	for name, end := range map[string]func(*session){
		"queue":   func(s *session) { s.q.close() },
		"session": func(s *session) { close(s.closeReq) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, _ := newOverflowSession(t, 4)
			go func() {
				time.Sleep(20 * time.Millisecond)
				end(s)
			}()
			start := time.Now()
			err := s.pushOrWait(1, func() error { return s.q.push(outPacket{data: []byte("x")}) })
			if !errors.Is(err, ErrSendQueueClosed) {
				t.Errorf("pushOrWait on a %s closed meanwhile: %v, want ErrSendQueueClosed", name, err)
			}
			if d := time.Since(start); d >= overflowGrace {
				t.Errorf("waited %v, the whole grace", d)
			}
		})
	}
}
