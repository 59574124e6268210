package socketio

// Raw protocol tests: the server is driven with plain HTTP requests and a
// plain WebSocket client, packet by packet, so every byte the server writes
// is checked. This file holds the raw clients and the Engine.IO handshake,
// heartbeat, upgrade and Socket.IO tests; polling_test.go the long-polling
// ones.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v3"
)

// engine returns the engine of the server's (only) handler.
func (ts *testServer) engine() *engine {
	ts.srv.mu.Lock()
	defer ts.srv.mu.Unlock()
	return ts.srv.engines[0]
}

// session returns the live session with sid, nil when there is none.
func (ts *testServer) session(sid string) *session {
	return ts.engine().lookup(sid)
}

// getPending reports whether a polling GET of the session is pending.
func (ts *testServer) getPending(sid string) bool {
	s := ts.session(sid)
	return s != nil && s.getActive.Load()
}

// echoServer is a server whose "echo" event acks its arguments back, with
// the disconnect reasons of its sockets collected.
type echoServer struct {
	*testServer
	disconnects chan disconnectInfo
}

type disconnectInfo struct {
	socketID string
	nsp      string
	err      error
}

// newEchoServer starts a server with cfg changed by mod.
func newEchoServer(t *testing.T, mod func(*Config)) *echoServer {
	t.Helper()
	cfg := testConfig()
	// Raw polling clients stop polling when a test is done; the cleanup's
	// Shutdown need not wait long for their last GET.
	cfg.CloseTimeout = 500 * time.Millisecond
	if mod != nil {
		mod(&cfg)
	}
	srv := NewServer(cfg)
	es := &echoServer{disconnects: make(chan disconnectInfo, 64)}
	srv.On("echo", func(ep *EventPayload) {
		if ep.HasAck {
			_ = ep.Ack(ep.Args...)
		}
	})
	srv.On(EventDisconnect, func(ep *EventPayload) {
		es.disconnects <- disconnectInfo{socketID: ep.SocketUUID, nsp: ep.Kws.Namespace(), err: ep.Error}
	})
	es.testServer = startServer(t, srv, nil)
	return es
}

// disconnected waits for the EventDisconnect of socketID and returns its
// reason.
func (es *echoServer) disconnected(t *testing.T, socketID string) error {
	t.Helper()
	return es.disconnectedWithin(t, socketID, rawTimeout)
}

// disconnectedWithin is disconnected with a wait of d.
func (es *echoServer) disconnectedWithin(t *testing.T, socketID string, d time.Duration) error {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case d := <-es.disconnects:
			if d.socketID == socketID {
				return d.err
			}
		case <-timeout:
			t.Fatalf("no EventDisconnect for socket %s", socketID)
		}
	}
}

// startServerAll is startServer with the handler mounted on every method,
// to see what the engine itself answers to methods it does not serve.
func startServerAll(t *testing.T, srv *Server) *testServer {
	t.Helper()
	app := fiber.New()
	app.All("/socket.io/", srv.Handler(nil))
	return serveApp(t, srv, app)
}

// shortHeartbeat sets the timers of the official test suites.
func shortHeartbeat(c *Config) {
	c.PingInterval = 300 * time.Millisecond
	c.PingTimeout = 200 * time.Millisecond
}

// testHeartbeat pings as often as the official suites, but leaves a
// client a second to answer: a loaded machine running the race detector
// can take more than 200 ms for a PING/PONG round trip over fresh HTTP
// connections.
func testHeartbeat(c *Config) {
	c.PingInterval = 300 * time.Millisecond
	c.PingTimeout = time.Second
}

func TestHandshakePollingOpen(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, shortHeartbeat)
	status, body := mustHTTP(t, http.MethodGet, es.eioURL("transport=polling"), "")
	if status != http.StatusOK {
		t.Fatalf("status %d, body %q", status, body)
	}
	h := parseOpen(t, body)
	want := handshake{SID: h.SID, Upgrades: []string{"websocket"}, PingInterval: 300, PingTimeout: 200, MaxPayload: 1_000_000}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("OPEN = %+v, want %+v", h, want)
	}
	if es.engine().lookup(h.SID) == nil {
		t.Error("the session of the OPEN packet is not registered")
	}
	// Each handshake opens its own session.
	if other := openPolling(t, es.testServer); other == h.SID {
		t.Errorf("two handshakes got the same sid %q", other)
	}
}

func TestHandshakeWebSocketOpen(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) {
		shortHeartbeat(c)
		c.MaxPayload = 4096
	})
	_, h := openWS(t, es.testServer)
	want := handshake{SID: h.SID, Upgrades: []string{}, PingInterval: 300, PingTimeout: 200, MaxPayload: 4096}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("OPEN = %+v, want %+v", h, want)
	}
}

