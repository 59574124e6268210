package socketio

import (
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v3"
)

// echoEngine is an Engine.IO-only handler that sends every message back,
// the behaviour the official engine.io-protocol test suite expects.
type echoEngine struct{}

func (echoEngine) onMessage(s *session, data []byte, binary bool) error {
	if binary {
		return s.send(outPacket{data: data, binary: true})
	}
	return s.send(outPacket{data: append([]byte{eioMessage}, data...)})
}

func (echoEngine) onClose(*session, error) {}

// TestConformanceServer serves, on 127.0.0.1:3000, what the official
// Engine.IO v4 and v3 and Socket.IO v5 protocol test suites expect: an Engine.IO
// echo server at /engine.io/ and a Socket.IO server at /socket.io/ (events
// "message" and "message-with-ack" echoed, "auth" emitted on connect,
// namespace /custom), with pingInterval 300 ms and pingTimeout 200 ms. It
// runs only with SOCKETIO_CONFORMANCE=1 and stops on SIGINT/SIGTERM; see
// scripts/conformance.sh.
func TestConformanceServer(t *testing.T) {
	if os.Getenv("SOCKETIO_CONFORMANCE") != "1" {
		t.Skip("set SOCKETIO_CONFORMANCE=1 to serve the protocol test suites")
	}
	cfg := testConfig()
	cfg.PingInterval = 300 * time.Millisecond
	cfg.PingTimeout = 200 * time.Millisecond
	cfg.HandshakeTimeout = time.Second
	cfg.AllowEIO3 = true // the Engine.IO v3 suite's server has allowEIO3
	cfg = cfg.normalized()

	app := fiber.New()
	eng := newEngine(&cfg, func(*session) engineHandler { return echoEngine{} })
	app.All("/engine.io/", eng.serve)

	srv := NewServer(cfg)
	srv.Of("/custom")
	emitAuth := func(kws *Websocket) {
		auth := kws.HandshakeAuth()
		if auth == nil {
			auth = []byte("{}")
		}
		kws.EmitArgs("auth", auth)
	}
	// Echo the arguments as values, so binary attachments go back as
	// attachments.
	values := func(ep *EventPayload) []any {
		vals := make([]any, len(ep.Args))
		ptrs := make([]any, len(ep.Args))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := ep.Decode(ptrs...); err != nil {
			t.Errorf("decode %s: %v", ep.Name, err)
		}
		return vals
	}
	srv.On("message", func(ep *EventPayload) { _ = ep.Kws.EmitValues("message-back", values(ep)...) })
	srv.On("message-with-ack", func(ep *EventPayload) { _ = ep.AckValues(values(ep)...) })
	app.All("/socket.io/", srv.Handler(emitAuth))

	go func() { _ = app.Listen("127.0.0.1:3000", fiber.ListenConfig{DisableStartupMessage: true}) }()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	signal.Stop(stop)
	_ = app.ShutdownWithTimeout(2 * time.Second)
	_ = srv.Shutdown(t.Context())
}

// TestEngineOnlyWebSocket: an engine whose handler has no Socket.IO
// handshake (the echo the Engine.IO suite drives) reads a WebSocket
// session from its first message: a MESSAGE comes back, and the PONGs
// keep the session past several heartbeats. (The connection's reader used
// to wait for a Socket.IO CONNECT that such a handler never sees, so
// nothing was read and the session died at the first PING.)
func TestEngineOnlyWebSocket(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.PingInterval = 100 * time.Millisecond
	cfg.PingTimeout = 200 * time.Millisecond
	cfg = cfg.normalized()
	eng := newEngine(&cfg, func(*session) engineHandler { return echoEngine{} })
	app := fiber.New()
	app.All("/socket.io/", eng.serve)
	srv := NewServer(testConfig()) // only to give serveApp a server to shut down
	ts := serveApp(t, srv, app)
	t.Cleanup(func() {
		eng.closeAll(ErrServerShutdown)
		eng.wg.Wait()
	})
	c, _, err := dialEndpoint(ts, "EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	read := func() string {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, msg, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(msg)
	}
	if open := read(); open[0] != '0' {
		t.Fatalf("first message %q, want OPEN", open)
	}
	if err := c.WriteMessage(fws.TextMessage, []byte("4hello")); err != nil {
		t.Fatal(err)
	}
	if msg := read(); msg != "4hello" {
		t.Fatalf("got %q, want the echo of 4hello", msg)
	}
	if err := c.WriteMessage(fws.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	pings, binary := 0, false
	for pings < 4 || !binary {
		switch msg := read(); msg {
		case "2":
			pings++
			if err := c.WriteMessage(fws.TextMessage, []byte("3")); err != nil {
				t.Fatal(err)
			}
		case "\x01\x02\x03":
			binary = true
		default:
			t.Fatalf("got %q", msg)
		}
	}
}
