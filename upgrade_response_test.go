package socketio

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
)

// writeRecorder is a listener whose connections keep a copy of what each
// of their Write calls sent, in order. Its connections are not
// *net.TCPConn, so the session writes through Write too.
type writeRecorder struct {
	net.Listener
	mu    sync.Mutex
	conns []*recordedConn
}

type recordedConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (l *writeRecorder) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	rc := &recordedConn{Conn: c}
	l.mu.Lock()
	l.conns = append(l.conns, rc)
	l.mu.Unlock()
	return rc, nil
}

func (c *recordedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, bytes.Clone(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// firstWrite returns what the last accepted connection's first Write sent.
func (l *writeRecorder) firstWrite(t *testing.T) []byte {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) == 0 {
		t.Fatal("no connection accepted")
	}
	c := l.conns[len(l.conns)-1]
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.writes) == 0 {
		t.Fatal("nothing written")
	}
	return c.writes[0]
}

// serveRecorded runs app, on which the caller mounted srv, on a loopback
// listener that records writes.
func serveRecorded(t *testing.T, srv *Server, app *fiber.App) (*testServer, *writeRecorder) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &writeRecorder{Listener: ln}
	return serveAppOn(t, srv, app, rec), rec
}

// splitResponse splits a write into its HTTP response head (through the
// blank line) and what follows it.
func splitResponse(t *testing.T, w []byte) (head string, rest []byte) {
	t.Helper()
	i := bytes.Index(w, []byte("\r\n\r\n"))
	if i < 0 {
		t.Fatalf("first write is not an HTTP response head: %q", w)
	}
	return string(w[:i+4]), w[i+4:]
}

func TestUpgradeResponseSentWithOpen(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Cookie = &CookieConfig{Name: "io"}
	srv := NewServer(cfg)
	app := fiber.New()
	// A header an enclosing middleware sets after the endpoint returned
	// is in the response, as when fasthttp writes it.
	app.Use(func(c fiber.Ctx) error {
		err := c.Next()
		c.Set("X-After", "set after the endpoint")
		return err
	})
	h := srv.Handler(func(*Websocket) {})
	app.Get("/socket.io/", h)
	ts, rec := serveRecorded(t, srv, app)

	w := dialWS(t, ts, "")
	open := parseOpen(t, w.read())
	w.send("40")
	connectReplySID(t, w.read(), "/")

	head, rest := splitResponse(t, rec.firstWrite(t))
	if !strings.HasPrefix(head, "HTTP/1.1 101 Switching Protocols\r\n") {
		t.Fatalf("first write does not start with the 101: %q", head)
	}
	for _, want := range []string{"Upgrade: websocket\r\n", "Connection: Upgrade\r\n", "X-After: set after the endpoint\r\n", "Set-Cookie: io=" + open.SID} {
		if !strings.Contains(head, want) {
			t.Errorf("101 response lacks %q:\n%s", want, head)
		}
	}
	if strings.Contains(strings.ToLower(head), "content-length") {
		t.Errorf("101 response has a Content-Length:\n%s", head)
	}
	// The OPEN packet, as one unmasked text frame, in the same write.
	if len(rest) < 2 || rest[0] != 0x81 || int(rest[1]) != len(rest)-2 || rest[2] != '0' ||
		!bytes.Contains(rest, []byte(`"sid":"`+open.SID+`"`)) {
		t.Fatalf("after the 101, want the OPEN frame alone in the same write, got %q", rest)
	}
}

func TestUpgradeResponseAcceptKey(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	app := fiber.New()
	app.Get("/socket.io/", srv.Handler(func(*Websocket) {}))
	ts := serveApp(t, srv, app)

	// A hand-written upgrade request, and a single response read.
	c, err := net.Dial("tcp4", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	req := "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	want := "sec-websocket-accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n"
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(got, []byte("\r\n\r\n")) {
		_ = c.SetReadDeadline(time.Now().Add(rawTimeout))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("reading the response: %v (got %q)", err, got)
		}
		got = append(got, buf[:n]...)
	}
	head, _ := splitResponse(t, got)
	if !strings.Contains(strings.ToLower(head), strings.ToLower(want)) {
		t.Fatalf("response lacks %q:\n%s", want, head)
	}
}

func TestUpgradeOfPollingWritesResponseFirst(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.CloseTimeout = 500 * time.Millisecond // the raw polling client stops polling
	srv := NewServer(cfg)
	srv.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
	app := fiber.New()
	h := srv.Handler(func(*Websocket) {})
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)
	ts, rec := serveRecorded(t, srv, app)

	sid, _ := connectPolling(t, ts)
	// The client sends its probe only once it has the 101: the server
	// must not hold the response back for a frame of its own.
	w := dialWS(t, ts, "&sid="+sid)
	w.send("2probe")
	w.expect("3probe")
	w.send("5")
	w.roundTrip("over websocket")
	head, rest := splitResponse(t, rec.firstWrite(t))
	if !strings.HasPrefix(head, "HTTP/1.1 101 ") || len(rest) != 0 {
		t.Fatalf("first write of the upgrade: want the 101 alone, got %q", head+string(rest))
	}
}