func TestHandshakeHTTPErrors(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	ts := startServerAll(t, srv)
	cases := []struct {
		name, method, query string
		code                int
	}{
		{"no EIO", "GET", "transport=polling", codeUnsupportedVersion},
		{"EIO not a number", "GET", "EIO=abc&transport=polling", codeUnsupportedVersion},
		{"EIO 3", "GET", "EIO=3&transport=polling", codeUnsupportedVersion},
		{"no transport", "GET", "EIO=4", codeUnknownTransport},
		{"unknown transport", "GET", "EIO=4&transport=abc", codeUnknownTransport},
		{"POST handshake", "POST", "EIO=4&transport=polling", codeBadHandshakeMethod},
		{"PUT handshake", "PUT", "EIO=4&transport=polling", codeBadHandshakeMethod},
		{"GET unknown sid", "GET", "EIO=4&transport=polling&sid=nope", codeUnknownSID},
		{"POST unknown sid", "POST", "EIO=4&transport=polling&sid=nope", codeUnknownSID},
		{"websocket without upgrade", "GET", "EIO=4&transport=websocket", codeBadRequest},
	}
	wantMessages := map[int]string{
		codeUnknownTransport:   "Transport unknown",
		codeUnknownSID:         "Session ID unknown",
		codeBadHandshakeMethod: "Bad handshake method",
		codeBadRequest:         "Bad request",
		codeUnsupportedVersion: "Unsupported protocol version",
	}
	for _, tc := range cases {
		body := ""
		if tc.method != "GET" {
			body = "40"
		}
		status, text := mustHTTP(t, tc.method, ts.url+"/socket.io/?"+tc.query, body)
		if status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400 (body %q)", tc.name, status, text)
			continue
		}
		var got struct {
			Code    *int   `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal([]byte(text), &got); err != nil || got.Code == nil {
			t.Errorf("%s: body %q is not {code, message} JSON (%v)", tc.name, text, err)
			continue
		}
		if *got.Code != tc.code || got.Message != wantMessages[tc.code] {
			t.Errorf("%s: got code %d %q, want %d %q", tc.name, *got.Code, got.Message, tc.code, wantMessages[tc.code])
		}
	}
	if n := ts.engine().count.Load(); n != 0 {
		t.Errorf("refused requests opened %d sessions", n)
	}
	// A CORS preflight is answered without opening a session.
	if status, body := mustHTTP(t, http.MethodOptions, ts.eioURL("transport=polling"), ""); status != http.StatusNoContent {
		t.Errorf("OPTIONS: status %d, body %q, want 204", status, body)
	}
}

func TestHandshakeWebSocketRefused(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	for _, q := range []string{
		"transport=websocket",
		"EIO=abc&transport=websocket",
		"EIO=3&transport=websocket",
		"EIO=4",
		"EIO=4&transport=abc",
		"EIO=4&transport=websocket&sid=unknown",
	} {
		c, resp, err := dialEndpoint(es.testServer, q)
		if err == nil {
			_ = c.Close()
			t.Errorf("%s: websocket accepted", q)
			continue
		}
		if !errors.Is(err, fws.ErrBadHandshake) || resp == nil || resp.StatusCode != http.StatusBadRequest {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Errorf("%s: got %v (status %d), want a refused handshake with 400", q, err, status)
		}
	}
	if n := es.engine().count.Load(); n != 0 {
		t.Errorf("refused upgrades opened %d sessions", n)
	}
}

func TestPollingDisabled(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) { c.DisablePolling = true })
	status, body := mustHTTP(t, http.MethodGet, es.eioURL("transport=polling"), "")
	if status != http.StatusBadRequest || !strings.Contains(body, `"code":0`) {
		t.Errorf("polling with EnablePolling=false: status %d, body %q", status, body)
	}
	w, _ := connectWS(t, es.testServer)
	w.roundTrip("websocket still served")
}

// TestWebSocketClientClose: an Engine.IO CLOSE from the client ends the
// session; the listeners see a clean disconnect.
func TestWebSocketClientClose(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	w, id := connectWS(t, es.testServer)
	w.send("1")
	if seen := w.expectClosed(); len(seen) > 0 {
		t.Errorf("server sent %q after the client's CLOSE", seen)
	}
	if err := es.disconnected(t, id); err != nil {
		t.Errorf("disconnect reason %v, want nil", err)
	}
	waitFor(t, "the session to end", func() bool { return es.engine().count.Load() == 0 })
}

// TestWebSocketPingFrame: a WebSocket PING control frame is answered with
// a PONG carrying the same data (written by the worker) and reported
// through EventPing.
func TestWebSocketPingFrame(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	pings := make(chan string, 1)
	es.srv.On(EventPing, func(ep *EventPayload) { pings <- string(ep.Data) })
	w, _ := connectWS(t, es.testServer)
	pong := make(chan string, 1)
	w.c.SetPongHandler(func(data string) error { pong <- data; return nil })
	if err := w.c.WriteControl(fws.PingMessage, []byte("are you there"), time.Now().Add(rawTimeout)); err != nil {
		t.Fatal(err)
	}
	// Reading runs the pong handler; the ack comes after the PONG.
	w.roundTrip("after the ping")
	select {
	case data := <-pong:
		if data != "are you there" {
			t.Errorf("PONG data %q", data)
		}
	default:
		t.Fatal("no PONG before the next message")
	}
	select {
	case data := <-pings:
		if data != "are you there" {
			t.Errorf("EventPing data %q", data)
		}
	case <-time.After(rawTimeout):
		t.Fatal("no EventPing")
	}
}

// TestLimitsAtBoundary: an event name of exactly MaxEventNameLength bytes
// and MaxEventArgs elements (the name included) are accepted; one more of
// either is refused (see TestHostileInput).
func TestLimitsAtBoundary(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) {
		c.MaxEventNameLength = 32
		c.MaxEventArgs = 8
	})
	got := make(chan int, 2)
	name := strings.Repeat("n", 32)
	es.srv.On(name, func(ep *EventPayload) { got <- len(ep.Args) })
	w, _ := connectWS(t, es.testServer)
	w.send(`42["` + name + `",1,2,3,4,5,6,7]`)
	w.roundTrip("fits")
	if n := <-got; n != 7 {
		t.Errorf("listener got %d args, want 7", n)
	}
	w.send(`42["` + name + `",1,2,3,4,5,6,7,8]`)
	w.expectClosed()

	w2, _ := connectWS(t, es.testServer)
	w2.send(`42["` + name + `n"]`)
	w2.expectClosed()
}

// --- heartbeat ---

func TestHeartbeatWebSocket(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, testHeartbeat)
	w, _ := connectWS(t, es.testServer)
	start := time.Now()
	for i := 0; i < 3; i++ {
		w.expect("2")
		w.send("3")
	}
	// Three rounds need at least three intervals: the server waits for the
	// interval after each PONG, it does not ping in a loop.
	if d := time.Since(start); d < 3*300*time.Millisecond-50*time.Millisecond {
		t.Errorf("three ping rounds took %v, less than three intervals", d)
	}
	w.autoPong = true
	w.roundTrip("alive after pings")
}

func TestHeartbeatTimeoutWebSocket(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, testHeartbeat)
	other, _ := connectWS(t, es.testServer)
	w, socketID := connectWS(t, es.testServer)
	// The other client answers its pings in the background.
	var stop atomic.Bool
	pongs := make(chan error, 1)
	go func() {
		for !stop.Load() {
			_, msg, err := other.readAny(rawTimeout)
			if err != nil {
				pongs <- err
				return
			}
			if msg == "2" {
				_ = other.c.SetWriteDeadline(time.Now().Add(rawTimeout))
				if err := other.c.WriteMessage(fws.TextMessage, []byte("3")); err != nil {
					pongs <- err
					return
				}
			}
		}
		pongs <- nil
	}()
	start := time.Now()
	seen := w.expectClosed()
	if len(seen) == 0 || seen[0] != "2" {
		t.Errorf("before closing, the server sent %q, want a PING first", seen)
	}
	if d := time.Since(start); d < 1200*time.Millisecond {
		t.Errorf("closed after %v, before PingInterval+PingTimeout", d)
	}
	if err := es.disconnected(t, socketID); !errors.Is(err, ErrHeartbeatTimeout) {
		t.Errorf("disconnect reason %v, want ErrHeartbeatTimeout", err)
	}
	stop.Store(true)
	if err := <-pongs; err != nil {
		t.Fatalf("the client that answered pings: %v", err)
	}
	other.autoPong = true
	other.roundTrip("still here")
}

// TestWebSocketStalledReader: a client that stops reading while the
// server writes to it is dropped, whether more packets keep coming (the
// send queue bound) or not (the heartbeat), with WriteTimeout zero.
func TestWebSocketStalledReader(t *testing.T) {
	for _, flood := range []bool{true, false} {
		name := map[bool]string{true: "queue bound", false: "heartbeat"}[flood]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			es := newEchoServer(t, func(c *Config) {
				testHeartbeat(c)
				if flood {
					// Only the queue bound may end this one: on a
					// loaded machine a short heartbeat could win.
					c.PingInterval, c.PingTimeout = 20*time.Second, 20*time.Second
				}
				c.WriteTimeout = 0
				c.SendQueueSize = 4
			})
			// More than the kernel buffers hold: the client's receive
			// buffer is kept small below, the server's send buffer is
			// at most a few MB.
			big := []byte(`"` + strings.Repeat("z", 8<<20) + `"`)
			es.srv.On("flood", func(ep *EventPayload) {
				kws := ep.Kws
				go func() {
					kws.EmitArgs("big", big)
					for flood && kws.IsAlive() {
						kws.EmitArgs("more", []byte(`"`+strings.Repeat("m", 64<<10)+`"`))
						time.Sleep(time.Millisecond)
					}
				}()
			})
			w, id := connectSmallBufferWS(t, es.testServer)
			w.send(`42["flood"]`)
			// The client reads nothing from now on.
			want := ErrHeartbeatTimeout
			if flood {
				want = ErrSendQueueClosed
			}
			select {
			case d := <-es.disconnects:
				if d.socketID != id || !errors.Is(d.err, want) {
					t.Errorf("disconnect %+v, want socket %s with %v", d, id, want)
				}
			case <-time.After(8 * time.Second):
				t.Fatal("the server is still blocked writing to a client that does not read")
			}
			waitFor(t, "the session to end", func() bool { return es.engine().count.Load() == 0 })
		})
	}
}

// --- upgrade ---

func TestUpgradeFromPolling(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	ts := es.testServer
	sid, socketID := connectPolling(t, ts)
	pending := startGet(context.Background(), ts.pollURL(sid))
	waitFor(t, "the GET to be pending", func() bool { return ts.getPending(sid) })

	w := dialWS(t, ts, "&sid="+sid)
	w.send("2probe")
	w.expect("3probe")
	if status, body := pending.wait(t); status != http.StatusOK || body != "6" {
		t.Fatalf("pending GET during the upgrade: status %d, body %q, want NOOP", status, body)
	}
	w.send("6") // a NOOP on the probing WebSocket is allowed
	w.send("5")
	w.roundTrip("over websocket")
	kws := es.srv.sockets.get(socketID)
	if kws == nil || kws.IsPolling() {
		t.Fatal("the socket is not on WebSocket after the upgrade")
	}

	if status, body := mustHTTP(t, http.MethodGet, ts.pollURL(sid), ""); status != http.StatusBadRequest {
		t.Errorf("polling GET after the upgrade: status %d, body %q, want 400", status, body)
	}
	if status, body := mustHTTP(t, http.MethodPost, ts.pollURL(sid), `42["echo"]`); status != http.StatusBadRequest {
		t.Errorf("polling POST after the upgrade: status %d, body %q, want 400", status, body)
	}
	// As the Node server does (and the official suite expects), a second
	// WebSocket for the sid is accepted and closed at once, unused.
	c, _, err := dialEndpoint(ts, "EIO=4&transport=websocket&sid="+sid)
	if err != nil {
		t.Fatalf("second websocket: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if mt, msg, err := c.ReadMessage(); err == nil {
		t.Errorf("second websocket got message %d %q, want it closed", mt, msg)
	} else if isTimeout(err) {
		t.Error("second websocket was not closed")
	}
	_ = c.Close()
	w.roundTrip("still upgraded")
}

// TestUpgradeWithoutPendingGet: the probe may come while no GET is
// pending; the next GET is then answered with a NOOP at once.
func TestUpgradeWithoutPendingGet(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	ts := es.testServer
	sid, _ := connectPolling(t, ts)
	w := dialWS(t, ts, "&sid="+sid)
	w.send("2probe")
	w.expect("3probe")
	if status, body := mustHTTP(t, http.MethodGet, ts.pollURL(sid), ""); status != http.StatusOK || body != "6" {
		t.Fatalf("GET during the upgrade: status %d, body %q, want NOOP", status, body)
	}
	w.send("5")
	w.roundTrip("upgraded")
}

// TestUpgradeBadProbe: a WebSocket that does not send the probe is
// dropped and the session goes on on polling, still upgradable.
func TestUpgradeBadProbe(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	ts := es.testServer
	sid, _ := connectPolling(t, ts)
	w := dialWS(t, ts, "&sid="+sid)
	w.send("2notprobe")
	w.expectClosed()
	if status, body := mustHTTP(t, http.MethodPost, ts.pollURL(sid), `421["echo","p"]`); status != http.StatusOK || body != "ok" {
		t.Fatalf("POST after a failed upgrade: status %d, body %q", status, body)
	}
	if status, body := mustHTTP(t, http.MethodGet, ts.pollURL(sid), ""); status != http.StatusOK || body != `431["p"]` {
		t.Fatalf("GET after a failed upgrade: status %d, body %q", status, body)
	}
	waitFor(t, "the upgrade claim to be released", func() bool { s := ts.session(sid); return s != nil && !s.upgradeClaim.Load() })
	w2 := dialWS(t, ts, "&sid="+sid)
	w2.send("2probe")
	w2.expect("3probe")
	w2.send("5")
	w2.roundTrip("second upgrade")
}

// TestUpgradeSessionEnds: when the session ends while a WebSocket is
// still probing (here the client closes it over polling), the probing
// WebSocket is closed with it rather than left open until the upgrade
// timeout.
func TestUpgradeSessionEnds(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	ts := es.testServer
	for _, probed := range []bool{false, true} {
		sid, socketID := connectPolling(t, ts)
		w := dialWS(t, ts, "&sid="+sid)
		if probed {
			w.send("2probe")
			w.expect("3probe")
		} else {
			waitFor(t, "the upgrade to be claimed", func() bool { s := ts.session(sid); return s != nil && s.upgradeClaim.Load() })
		}
		post(t, ts, sid, "1")
		if err := es.disconnected(t, socketID); err != nil {
			t.Errorf("disconnect reason %v", err)
		}
		start := time.Now()
		w.expectClosed()
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("probing websocket closed %v after the session", d)
		}
	}
}

// TestUpgradeWithBacklog: packets queued on polling within
// PollQueueMaxFrames, more than SendQueueSize, are all delivered once the
// session is on WebSocket; emits right after the switch do not count as an
// overflow of the smaller WebSocket queue.
func TestUpgradeWithBacklog(t *testing.T) {
	t.Parallel()
	const backlog = 300
	es := newEchoServer(t, func(c *Config) {
		c.SendQueueSize = 100
		c.PollQueueMaxFrames = 1000
	})
	es.srv.On("burst", func(ep *EventPayload) {
		for i := 0; i < backlog; i++ {
			ep.Kws.EmitArgs("b", []byte(strconv.Itoa(i)))
		}
	})
	ts := es.testServer
	sid, _ := connectPolling(t, ts)
	w := dialWS(t, ts, "&sid="+sid)
	w.send("2probe")
	w.expect("3probe")
	get(t, ts, sid, "6")
	// The client may still POST while it pauses polling.
	post(t, ts, sid, `42["burst"]`)
	w.send("5")
	w.send(`421["echo","after"]`)
	for i := 0; i < backlog; i++ {
		w.expect(`42["b",` + strconv.Itoa(i) + `]`)
	}
	w.expect(`431["after"]`)
}

// TestUpgradeKeepsOrder: the server emits a numbered stream while the
// client moves from polling to WebSocket; every number arrives once, in
// order, on one transport or the other.
func TestUpgradeKeepsOrder(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	// The stream may pile up while the client switches; the queue bound is
	// not what this test is about.
	cfg.SendQueueSize = 100_000
	cfg.PollQueueMaxFrames = 100_000
	srv := NewServer(cfg)
	srv.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
	stop := make(chan struct{})
	emitterDone := make(chan error, 1)
	srv.On("start", func(ep *EventPayload) {
		kws := ep.Kws
		go func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					kws.EmitArgs("end", []byte(strconv.Itoa(i)))
					emitterDone <- nil
					return
				default:
				}
				kws.EmitArgs("seq", []byte(strconv.Itoa(i)))
				if !kws.IsAlive() {
					emitterDone <- errors.New("socket died while emitting")
					return
				}
				time.Sleep(200 * time.Microsecond)
			}
		}()
	})
	ts := startServer(t, srv, nil)
	sid, _ := connectPolling(t, ts)

	var got []int
	end := -1
	record := func(packet string) {
		switch {
		case strings.HasPrefix(packet, `42["seq",`):
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(packet, `42["seq",`), "]"))
			if err != nil {
				t.Errorf("bad seq packet %q", packet)
			}
			got = append(got, n)
		case strings.HasPrefix(packet, `42["end",`):
			end, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(packet, `42["end",`), "]"))
		case packet == "6":
		default:
			t.Errorf("unexpected packet %q", packet)
		}
	}

	if status, body := mustHTTP(t, http.MethodPost, ts.pollURL(sid), `42["start"]`); status != http.StatusOK || body != "ok" {
		t.Fatalf("POST start: %d %q", status, body)
	}
	// Poll until some numbers came over polling, then probe while a GET
	// may be pending, as the official client does.
	var polled []string
	var stopPolling atomic.Bool
	pollerDone := make(chan error, 1)
	go func() {
		for {
			status, body, err := httpDo(context.Background(), http.MethodGet, ts.pollURL(sid), "")
			if err != nil || status != http.StatusOK {
				pollerDone <- errors.New("poll: status " + strconv.Itoa(status) + " body " + body)
				return
			}
			polled = append(polled, strings.Split(body, "\x1e")...)
			if stopPolling.Load() && len(polled) > 0 {
				pollerDone <- nil
				return
			}
			if len(polled) >= 100 {
				stopPolling.Store(true)
			}
		}
	}()
	waitFor(t, "numbers over polling", stopPolling.Load)
	w := dialWS(t, ts, "&sid="+sid)
	w.send("2probe")
	w.expect("3probe")
	select {
	case err := <-pollerDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(rawTimeout):
		t.Fatal("the pending GET was not released by the probe")
	}
	for _, p := range polled {
		record(p)
	}
	w.send("5")
	stopped := false
	for end < 0 {
		record(w.read())
		if !stopped && len(got) > len(polled)+100 {
			close(stop)
			stopped = true
		}
	}
	if !stopped {
		t.Fatal("the stream ended before the test stopped it")
	}
	if err := <-emitterDone; err != nil {
		t.Fatal(err)
	}
	if len(got) != end {
		t.Fatalf("received %d numbers, the server emitted %d", len(got), end)
	}
	for i, n := range got {
		if n != i {
			t.Fatalf("number %d arrived at position %d: lost, duplicated or reordered (around %v)", n, i, got[max(0, i-3):min(len(got), i+3)])
		}
	}
	w.roundTrip("after the stream")
}

// --- Socket.IO over a raw WebSocket ---

func TestSIOConnectMain(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	srv := NewServer(cfg)
	connected := make(chan string, 1)
	srv.On(EventConnect, func(ep *EventPayload) { connected <- ep.SocketUUID })
	srv.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
	ts := startServer(t, srv, nil)
	w, socketID := connectWS(t, ts)
	select {
	case id := <-connected:
		if id != socketID {
			t.Errorf("CONNECT reply sid %q, EventConnect socket %q", socketID, id)
		}
	case <-time.After(rawTimeout):
		t.Fatal("no EventConnect")
	}
	// Events and acks with several arguments, as the official suite sends.
	w.send(`42456["echo",1,"2",{"3":[false]}]`)
	w.expect(`43456[1,"2",{"3":[false]}]`)
	// A second CONNECT to a connected namespace changes nothing, and an
	// ACK for an id the server never used is ignored.
	w.send("40")
	w.send(`43999["unasked"]`)
	w.roundTrip("after a duplicate connect")
}

func TestSIOConnectCustomNamespace(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	auth := make(chan string, 1)
	es.srv.Of("/custom").On(EventConnect, func(ep *EventPayload) { auth <- string(ep.HandshakeAuth) })
	w, _ := openWS(t, es.testServer)

	w.send(`40/custom,{"token":"abc"}`)
	connectReplySID(t, w.read(), "/custom")
	select {
	case a := <-auth:
		if a != `{"token":"abc"}` {
			t.Errorf("auth %s", a)
		}
	case <-time.After(rawTimeout):
		t.Fatal("no EventConnect on /custom")
	}
	w.send(`42/custom,9["echo","x"]`)
	w.expect(`43/custom,9["x"]`)

	// Once a namespace is declared, others are refused.
	w.send("40/random")
	w.expect(`44/random,{"message":"Invalid namespace"}`)
	w.send(`40/random,{"a":1}`)
	w.expect(`44/random,{"message":"Invalid namespace"}`)
	// An event to a namespace the client is not in is ignored.
	w.send(`42/random,3["echo","lost"]`)
	w.send("40")
	connectReplySID(t, w.read(), "/")
	w.roundTrip("main after refusals")
}

func TestSIOConnectBadAuth(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) { c.MaxAuthPayload = 64 })
	w, _ := openWS(t, es.testServer)
	refusal := `44{"message":"` + ErrInvalidAuthPayload.Error() + `"}`
	for _, bad := range []string{
		`40"a string"`,
		`40[1,2]`,
		`40true`,
		`40{"unterminated":`,
	} {
		w.send(bad)
		w.expect(refusal)
	}
	// Too big: the message says so.
	w.send(`40{"token":"` + strings.Repeat("x", 100) + `"}`)
	w.expect(`44{"message":"` + ErrInvalidAuthPayload.Error() + `: 112 bytes, over MaxAuthPayload (64)"}`)
	// The connection is still usable: a good CONNECT goes through.
	w.send(`40{"token":"fits"}`)
	connectReplySID(t, w.read(), "/")
	w.roundTrip("connected after refusals")
}

func TestSIODisconnectNamespace(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	es.srv.Of("/custom")
	w, mainID := connectWS(t, es.testServer)
	w.send("40/custom,")
	customID := connectReplySID(t, w.read(), "/custom")

	w.send("41/custom")
	if err := es.disconnected(t, customID); err != nil {
		t.Errorf("client DISCONNECT of /custom: reason %v, want nil", err)
	}
	// /custom no longer answers; the main namespace does, and its ack is
	// the next packet.
	w.send(`42/custom,5["echo","gone"]`)
	w.roundTrip("main still connected")
	if kws := es.srv.sockets.get(mainID); kws == nil || !kws.IsAlive() {
		t.Fatal("the main namespace socket was disconnected too")
	}

	// Leaving the last namespace keeps the Engine.IO session: the client
	// can connect again.
	w.send("41")
	if err := es.disconnected(t, mainID); err != nil {
		t.Errorf("client DISCONNECT of /: reason %v", err)
	}
	w.send("40")
	if id := connectReplySID(t, w.read(), "/"); id == mainID {
		t.Error("reconnected socket reuses the old id")
	}
	w.roundTrip("reconnected")
}

func TestSIOHandshakeTimeout(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) { c.HandshakeTimeout = 300 * time.Millisecond })
	ts := es.testServer
	w, _ := openWS(t, ts)
	start := time.Now()
	w.expectClosed()
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("closed after %v, before HandshakeTimeout", d)
	}
	sid := openPolling(t, ts)
	waitFor(t, "the polling session to time out", func() bool { return ts.engine().lookup(sid) == nil })
	if status, body := mustHTTP(t, http.MethodGet, ts.pollURL(sid), ""); status != http.StatusBadRequest {
		t.Errorf("GET after the handshake timeout: %d %q", status, body)
	}
	// A client that connects in time is not affected.
	c, _ := connectWS(t, ts)
	time.Sleep(400 * time.Millisecond) // past HandshakeTimeout on purpose
	c.roundTrip("connected in time")
}

// --- hostile input ---

// TestHostileInput sends one malformed or abusive message per case on a
// connected socket: the server closes that connection with a reason, and a
// well-behaved client on the same server goes on.
func TestHostileInput(t *testing.T) {
	manyArgs := `42["echo"` + strings.Repeat(`,1`, 300) + `]`
	batch := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = `42["noop"]`
		}
		return strings.Join(parts, "\x1e")
	}
	cases := []struct {
		name string
		mod  func(*Config)
		send func(w *wsClient)
		want error
	}{
		{"unknown packet type", nil, func(w *wsClient) { w.send("4abc") }, ErrInvalidPacket},
		{"EVENT payload not an array", nil, func(w *wsClient) { w.send("42{}") }, ErrInvalidJSON},
		{"garbage ack id", nil, func(w *wsClient) { w.send(`42abc["x"]`) }, ErrInvalidJSON},
		{"ack id over uint64", nil, func(w *wsClient) { w.send(`4218446744073709551616["echo"]`) }, ErrInvalidPacket},
		{"ACK id over uint64", nil, func(w *wsClient) { w.send(`4318446744073709551616[]`) }, ErrInvalidPacket},
		{"event name too long", nil, func(w *wsClient) { w.send(`42["` + strings.Repeat("n", 257) + `"]`) }, ErrEventNameTooLong},
		{"too many arguments", nil, func(w *wsClient) { w.send(manyArgs) }, ErrTooManyArgs},
		{"batch over MaxBatchPackets", nil, func(w *wsClient) { w.send(batch(257)) }, ErrBatchPacketsExceeded},
		{"message over MaxPayload", func(c *Config) { c.MaxPayload = 10_000 }, func(w *wsClient) {
			// The server may close while the frame is still being written.
			_ = w.c.WriteMessage(fws.TextMessage, []byte(`42["echo","`+strings.Repeat("x", 20_000)+`"]`))
		}, ErrMessageTooLarge},
		{"invalid UTF-8", nil, func(w *wsClient) { w.send("42[\"echo\",\"\xff\xfe\"]") }, ErrInvalidUTF8},
		{"reserved name connect", nil, func(w *wsClient) { w.send(`42["connect"]`) }, ErrReservedEventReceived},
		{"reserved name disconnect", nil, func(w *wsClient) { w.send(`42["disconnect","x"]`) }, ErrReservedEventReceived},
		{"reserved name disconnecting", nil, func(w *wsClient) { w.send(`42["disconnecting"]`) }, ErrReservedEventReceived},
		{"unknown Engine.IO type", nil, func(w *wsClient) { w.send("9") }, ErrInvalidPacket},
		{"Engine.IO UPGRADE out of place", nil, func(w *wsClient) { w.send("5") }, ErrUnknownEIOPacket},
		{"empty text message", nil, func(w *wsClient) { w.send("") }, ErrInvalidPacket},
		{"broken base64 binary", nil, func(w *wsClient) { w.send("bAQI=D") }, ErrInvalidPacket},
		{"base64 binary without its event", nil, func(w *wsClient) { w.send("bAQID") }, ErrUnexpectedAttachment},
		{"SIO CONNECT_ERROR from a client", nil, func(w *wsClient) { w.send(`44{"message":"x"}`) }, ErrInvalidPacket},
		{"binary frame", nil, func(w *wsClient) {
			if err := w.c.WriteMessage(fws.BinaryMessage, []byte{1, 2, 3}); err != nil {
				w.t.Fatal(err)
			}
		}, ErrUnexpectedAttachment},
		// Frames that break RFC 6455, written raw on the TCP connection.
		{"unmasked frame", nil, rawFrame(clientFrame(opText, true, []byte(`42["echo"]`), unmasked)), ErrWebSocketProtocol},
		{"reserved bit (no extension negotiated)", nil, rawFrame(clientFrame(opText, true, []byte(`42["echo"]`), rsv1)), ErrWebSocketProtocol},
		{"reserved opcode", nil, rawFrame(clientFrame(3, true, []byte("x"))), ErrWebSocketProtocol},
		{"fragmented ping", nil, rawFrame(clientFrame(opPing, false, []byte("x"))), ErrWebSocketProtocol},
		{"continuation without a start", nil, rawFrame(clientFrame(opContinuation, true, []byte("x"))), ErrWebSocketProtocol},
		{"fragments over MaxPayload", func(c *Config) { c.MaxPayload = 1000 }, rawFrame(append(
			clientFrame(opText, false, []byte(`42["echo","`+strings.Repeat("x", 600))),
			clientFrame(opContinuation, true, []byte(strings.Repeat("x", 600)+`"]`))...)), ErrMessageTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			es := newEchoServer(t, tc.mod)
			good, _ := connectWS(t, es.testServer)
			bad, badID := connectWS(t, es.testServer)
			tc.send(bad)
			if seen := bad.expectClosed(); len(seen) > 0 {
				t.Errorf("server answered %q before closing", seen)
			}
			if err := es.disconnected(t, badID); !errors.Is(err, tc.want) {
				t.Errorf("disconnect reason %v, want %v", err, tc.want)
			}
			good.roundTrip("after " + tc.name)
			if n := es.engine().count.Load(); n != 1 {
				t.Errorf("%d sessions left, want the good one only", n)
			}
		})
	}
}

// rawFrame writes frame bytes as they are on the client's TCP connection.
func rawFrame(frame []byte) func(w *wsClient) {
	return func(w *wsClient) {
		if _, err := w.c.NetConn().Write(frame); err != nil {
			w.t.Fatal(err)
		}
	}
}

// TestGoodMessageBeforeBadFrame: a message that arrived in the same read
// as a frame breaking the protocol is still handled before the connection
// closes.
func TestGoodMessageBeforeBadFrame(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	w, id := connectWS(t, es.testServer)
	stream := append(clientFrame(opText, true, []byte(`421["echo","last words"]`)),
		clientFrame(opText, true, []byte("x"), unmasked)...)
	rawFrame(stream)(w)
	w.expect(`431["last words"]`)
	expectCloseCode(w, fws.CloseProtocolError)
	if err := es.disconnected(t, id); !errors.Is(err, ErrWebSocketProtocol) {
		t.Errorf("disconnect reason %v, want ErrWebSocketProtocol", err)
	}
}

// expectCloseCode reads the server's close frame and checks its status.
func expectCloseCode(w *wsClient, code int) {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(rawTimeout))
	_, msg, err := w.c.ReadMessage()
	var ce *fws.CloseError
	if !errors.As(err, &ce) || ce.Code != code {
		w.t.Fatalf("got %q, %v; want a close frame with status %d", msg, err, code)
	}
}

// TestMessageTooBigCloseCode: a message over MaxPayload is answered with a
// close frame of status 1009, and the session ends with ErrMessageTooLarge.
func TestMessageTooBigCloseCode(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) { c.MaxPayload = 1000 })
	w, id := connectWS(t, es.testServer)
	rawFrame(clientFrame(opText, true, []byte(`42["echo","`+strings.Repeat("x", 2000)+`"]`)))(w)
	expectCloseCode(w, fws.CloseMessageTooBig)
	if err := es.disconnected(t, id); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("disconnect reason %v, want ErrMessageTooLarge", err)
	}
}

