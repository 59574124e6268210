package socketio

// Abrupt TCP resets (RST, as from a crashed peer or a middlebox) in every
// phase of a session: each one leaves no session behind once the heartbeat
// has had its time, the reason is reported, and a well-behaved client on
// the same server keeps working throughout.

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// resetHeartbeat gives a client that stops talking PingInterval +
// PingTimeout = 2 s; the waits below allow several times that.
func resetHeartbeat(c *Config) {
	c.PingInterval = time.Second
	c.PingTimeout = time.Second
}

// reapBound is how long a reset session may linger: the heartbeat's time
// for a silent peer twice over, plus slack for a loaded machine.
func reapBound(c *Config) time.Duration {
	return 2*(c.PingInterval+c.PingTimeout) + 5*time.Second
}

// resetEnv is a server with one well-behaved WebSocket client that keeps
// working while the session of a misbehaving one is reset.
type resetEnv struct {
	*echoServer
	good *liveWS
	cfg  Config
}

// newResetEnv starts it with resetHeartbeat and then mods applied.
func newResetEnv(t *testing.T, mods ...func(*Config)) *resetEnv {
	t.Helper()
	var cfg Config
	es := newEchoServer(t, func(c *Config) {
		resetHeartbeat(c)
		for _, mod := range mods {
			mod(c)
		}
		cfg = *c
	})
	return &resetEnv{echoServer: es, good: connectLiveWS(t, es.testServer), cfg: cfg}
}

// waitReaped waits until the engine has no session s, while the good
// client keeps round-tripping, and returns the reason the session closed
// with (its engine-level reason; nil for a clean close).
func (env *resetEnv) waitReaped(t *testing.T, s *session) error {
	t.Helper()
	deadline := time.Now().Add(reapBound(&env.cfg))
	for i := 0; ; i++ {
		env.good.roundTrip("alive " + strconv.Itoa(i))
		if env.session(s.sid) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s still registered %v after the reset (closed %v)", s.sid, reapBound(&env.cfg), s.closed())
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case <-s.done:
	case <-time.After(rawTimeout):
		t.Fatalf("session %s unregistered but not done", s.sid)
	}
	env.good.roundTrip("alive after the reap")
	return s.closeReason
}

// expectReaped waits for the reap of s (see waitReaped) and checks its
// reason, and that of the EventDisconnect of socketID; with socketID empty
// (no namespace was connected) it checks that no EventDisconnect fired.
func (env *resetEnv) expectReaped(t *testing.T, s *session, socketID string, want error) {
	t.Helper()
	if err := env.waitReaped(t, s); !errors.Is(err, want) {
		t.Errorf("session reason %v, want %v", err, want)
	}
	if socketID == "" {
		env.noDisconnect(t)
		return
	}
	if err := env.disconnectedWithin(t, socketID, reapBound(&env.cfg)); !errors.Is(err, want) {
		t.Errorf("disconnect reason %v, want %v", err, want)
	}
}

// pendingGet connects a polling socket and leaves a GET of it pending on
// a raw connection, returned with the session.
func (env *resetEnv) pendingGet(t *testing.T) (s *session, socketID string, get net.Conn) {
	t.Helper()
	sid, socketID := connectPolling(t, env.testServer)
	s = env.session(sid)
	get = rawRequest(t, env.testServer, http.MethodGet, "EIO=4&transport=polling&sid="+sid, "")
	waitFor(t, "the GET to be pending", func() bool { return env.getPending(sid) })
	return s, socketID, get
}

