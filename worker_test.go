package socketio

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/contrib/v3/websocket"
	"github.com/gofiber/fiber/v3"
)

// TestWebSocketConnOutlivesUpgradeHandler: the websocket middleware's
// handler returns as soon as the session has its own goroutine, and the
// middleware recycles its Conn then. kws.Conn is a copy that keeps the
// request's locals, query and headers of its own connection, and the
// connection keeps working.
func TestWebSocketConnOutlivesUpgradeHandler(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	var (
		mu      sync.Mutex
		sockets = map[string]*Websocket{}
	)
	app := fiber.New()
	app.Use(func(c fiber.Ctx) error {
		c.Locals("user", "local-"+c.Query("user"))
		return c.Next()
	})
	h := srv.Handler(func(kws *Websocket) {
		mu.Lock()
		sockets[kws.Query("user")] = kws
		mu.Unlock()
	})
	app.Get("/socket.io/", h)
	ts := serveApp(t, srv, app)
	base := "ws" + strings.TrimPrefix(ts.url, "http") + "/socket.io/?EIO=4&transport=websocket&user="
	users := []string{"alice", "bob", "carol"}
	clients := map[string]*wsClient{}
	for _, u := range users {
		clients[u], _ = connectWSURL(t, base+u, http.Header{"X-Who": {"header-" + u}})
	}
	for _, u := range users {
		var kws *Websocket
		// The callback runs after the CONNECT reply is written.
		waitFor(t, "the callback for "+u, func() bool {
			mu.Lock()
			defer mu.Unlock()
			kws = sockets[u]
			return kws != nil
		})
		if kws.Conn == nil || kws.Conn.Conn == nil {
			t.Fatalf("%s: no WebSocket Conn on the socket", u)
		}
		if got := kws.Conn.Query("user"); got != u {
			t.Errorf("%s: Conn.Query(user) = %q", u, got)
		}
		if got, _ := kws.Conn.Locals("user").(string); got != "local-"+u {
			t.Errorf("%s: Conn.Locals(user) = %q", u, got)
		}
		if got := kws.Conn.Headers("X-Who"); got != "header-"+u {
			t.Errorf("%s: Conn.Headers(X-Who) = %q", u, got)
		}
		if got := kws.Conn.IP(); got != "127.0.0.1" {
			t.Errorf("%s: Conn.IP() = %q", u, got)
		}
		kws.EmitEvent("hello", []byte(`"`+u+`"`))
		clients[u].expect(`42["hello","` + u + `"]`)
	}
}