// TestBatchAtLimit: a WebSocket frame with exactly MaxBatchPackets packets
// is accepted, every packet handled in order.
func TestBatchAtLimit(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) { c.MaxBatchPackets = 16 })
	w, _ := connectWS(t, es.testServer)
	parts := make([]string, 16)
	for i := range parts {
		parts[i] = `42` + strconv.Itoa(i) + `["echo",` + strconv.Itoa(i) + `]`
	}
	w.send(strings.Join(parts, "\x1e"))
	for i := range parts {
		w.expect(`43` + strconv.Itoa(i) + `[` + strconv.Itoa(i) + `]`)
	}
	w.send(strings.Join(append(parts, "3"), "\x1e"))
	w.expectClosed()
}

// TestDeeplyNestedJSON: 100,000 levels of nesting in an event argument
// neither crash nor stall the server: the argument reaches the listener
// and comes back through the ack byte for byte.
func TestDeeplyNestedJSON(t *testing.T) {
	t.Parallel()
	const depth = 100_000
	nested := strings.Repeat("[", depth) + `{"deep":true}` + strings.Repeat("]", depth)
	cfg := testConfig()
	srv := NewServer(cfg)
	gotLen := make(chan int, 1)
	srv.On("echo", func(ep *EventPayload) {
		gotLen <- len(ep.Data)
		_ = ep.Ack(ep.Args...)
	})
	ts := startServer(t, srv, nil)
	w, _ := connectWS(t, ts)
	w.send(`421["echo",` + nested + `]`)
	w.expect(`431[` + nested + `]`)
	if n := <-gotLen; n != len(nested) {
		t.Errorf("listener got %d bytes, sent %d", n, len(nested))
	}
	// Unbalanced nesting is refused, not scanned forever.
	w.send(`42["echo",` + strings.Repeat("[", depth) + `]`)
	w.expectClosed()
}