// TestResetMidWrite: the server is writing an 8 MB stream of events to a
// WebSocket client with a small receive buffer (more than both ends'
// kernel buffers hold, so the worker is in a write or has packets queued)
// when the client resets. The session ends with ErrTransportClosed.
func TestResetMidWrite(t *testing.T) {
	t.Parallel()
	env := newResetEnv(t)
	const events = 128
	chunk := []byte(`"` + strings.Repeat("w", 64<<10) + `"`)
	var flooding sync.WaitGroup
	t.Cleanup(flooding.Wait)
	env.srv.On("flood", func(ep *EventPayload) {
		kws := ep.Kws
		flooding.Add(1)
		go func() {
			defer flooding.Done()
			for i := 0; i < events && kws.IsAlive(); i++ {
				kws.EmitArgs("chunk", chunk)
			}
		}()
	})
	w := dialWSTCP(t, env.testServer, "", func(c *net.TCPConn) { _ = c.SetReadBuffer(16 << 10) })
	sid := parseOpen(t, w.read()).SID
	w.send("40")
	socketID := connectReplySID(t, w.read(), "/")
	s := env.session(sid)
	w.send(`42["flood"]`)
	if got := w.read(); !strings.HasPrefix(got, `42["chunk","www`) {
		t.Fatalf("first event %q", truncStr(got, 40))
	}
	w.reset()
	env.expectReaped(t, s, socketID, ErrTransportClosed)
}

// TestResetMidUpgrade: a polling session probes a WebSocket ("2probe",
// "3probe") and resets it before the UPGRADE ("5"), then never polls
// again. The failed probe is dropped (the session stays on polling and is
// free to try another upgrade) and the heartbeat reaps the session.
func TestResetMidUpgrade(t *testing.T) {
	t.Parallel()
	env := newResetEnv(t)
	s, socketID, get := env.pendingGet(t)
	w := dialWS(t, env.testServer, "&sid="+s.sid)
	w.send("2probe")
	w.expect("3probe")
	// The pending GET is released with a NOOP, as the client pauses
	// polling for the upgrade.
	resp, err := http.ReadResponse(bufio.NewReader(get), nil)
	if err != nil {
		t.Fatalf("pending GET: %v", err)
	}
	resp.Body.Close()
	w.reset()
	waitFor(t, "the probe to be dropped", func() bool {
		s.wsMu.Lock()
		defer s.wsMu.Unlock()
		return s.probing == nil && !s.upgrading.Load() && !s.upgradeClaim.Load()
	})
	if s.transport.Load() != onPolling {
		t.Fatal("a reset probe upgraded the session")
	}
	env.expectReaped(t, s, socketID, ErrHeartbeatTimeout)
}

// TestResetPendingGet: a polling client resets the connection of its
// pending GET. fasthttp does not read a connection while its handler runs,
// so the GET stays pending until the next PING is written to it and fails;
// no PONG ever comes, and the heartbeat reaps the session.
func TestResetPendingGet(t *testing.T) {
	t.Parallel()
	env := newResetEnv(t)
	s, socketID, get := env.pendingGet(t)
	resetTCP(t, get)
	env.expectReaped(t, s, socketID, ErrHeartbeatTimeout)
	waitFor(t, "the reset GET's handler to return", func() bool { return !s.getActive.Load() })
}

// TestResetBeforeConnect: a client resets right after the Engine.IO
// handshake, before any Socket.IO CONNECT. Over WebSocket the reader sees
// the reset at once (ErrTransportClosed); over polling there is no
// connection left to see, and the heartbeat reaps the session. No socket
// existed, so no EventDisconnect fires.
func TestResetBeforeConnect(t *testing.T) {
	t.Parallel()
	t.Run("websocket", func(t *testing.T) {
		t.Parallel()
		env := newResetEnv(t)
		w := dialWS(t, env.testServer, "")
		s := env.session(parseOpen(t, w.read()).SID)
		w.reset()
		env.expectReaped(t, s, "", ErrTransportClosed)
	})
	t.Run("polling", func(t *testing.T) {
		t.Parallel()
		env := newResetEnv(t)
		c := rawRequest(t, env.testServer, http.MethodGet, "EIO=4&transport=polling", "")
		_ = c.SetReadDeadline(time.Now().Add(rawTimeout))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		var body strings.Builder
		_, err = bufio.NewReader(resp.Body).WriteTo(&body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("handshake body: %v", err)
		}
		s := env.session(parseOpen(t, body.String()).SID)
		resetTCP(t, c)
		env.expectReaped(t, s, "", ErrHeartbeatTimeout)
	})
}

// noDisconnect checks no socket but the good client's ever disconnected.
func (env *resetEnv) noDisconnect(t *testing.T) {
	t.Helper()
	select {
	case d := <-env.disconnects:
		t.Errorf("EventDisconnect %+v for a client that never connected a namespace", d)
	default:
	}
}