// connectWatched starts srv, connects a raw WebSocket client (answering
// PINGs when autoPong) and returns it with its socket.
func connectWatched(t *testing.T, srv *Server, autoPong bool) (*wsClient, *Websocket) {
	t.Helper()
	got := make(chan *Websocket, 1)
	ts := startServer(t, srv, func(kws *Websocket) { got <- kws })
	conn, _, err := dialURL(ts.url, "EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	w := &wsClient{t: t, c: conn, autoPong: autoPong}
	parseOpen(t, w.read())
	w.send("40")
	connectReplySID(t, w.read(), "/")
	return w, <-got
}

// workerState returns the state of the worker of the session behind kws.
func workerState(kws *Websocket) int32 { return kws.sess.worker.Load() }

// TestIdleConnectionKeepsNoWorker: once its queue is written, an idle
// connection's worker ends; a write or the heartbeat starts it again, and
// the session lives on across heartbeats with no worker in between.
func TestIdleConnectionKeepsNoWorker(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	testHeartbeat(&cfg)
	srv := NewServer(cfg)
	w, kws := connectWatched(t, srv, false)
	waitFor(t, "the worker to end after the handshake", func() bool { return workerState(kws) == workerIdle })

	kws.EmitEvent("one", []byte(`1`))
	w.expect(`42["one",1]`)
	waitFor(t, "the worker to end after an emit", func() bool { return workerState(kws) == workerIdle })

	// Three heartbeats: each PING is written by a worker started for it.
	for i := 0; i < 3; i++ {
		w.expect("2")
		w.send("3")
	}
	waitFor(t, "the worker to end after the heartbeats", func() bool { return workerState(kws) == workerIdle })
	if !kws.IsAlive() {
		t.Fatal("session closed across heartbeats")
	}
	kws.EmitEvent("two", []byte(`2`))
	if msg := w.read(); msg != `42["two",2]` {
		t.Fatalf("after the heartbeats: %q", msg)
	}

	// A session closed while its worker is idle is finished all the same.
	kws.Close()
	w.expectClosed()
	waitFor(t, "the worker to finish the session", func() bool { return workerState(kws) == workerFinished })
}

// TestBusyConnectionKeepsWorker: a stream of writes keeps the worker (no
// goroutine start per write); when the stream stops, the next write (the
// heartbeat's PING) lets it end.
func TestBusyConnectionKeepsWorker(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	testHeartbeat(&cfg)
	srv := NewServer(cfg)
	w, kws := connectWatched(t, srv, true)
	conn := w.c

	busySeen := false
	for i := 0; i < 10; i++ {
		kws.EmitEvent("tick", []byte(itoa(i)))
		if msg := w.read(); msg != `42["tick",`+itoa(i)+`]` {
			t.Fatalf("tick %d: %q", i, msg)
		}
		if i >= busyStreak {
			// The worker parks between writes once the stream is busy:
			// it never ends between two ticks.
			time.Sleep(10 * time.Millisecond)
			if workerState(kws) != workerRunning {
				t.Fatalf("tick %d: worker ended during a stream of writes", i)
			}
			busySeen = true
		}
	}
	if !busySeen {
		t.Fatal("stream too short")
	}
	// PINGs come every 300 ms, more than busyGap apart: the first one
	// after the stream breaks the streak.
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		_ = conn.SetReadDeadline(time.Time{})
		for {
			if _, _, err := w.next(); err != nil { // answers PINGs
				return
			}
		}
	}()
	waitFor(t, "the worker to end after the stream stopped", func() bool { return workerState(kws) == workerIdle })
	defer func() {
		_ = conn.Close()
		<-readerDone
	}()
	if !kws.IsAlive() {
		t.Fatal("session closed")
	}
}

// serveCompressed serves srv with permessage-deflate offered (the
// websocket library then reads its sessions) and returns a dialer that
// accepts it and the WebSocket endpoint's URL.
func serveCompressed(t testing.TB, srv *Server) (fws.Dialer, string) {
	t.Helper()
	app := fiber.New()
	app.Get("/socket.io/", srv.Handler(nil, websocket.Config{EnableCompression: true}))
	ts := serveApp(t, srv, app)
	d := wsDialer
	d.EnableCompression = true
	return d, "ws" + strings.TrimPrefix(ts.url, "http") + "/socket.io/?EIO=4&transport=websocket"
}

// TestCompressedFramesReadByLibrary: with EnableCompression, a client may
// send compressed frames (RSV1 set), which only the websocket library
// reads; the server's own reader stays out of such sessions.
func TestCompressedFramesReadByLibrary(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	srv.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
	reports := reportHijackReader(srv)
	d, u := serveCompressed(t, srv)
	c, resp, err := d.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); !strings.Contains(ext, "permessage-deflate") {
		t.Fatalf("compression not negotiated: %q", ext)
	}
	c.EnableWriteCompression(true)
	c.SetCompressionLevel(9)
	w := &wsClient{t: t, c: c}
	parseOpen(t, w.read())
	w.send("40")
	connectReplySID(t, w.read(), "/")
	long := strings.Repeat("compressible ", 200)
	w.send(`421["echo","` + long + `"]`)
	w.expect(`431["` + long + `"]`)
	// fasthttp's request reader is gone once it held nothing between two
	// messages, as with the server's own reader.
	expectReadsSocket(t, w, reports)
}

// TestHandshakeStartsNoWorker: the reader writes the OPEN packet and the
// CONNECT reply itself; queuing the reply under the join's hold must not
// start a worker that would find nothing to take.
func TestHandshakeStartsNoWorker(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.PingInterval = time.Minute // no PING during the test
	srv := NewServer(cfg)
	w, kws := connectWatched(t, srv, false)
	if n := kws.sess.workerStarts.Load(); n != 0 {
		t.Fatalf("the handshake started %d worker goroutines, want none", n)
	}
	kws.EmitEvent("one", []byte(`1`))
	w.expect(`42["one",1]`)
	if n := kws.sess.workerStarts.Load(); n != 1 {
		t.Fatalf("an emit from outside the reader started %d workers, want 1", n)
	}
}