// TestListenerPanic: a panicking listener is recovered, EventError fires
// with ErrListenerPanic, and the client (the real socket.io-client) goes
// on on the same connection.
func TestListenerPanic(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	errs := make(chan error, 4)
	srv.On("boom", func(*EventPayload) { panic("listener bug") })
	srv.On(EventError, func(ep *EventPayload) { errs <- ep.Error })
	srv.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
	ts := startServer(t, srv, nil)
	res := runNode(t, ts.url, `
const socket = io(URL, { transports: ["websocket"] });
let done = false;
socket.on("connect", () => {
  const id = socket.id;
  socket.emit("boom");
  socket.emit("echo", "after the panic", (v) => {
    out({ echo: v, same: socket.id === id });
    done = true;
    socket.disconnect();
    process.exit(0);
  });
});
socket.on("disconnect", (r) => { if (!done) fail("disconnected: " + r); });
socket.on("connect_error", (e) => fail("connect_error " + e.message));
`, 10*time.Second)
	if !res.has(`{"echo":"after the panic","same":true}`) {
		t.Errorf("client output %q", res.lines)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, ErrListenerPanic) {
			t.Errorf("EventError %v, want ErrListenerPanic", err)
		}
	case <-time.After(rawTimeout):
		t.Fatal("no EventError for the panic")
	}
	// The server still takes new clients.
	w, _ := connectWS(t, ts)
	w.roundTrip("new client")
}

