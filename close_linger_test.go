package socketio

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
)

// TestRefusedMessageLingers: when the server refuses a message that is
// still arriving (over MaxPayload), it sends the close frame and a FIN,
// and reads and discards what the client still sends: the client's writes
// go on succeeding (no TCP reset, which could destroy the close frame
// before the client reads it), and it reads the end of the stream after
// the close frame. Both readers: the server's own, and the websocket
// library's (with compression negotiated).
func TestRefusedMessageLingers(t *testing.T) {
	t.Parallel()
	t.Run("own reader", func(t *testing.T) {
		t.Parallel()
		es := newEchoServer(t, func(c *Config) { c.MaxPayload = 1000 })
		w, id := connectWS(t, es.testServer)
		refuseBigMessage(t, w)
		if err := es.disconnected(t, id); !errors.Is(err, ErrMessageTooLarge) {
			t.Errorf("disconnect reason %v, want ErrMessageTooLarge", err)
		}
	})
	t.Run("library reader", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig()
		cfg.MaxPayload = 1000
		d, u := serveCompressed(t, NewServer(cfg))
		w, _ := connectWSWith(t, d, u, nil)
		refuseBigMessage(t, w)
	})
}

// refuseBigMessage sends the start of a 256 KiB message to a server whose
// MaxPayload is 1000, reads the close frame (1009), then sends the rest:
// the server must take it (a server that closed its socket answers the
// first write with a reset, which fails the second) and close its side.
func refuseBigMessage(t *testing.T, w *wsClient) {
	t.Helper()
	big := clientFrame(opText, true, []byte(`42["echo","`+strings.Repeat("x", 256<<10)+`"]`))
	nc := w.c.NetConn()
	rawFrame(big[:2048])(w)
	expectCloseCode(w, fws.CloseMessageTooBig)
	writeAfterClose(t, nc, big[2048:128<<10])
	time.Sleep(100 * time.Millisecond)
	writeAfterClose(t, nc, big[128<<10:])
	_ = nc.SetReadDeadline(time.Now().Add(rawTimeout))
	var buf [512]byte
	if n, err := nc.Read(buf[:]); !errors.Is(err, io.EOF) {
		t.Fatalf("after the close frame: read %d bytes, %v; want EOF (the server's FIN)", n, err)
	}
}

// TestRefusedPacketLingers: the same after a packet the session refuses
// (a bad Engine.IO packet), closed with status 1000.
func TestRefusedPacketLingers(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	w, _ := connectWS(t, es.testServer)
	nc := w.c.NetConn()
	w.send("9garbage")
	expectCloseCode(w, fws.CloseNormalClosure)
	msg := clientFrame(opText, true, []byte(`42["echo","`+strings.Repeat("x", 900)+`"]`))
	for i := 0; i < 20; i++ {
		writeAfterClose(t, nc, msg)
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLingerEndsAtTimeout: a refused client that keeps its side open is
// closed lingerTimeout after the close frame, and its session's worker
// ends (the leak check in TestMain would see it otherwise).
func TestLingerEndsAtTimeout(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) { c.MaxPayload = 1000 })
	w, _ := connectWS(t, es.testServer)
	nc := w.c.NetConn()
	rawFrame(clientFrame(opText, true, []byte(strings.Repeat("x", 2000)))[:100])(w)
	expectCloseCode(w, fws.CloseMessageTooBig)
	start := time.Now()
	_ = nc.SetReadDeadline(time.Now().Add(lingerTimeout + rawTimeout))
	var buf [512]byte
	if _, err := nc.Read(buf[:]); !errors.Is(err, io.EOF) {
		t.Fatalf("read %v, want EOF", err)
	}
	// The FIN comes with the close frame; the server closes its socket
	// at lingerTimeout: a write then is answered with a reset.
	deadline := time.Now().Add(lingerTimeout + rawTimeout)
	for {
		_ = nc.SetWriteDeadline(time.Now().Add(rawTimeout))
		_, err := nc.Write([]byte("x"))
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server still reads %v after the close frame", time.Since(start))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(start); d < lingerTimeout/2 {
		t.Errorf("the server closed %v after the close frame, want about %v", d, lingerTimeout)
	}
	waitFor(t, "the session's end", func() bool { return es.engine().count.Load() == 0 })
}

// writeAfterClose writes p on the client's connection after the server's
// close frame, failing t when the server reset the connection.
func writeAfterClose(t *testing.T, nc net.Conn, p []byte) {
	t.Helper()
	_ = nc.SetWriteDeadline(time.Now().Add(rawTimeout))
	if _, err := nc.Write(p); err != nil {
		t.Fatalf("writing after the close frame: %v; want the server to read and discard it", err)
	}
}

// TestRefusedMessageNodeClient: the real client that sends a message over
// MaxPayload (4 MB against 10 kB, so most of it is still on its way when
// the server refuses it) disconnects with "transport close" and reads the
// close status 1009, not a reset (1006, "transport error").
func TestRefusedMessageNodeClient(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) { c.MaxPayload = 10_000 })
	res := runNode(t, es.url, `
const socket = io(URL, { transports: ["websocket"], reconnection: false });
socket.on("connect", () => socket.emit("echo", "x".repeat(4 << 20)));
socket.on("disconnect", (reason, details) => {
  out({ reason, code: details && details.context && details.context.code });
  setTimeout(() => process.exit(0), 50);
});
socket.on("connect_error", (e) => fail("connect_error " + e.message));
`, 20*time.Second)
	if !res.has(`{"reason":"transport close","code":1009}`) {
		t.Errorf("client output %q", res.lines)
	}
}
