package socketio

import (
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestClientRoundTrip drives the real socket.io-client over each transport:
// connect with auth, events both ways with several arguments, an inbound
// ack, outbound acks (answered, and timed out), and a client disconnect.
//
// The WebSocket cases run twice: with the session's own socket I/O, and
// through the websocket library, as on systems without raw socket I/O
// (Windows).
func TestClientRoundTrip(t *testing.T) {
	for _, tr := range transports {
		for _, libraryIO := range []bool{false, true} {
			if libraryIO && tr.name == "polling" {
				continue
			}
			name := tr.name
			if libraryIO {
				name += "/library-io"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				cfg := testConfig()
				cfg.libraryIO = libraryIO
				testClientRoundTrip(t, cfg, tr.name, tr.opts)
			})
		}
	}
}

func testClientRoundTrip(t *testing.T, cfg Config, transport, opts string) {
	srv := NewServer(cfg)
	var (
		mu         sync.Mutex
		auth       string
		gotArgs    []string
		ackAnswer  string
		ackTimeout error
		finalPoll  atomic.Bool
		disconnect = make(chan error, 1)
	)
	srv.On(EventConnect, func(ep *EventPayload) {
		mu.Lock()
		auth = string(ep.HandshakeAuth)
		mu.Unlock()
	})
	srv.On("multi", func(ep *EventPayload) {
		mu.Lock()
		for _, a := range ep.Args {
			gotArgs = append(gotArgs, string(a))
		}
		mu.Unlock()
	})
	srv.On("echo", func(ep *EventPayload) {
		if err := ep.Ack(ep.Args...); err != nil {
			t.Errorf("ack: %v", err)
		}
		if err := ep.Ack([]byte(`"twice"`)); !errors.Is(err, ErrAckAlreadySent) {
			t.Errorf("second ack: got %v, want ErrAckAlreadySent", err)
		}
	})
	srv.On("ask", func(ep *EventPayload) {
		ep.Kws.EmitWithAckTimeout("question", []byte(`{"q":1}`), 5*time.Second, func(ack []byte, err error) {
			mu.Lock()
			ackAnswer = string(ack)
			mu.Unlock()
			ep.Kws.EmitEvent("answered", ack)
		})
		ep.Kws.EmitWithAckTimeout("ignored", nil, 200*time.Millisecond, func(ack []byte, err error) {
			mu.Lock()
			ackTimeout = err
			mu.Unlock()
			ep.Kws.EmitEvent("timedout", []byte(`"`+errString(err)+`"`))
		})
	})
	var ownIO atomic.Int32 // 1: the session read its socket itself; 2: through the library
	srv.On(EventDisconnect, func(ep *EventPayload) {
		finalPoll.Store(ep.Kws.IsPolling())
		if w := ep.Kws.sess.ws.Load(); w != nil {
			ownIO.Store(map[bool]int32{true: 1, false: 2}[w.src != nil])
		}
		disconnect <- ep.Error
	})
	ts := startServer(t, srv, func(kws *Websocket) {
		kws.EmitArgs("welcome", []byte(`"hi"`), []byte(`{"id":1}`), []byte("plain text"))
	})
	res := runNode(t, ts.url, `
const socket = io(URL, { `+opts+`, auth: { token: "s3cret" } });
const seen = {};
socket.on("welcome", (...args) => {
  out({ welcome: args });
  socket.emit("multi", 1, "two", { three: [3] }, null);
  socket.emit("echo", "a", { b: 2 }, (...acked) => {
    out({ echoed: acked });
    socket.emit("ask");
  });
});
socket.on("question", (q, cb) => cb({ answer: q.q + 41 }));
socket.on("ignored", () => {});
socket.on("answered", (a) => { out({ answered: a }); seen.answered = true; maybeDone(); });
socket.on("timedout", (e) => { out({ timedout: e }); seen.timedout = true; maybeDone(); });
function maybeDone() {
  if (!seen.answered || !seen.timedout) return;
  out({ transport: socket.io.engine.transport.name, id: socket.id });
  socket.disconnect();
  setTimeout(() => process.exit(0), 100);
}
socket.on("connect_error", (e) => fail("connect_error " + e.message));
`, 20*time.Second)

	wantLines := []string{
		`{"welcome":["hi",{"id":1},"plain text"]}`,
		`{"echoed":["a",{"b":2}]}`,
		`{"answered":{"answer":42}}`,
		`{"timedout":"socketio: ack timeout"}`,
	}
	for _, w := range wantLines {
		if !res.has(w) {
			t.Errorf("client output lacks %s; got %q", w, res.lines)
		}
	}
	var last struct{ Transport, ID string }
	_ = json.Unmarshal([]byte(res.lines[len(res.lines)-1]), &last)
	wantTransport := map[string]string{"websocket": "websocket", "polling": "polling", "upgrade": "websocket"}[transport]
	if last.Transport != wantTransport {
		t.Errorf("session ended on %q, want %q", last.Transport, wantTransport)
	}
	select {
	case err := <-disconnect:
		if err != nil {
			t.Errorf("disconnect reason: got %v, want nil for a client disconnect", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no EventDisconnect")
	}
	mu.Lock()
	defer mu.Unlock()
	if auth != `{"token":"s3cret"}` {
		t.Errorf("handshake auth = %s", auth)
	}
	if want := []string{`1`, `"two"`, `{"three":[3]}`, `null`}; !equalStrings(gotArgs, want) {
		t.Errorf("multi args = %q, want %q", gotArgs, want)
	}
	if ackAnswer != `{"answer":42}` {
		t.Errorf("ack answer = %s", ackAnswer)
	}
	if !errors.Is(ackTimeout, ErrAckTimeout) {
		t.Errorf("unanswered ack: %v", ackTimeout)
	}
	if finalPoll.Load() != (transport == "polling") {
		t.Errorf("IsPolling at disconnect = %v", finalPoll.Load())
	}
	if want := map[bool]int32{false: 1, true: 2}[cfg.libraryIO]; transport != "polling" && ownIO.Load() != want {
		t.Errorf("socket I/O at disconnect: %d, want %d (1: the session's own, 2: the library's)", ownIO.Load(), want)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestHeartbeatFiresPong checks that the client's answers to the server's
// PINGs reach EventPong listeners, over each transport.
func TestHeartbeatFiresPong(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.PingInterval = 100 * time.Millisecond
			cfg.PingTimeout = 2 * time.Second
			srv := NewServer(cfg)
			var pongs atomic.Int32
			srv.On(EventPong, func(*EventPayload) { pongs.Add(1) })
			ts := startServer(t, srv, nil)
			runNode(t, ts.url, `
const socket = io(URL, { `+tr.opts+` });
socket.on("connect", () => setTimeout(() => { socket.disconnect(); process.exit(0); }, 700));
`, 10*time.Second)
			if n := pongs.Load(); n < 3 {
				t.Errorf("EventPong fired %d times in 700 ms with a 100 ms PingInterval", n)
			}
		})
	}
}