// --- server-side API ---

func TestServerEmitToAndBroadcast(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	es.srv.Of("/custom")
	ts := es.testServer
	a, idA := connectWS(t, ts)
	b, idB := connectWS(t, ts)
	c, idC := connectWS(t, ts)
	c.send("40/custom,")
	connectReplySID(t, c.read(), "/custom")

	if err := es.srv.EmitTo(idA, []byte(`{"to":"a"}`)); err != nil {
		t.Fatalf("EmitTo: %v", err)
	}
	a.expect(`42["message",{"to":"a"}]`)
	if err := es.srv.EmitTo("no-such-socket", []byte("x")); !errors.Is(err, ErrorInvalidConnection) {
		t.Errorf("EmitTo an unknown id: %v, want ErrorInvalidConnection", err)
	}

	// Text that is not JSON is sent as a string.
	es.srv.EmitToList([]string{idB, "no-such-socket", idC}, []byte("to b and c"))
	b.expect(`42["message","to b and c"]`)
	c.expect(`42["message","to b and c"]`)

	es.srv.Broadcast([]byte(`"everyone"`))
	// a's next packet is the broadcast: EmitToList skipped it.
	a.expect(`42["message","everyone"]`)
	b.expect(`42["message","everyone"]`)
	got := []string{c.read(), c.read()}
	sort.Strings(got)
	if want := []string{`42/custom,["message","everyone"]`, `42["message","everyone"]`}; !reflect.DeepEqual(got, want) {
		t.Errorf("c received %q, want the broadcast once per namespace %q", got, want)
	}

	// A disconnected socket is no longer addressable.
	b.send("41")
	if err := es.disconnected(t, idB); err != nil {
		t.Errorf("disconnect reason %v", err)
	}
	if err := es.srv.EmitTo(idB, []byte("x")); !errors.Is(err, ErrorInvalidConnection) {
		t.Errorf("EmitTo a disconnected socket: %v", err)
	}
	es.srv.Broadcast([]byte(`"again"`))
	a.expect(`42["message","again"]`)
	// b's next packet is the reply to a new CONNECT, not the broadcast.
	b.send("40")
	connectReplySID(t, b.read(), "/")
	b.roundTrip("b reconnected")
}

func TestSocketCloseRaw(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	var closed atomic.Int32
	es.srv.On(EventClose, func(*EventPayload) { closed.Add(1) })
	es.srv.On("bye", func(ep *EventPayload) { ep.Kws.Close() })
	other, _ := connectWS(t, es.testServer)
	w, id := connectWS(t, es.testServer)
	// As Node's server, it leaves the client time to close the connection
	// itself (the official client does on the DISCONNECT): a client that
	// handles the close before the packet would see "transport close", not
	// "io server disconnect". This client does not close: the server does,
	// after CloseTimeout (500 ms here).
	asked := time.Now()
	w.send(`42["bye"]`)
	w.expect("41")
	rest := w.expectClosed()
	if len(rest) > 1 || (len(rest) == 1 && rest[0] != "1") {
		t.Errorf("after the DISCONNECT the server sent %q, want at most an Engine.IO CLOSE", rest)
	}
	if d := time.Since(asked); d < 400*time.Millisecond {
		t.Errorf("the server closed the connection %v after the DISCONNECT, before the client could", d)
	}
	if err := es.disconnected(t, id); err != nil {
		t.Errorf("disconnect reason %v, want nil for a server Close", err)
	}
	if n := closed.Load(); n != 1 {
		t.Errorf("EventClose fired %d times", n)
	}
	other.roundTrip("other client unaffected")

	// Over polling the DISCONNECT and the CLOSE wait for the client's next
	// GET, which must still find the session.
	sid, pollID := connectPolling(t, es.testServer)
	asked = time.Now()
	post(t, es.testServer, sid, `42["bye"]`)
	if got := pollUntilClose(es.pollURL(sid)); !reflect.DeepEqual(got, []string{"41", "1"}) {
		t.Errorf("polling client received %q, want DISCONNECT then CLOSE", got)
	}
	if d := time.Since(asked); d < 400*time.Millisecond {
		t.Errorf("the server sent its CLOSE %v after the DISCONNECT, before the client could close", d)
	}
	if err := es.disconnected(t, pollID); err != nil {
		t.Errorf("disconnect reason %v, want nil for a server Close", err)
	}
	waitFor(t, "the polling session to end", func() bool { return es.session(sid) == nil })
	getRefused(t, es.testServer, sid)
}

func TestSocketCloseNodeClient(t *testing.T) {
	for _, tr := range transports[:2] {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			es := newEchoServer(t, nil)
			es.srv.On("bye", func(ep *EventPayload) { ep.Kws.Close() })
			res := runNode(t, es.url, `
const socket = io(URL, { `+tr.opts+`, reconnection: false });
socket.on("connect", () => socket.emit("bye"));
socket.on("disconnect", (reason) => { out({ reason }); setTimeout(() => process.exit(0), 50); });
socket.on("connect_error", (e) => fail("connect_error " + e.message));
`, 10*time.Second)
			if !res.has(`{"reason":"io server disconnect"}`) {
				t.Errorf("client output %q", res.lines)
			}
			waitFor(t, "the session to end", func() bool { return es.engine().count.Load() == 0 })
		})
	}
}

// pollUntilClose polls a session until it receives an Engine.IO CLOSE or
// an HTTP error, and returns every packet (an error as "HTTP <status>").
func pollUntilClose(url string) []string {
	var got []string
	for len(got) < 100 {
		status, body, err := httpDo(context.Background(), http.MethodGet, url, "")
		if err != nil || status != http.StatusOK {
			return append(got, "HTTP "+strconv.Itoa(status))
		}
		ps := strings.Split(body, "\x1e")
		got = append(got, ps...)
		if ps[len(ps)-1] == "1" {
			break
		}
	}
	return got
}

// TestShutdown: clients on both transports get their DISCONNECT and the
// Engine.IO CLOSE, listeners see ErrServerShutdown, pending acks fail, and
// Shutdown returns once every session is done. One polling client has a GET
// pending when Shutdown starts, the other polls only once its session is
// already closing.
func TestShutdown(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	var mu sync.Mutex
	reasons := map[string]error{}
	ackErrs := map[string]error{}
	srv.On(EventConnect, func(ep *EventPayload) {
		id := ep.SocketUUID
		ep.Kws.EmitWithAckTimeout("question", []byte("1"), 0, func(_ []byte, err error) {
			mu.Lock()
			ackErrs[id] = err
			mu.Unlock()
		})
	})
	srv.On(EventDisconnect, func(ep *EventPayload) {
		mu.Lock()
		reasons[ep.SocketUUID] = ep.Error
		mu.Unlock()
	})
	ts := startServer(t, srv, nil)

	w, _ := openWS(t, ts)
	w.send("40")
	sockets := []string{connectReplySID(t, w.read(), "/")}
	w.expect(`420["question",1]`)

	var sids []string
	for i := 0; i < 2; i++ {
		sid := openPolling(t, ts)
		post(t, ts, sid, "40")
		status, body := mustHTTP(t, http.MethodGet, ts.pollURL(sid), "")
		packets := strings.Split(body, "\x1e")
		// Ack ids count per namespace, as in Node: any id will do.
		if status != http.StatusOK || len(packets) != 2 || !strings.HasPrefix(packets[1], "42") || !strings.HasSuffix(packets[1], `["question",1]`) {
			t.Fatalf("polling connect: %d %q", status, body)
		}
		sockets = append(sockets, connectReplySID(t, packets[0], "/"))
		sids = append(sids, sid)
	}

	pendingDone := make(chan []string, 1)
	go func() { pendingDone <- pollUntilClose(ts.pollURL(sids[0])) }()
	waitFor(t, "the GET to be pending", func() bool { return ts.getPending(sids[0]) })

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	start := time.Now()
	shutdownDone := make(chan error, 1)
	go func() { shutdownDone <- srv.Shutdown(ctx) }()

	// As from Node's server, no DISCONNECT: the clients see the
	// transport close, and reconnect (TestShutdownClientsReconnect).
	if got := w.expectClosed(); !reflect.DeepEqual(got, []string{"1"}) {
		t.Errorf("websocket client received %q, want a CLOSE", got)
	}
	select {
	case got := <-pendingDone:
		if !reflect.DeepEqual(got, []string{"1"}) {
			t.Errorf("polling client with a pending GET received %q, want a CLOSE", got)
		}
	case <-time.After(rawTimeout):
		t.Fatal("polling client still polling")
	}
	waitFor(t, "the second polling session to close", func() bool {
		s := ts.session(sids[1])
		return s == nil || s.closed()
	})
	if got := pollUntilClose(ts.pollURL(sids[1])); !reflect.DeepEqual(got, []string{"1"}) {
		t.Errorf("polling client polling after the close received %q, want a CLOSE", got)
	}
	select {
	case err := <-shutdownDone:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(rawTimeout):
		t.Fatal("Shutdown did not return")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	mu.Lock()
	for _, id := range sockets {
		if !errors.Is(reasons[id], ErrServerShutdown) {
			t.Errorf("socket %s: disconnect reason %v, want ErrServerShutdown", id, reasons[id])
		}
		if !errors.Is(ackErrs[id], ErrAckDisconnected) {
			t.Errorf("socket %s: pending ack got %v, want ErrAckDisconnected", id, ackErrs[id])
		}
	}
	mu.Unlock()
	if n := ts.engine().count.Load(); n != 0 {
		t.Errorf("%d sessions left after Shutdown", n)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	status, body := mustHTTP(t, http.MethodGet, ts.eioURL("transport=polling"), "")
	if status != http.StatusServiceUnavailable {
		t.Errorf("handshake after Shutdown: %d %q, want 503", status, body)
	}
	if c, _, err := dialEndpoint(ts, "EIO=4&transport=websocket"); err == nil {
		_ = c.Close()
		t.Error("websocket accepted after Shutdown")
	}
}

// The client reads a namespace CONNECT reply only once the socket is
// indexed: an EmitTo or a room broadcast sent the moment the client has the
// reply reaches it.
func TestConnectReplyAfterSocketIndexed(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	es.srv.Of("/custom")
	// Two disconnects per round stay within the echo server's buffer of 64.
	for i := 0; i < 30; i++ {
		w, id := connectWS(t, es.testServer)
		if err := es.srv.EmitTo(id, []byte(`"direct"`)); err != nil {
			t.Fatalf("EmitTo right after the CONNECT reply: %v", err)
		}
		w.expect(`42["message","direct"]`)
		w.send("40/custom,")
		connectReplySID(t, w.read(), "/custom")
		_ = es.srv.Of("/custom").Emit("hello", []byte(`"custom"`))
		w.expect(`42/custom,["hello","custom"]`)
		w.c.Close()
	}
}

// TestUpgradeTimeout: a WebSocket that answers the probe but never sends
// UPGRADE is closed after UpgradeTimeout, and the session goes on on
// polling.
func TestUpgradeTimeout(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) { c.UpgradeTimeout = 300 * time.Millisecond })
	ts := es.testServer
	sid, _ := connectPolling(t, ts)
	w := dialWS(t, ts, "&sid="+sid)
	start := time.Now()
	w.send("2probe")
	w.expect("3probe")
	w.expectClosed()
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("probing WebSocket closed after %v, want about 300ms", d)
	}
	waitFor(t, "the upgrade to be given up", func() bool { s := ts.session(sid); return s != nil && !s.upgrading.Load() })
	post(t, ts, sid, `421["echo","p"]`)
	get(t, ts, sid, `431["p"]`)
}

// TestCloseInSameReadAsHandshake: a client that sends its CONNECT and a
// CLOSE frame (or a frame breaking the protocol) in one write is closed at
// once. The frames come in one read; the handshake took the CONNECT, and
// the read loop used to wait for more bytes before acting on the frame
// parsed after it, while the client waited for the server's CLOSE.
func TestCloseInSameReadAsHandshake(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		second []byte
		code   int
		reason error
	}{
		{"close", clientFrame(opClose, true, []byte{0x03, 0xe8}), fws.CloseNormalClosure, nil},
		{"bad frame", clientFrame(opText, true, []byte("x"), unmasked), fws.CloseProtocolError, ErrWebSocketProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			es := newEchoServer(t, nil)
			w, _ := openWS(t, es.testServer)
			rawFrame(append(clientFrame(opText, true, []byte("40")), tc.second...))(w)
			id := connectReplySID(t, w.read(), "/")
			start := time.Now()
			err := es.disconnectedWithin(t, id, 2*time.Second)
			if tc.reason == nil && err != nil || tc.reason != nil && !errors.Is(err, tc.reason) {
				t.Errorf("disconnect reason %v, want %v", err, tc.reason)
			}
			expectCloseCode(w, tc.code)
			t.Logf("closed after %v", time.Since(start))
		})
	}
}

// TestCloseInSameReadAsUpgrade: the UPGRADE packet and a CLOSE frame in
// one write, as the official client sends them when it closes during an
// upgrade, close the session at once (it used to wait until the client
// gave up and cut the TCP connection).
func TestCloseInSameReadAsUpgrade(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	sid, socketID := connectPolling(t, es.testServer)
	w := dialWS(t, es.testServer, "&sid="+sid)
	w.send("2probe")
	w.expect("3probe")
	rawFrame(append(clientFrame(opText, true, []byte("5")), clientFrame(opClose, true, []byte{0x03, 0xe8})...))(w)
	if err := es.disconnectedWithin(t, socketID, 2*time.Second); err != nil {
		t.Errorf("disconnect reason %v, want none (a client close)", err)
	}
	expectCloseCode(w, fws.CloseNormalClosure)
}
