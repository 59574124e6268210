package socketio

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/contrib/v3/websocket"
	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"
)

// inflateMessage decompresses the payload of a compressed message (RFC
// 7692, 7.2.2: the removed sync-flush tail is appended back).
func inflateMessage(t *testing.T, z []byte) []byte {
	t.Helper()
	r := flate.NewReader(io.MultiReader(bytes.NewReader(z), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff})))
	defer r.Close()
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return out
}

func TestAppendDeflatedFrame(t *testing.T) {
	t.Parallel()
	msg := []byte(`42["chat","` + strings.Repeat("hello deflate ", 300) + `"]`)
	for _, op := range []byte{opText, opBinary} {
		frame, ok := appendDeflatedFrame([]byte("prefix"), op, msg)
		if !ok {
			t.Fatalf("op %d: a compressible message was not compressed", op)
		}
		if !bytes.HasPrefix(frame, []byte("prefix")) {
			t.Fatalf("op %d: the frame was not appended", op)
		}
		f := parseServerFrames(t, frame[len("prefix"):])
		if len(f) != 1 || !f[0].rsv1 || f[0].op != op {
			t.Fatalf("op %d: frames %+v, want one compressed frame", op, f)
		}
		if got := inflateMessage(t, f[0].payload); !bytes.Equal(got, msg) {
			t.Fatalf("op %d: inflated %d bytes, not the message", op, len(got))
		}
		if len(f[0].payload) >= len(msg)/10 {
			t.Errorf("op %d: %d bytes compressed to %d", op, len(msg), len(f[0].payload))
		}
	}
	// Each message is compressed alone (no context takeover): the same
	// message twice gives the same bytes.
	a, _ := appendDeflatedFrame(nil, opText, msg)
	b, _ := appendDeflatedFrame(nil, opText, msg)
	if !bytes.Equal(a, b) {
		t.Error("the second compression of a message differs from the first")
	}
	noise := make([]byte, 4096)
	_, _ = rand.Read(noise)
	if frame, ok := appendDeflatedFrame([]byte("x"), opBinary, noise); ok || string(frame) != "x" {
		t.Errorf("random bytes: compressed %v, appended %d bytes; want them sent plain", ok, len(frame)-1)
	}
}

func TestDeflateThreshold(t *testing.T) {
	t.Parallel()
	accepted := new(fasthttp.ResponseHeader)
	accepted.Set("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
	plain := new(fasthttp.ResponseHeader)
	plain.Set("Upgrade", "websocket")
	for _, tc := range []struct {
		name       string
		h          *fasthttp.ResponseHeader
		configured int
		want       int
	}{
		{"negotiated", accepted, 1024, 1024},
		{"negotiated, every message", accepted, 1, 1},
		{"negotiated, off", accepted, -1, 0},
		{"not negotiated", plain, 1024, 0},
		{"response written by fasthttp", nil, 1024, 0},
	} {
		if got := deflateThreshold(tc.h, tc.configured); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

// serverFrame is one frame the server sent, as seen on the wire.
type serverFrame struct {
	rsv1    bool
	op      byte
	payload []byte
}

// parseServerFrames splits unmasked frames; an incomplete last frame is
// left out.
func parseServerFrames(t *testing.T, b []byte) []serverFrame {
	t.Helper()
	var out []serverFrame
	for len(b) >= 2 {
		f := serverFrame{rsv1: b[0]&rsv1Bit != 0, op: b[0] & 0x0f}
		if b[1]&0x80 != 0 {
			t.Fatal("a server frame is masked")
		}
		n, hdr := int(b[1]&0x7f), 2
		switch n {
		case 126:
			if len(b) < 4 {
				return out
			}
			n, hdr = int(b[2])<<8|int(b[3]), 4
		case 127:
			if len(b) < 10 {
				return out
			}
			n, hdr = 0, 10
			for _, c := range b[2:10] {
				n = n<<8 | int(c)
			}
		}
		if len(b) < hdr+n {
			return out
		}
		f.payload = b[hdr : hdr+n]
		out = append(out, f)
		b = b[hdr+n:]
	}
	return out
}

// recordingConn keeps a copy of every byte read from the connection.
type recordingConn struct {
	net.Conn
	mu sync.Mutex
	in bytes.Buffer
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.in.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

// frames returns the frames read so far, after the HTTP response.
func (c *recordingConn) frames(t *testing.T) []serverFrame {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	_, after, ok := bytes.Cut(c.in.Bytes(), []byte("\r\n\r\n"))
	if !ok {
		t.Fatal("no HTTP response read")
	}
	return parseServerFrames(t, after)
}

// serveDeflate serves srv with permessage-deflate offered and passes each
// connected socket to sockets.
func serveDeflate(t *testing.T, srv *Server, sockets chan<- *Websocket) *testServer {
	t.Helper()
	app := fiber.New()
	h := srv.Handler(func(kws *Websocket) { sockets <- kws }, websocket.Config{EnableCompression: true})
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)
	return serveApp(t, srv, app)
}

// dialRecorded opens a WebSocket session to ts, offering permessage-deflate
// when compress is set, connects the main namespace, and returns the
// client with the record of what it read.
func dialRecorded(t *testing.T, ts *testServer, compress bool) (*wsClient, *recordingConn) {
	t.Helper()
	var rec *recordingConn
	d := wsDialer
	d.EnableCompression = compress
	d.NetDial = func(network, addr string) (net.Conn, error) {
		c, err := net.DialTimeout(network, addr, rawTimeout)
		if err != nil {
			return nil, err
		}
		rec = &recordingConn{Conn: c}
		return rec, nil
	}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(ts.url, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); strings.Contains(ext, "permessage-deflate") != compress {
		t.Fatalf("Sec-WebSocket-Extensions %q with compression offered %v", ext, compress)
	}
	w := &wsClient{t: t, c: c, autoPong: true}
	parseOpen(t, w.read())
	w.send("40")
	connectReplySID(t, w.read(), "/")
	return w, rec
}

// TestPerMessageDeflateWrites: on a connection that negotiated
// permessage-deflate, messages of PerMessageDeflateThreshold bytes or more
// go out compressed (RSV1 set), direct emits, acks and broadcasts alike,
// and the client reads them back whole; smaller ones, those emitted with
// Compress(false), and every message of a connection that did not
// negotiate the extension or of a server with the threshold negative go
// out plain.
func TestPerMessageDeflateWrites(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("compress me please ", 200) // 3,800 bytes
	for _, tc := range []struct {
		name      string
		threshold int
		offer     bool
		// the packets expected compressed, by event (the ack is "ack")
		compressed map[string]bool
	}{
		{"default threshold", 0, true, map[string]bool{"direct": true, "bcast": true, "ack": true}},
		{"threshold above the messages", 8000, true, map[string]bool{}},
		{"threshold of one byte", 1, true, map[string]bool{"direct": true, "bcast": true, "ack": true, "small": true}},
		{"off", -1, true, map[string]bool{}},
		{"not offered by the client", 0, false, map[string]bool{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.PerMessageDeflateThreshold = tc.threshold
			srv := NewServer(cfg)
			srv.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
			sockets := make(chan *Websocket, 1)
			ts := serveDeflate(t, srv, sockets)
			w, rec := dialRecorded(t, ts, tc.offer)
			kws := <-sockets
			arg := []byte(`"` + big + `"`)
			// small is compressible but shorter than the default threshold
			// (the one-byte threshold compresses it).
			small := []byte(`"` + strings.Repeat("ab", 100) + `"`)
			kws.EmitEvent("direct", arg)
			w.expect(`42["direct","` + big + `"]`)
			if err := kws.Compress(false).Emit("plain", arg); err != nil {
				t.Fatal(err)
			}
			w.expect(`42["plain","` + big + `"]`)
			if err := srv.Emit("bcast", arg); err != nil {
				t.Fatal(err)
			}
			w.expect(`42["bcast","` + big + `"]`)
			kws.EmitEvent("small", small)
			w.expect(`42["small",` + string(small) + `]`)
			w.send(`421["echo","` + big + `"]`)
			w.expect(`431["` + big + `"]`)

			frames := rec.frames(t)
			// OPEN, CONNECT reply, then the five messages.
			if len(frames) < 7 {
				t.Fatalf("%d frames on the wire, want 7", len(frames))
			}
			for i, name := range []string{"direct", "plain", "bcast", "small", "ack"} {
				f := frames[2+i]
				if f.rsv1 != tc.compressed[name] {
					t.Errorf("%s: compressed %v, want %v", name, f.rsv1, tc.compressed[name])
				}
				if f.rsv1 && len(f.payload) > len(big)/4 {
					t.Errorf("%s: %d bytes on the wire", name, len(f.payload))
				}
			}
			for _, f := range frames[:2] {
				if f.rsv1 && tc.threshold != 1 {
					t.Errorf("a handshake packet was compressed")
				}
			}
		})
	}
}

// countingProxy forwards TCP connections on a loopback port to target and
// counts the bytes target sends back.
func countingProxy(t *testing.T, target string) (addr string, down *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down = new(atomic.Int64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp4", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(s, c)
				_ = s.Close()
			}()
			go func() {
				defer wg.Done()
				n, _ := io.Copy(c, s)
				down.Add(n)
				_ = c.Close()
			}()
		}
	}()
	return "http://" + ln.Addr().String(), down
}

// TestPerMessageDeflateNodeClient: the official client (Node's ws, which
// offers permessage-deflate) reads the server's compressed messages whole;
// the bytes on the wire show them compressed, and sent plain with
// Compress(false).
func TestPerMessageDeflateNodeClient(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	const repeat = 8000 // "compressible " * 8000: 104,000 bytes
	payload := []byte(`"` + strings.Repeat("compressible ", repeat) + `"`)
	srv.On("send", func(ep *EventPayload) {
		_ = ep.Kws.Compress(string(ep.Data) != `"plain"`).Emit("big", payload)
	})
	ts := serveDeflate(t, srv, make(chan *Websocket, 4))
	for _, mode := range []string{"compressed", "plain"} {
		proxy, down := countingProxy(t, strings.TrimPrefix(ts.url, "http://"))
		res := runNode(t, proxy, `
const s = io(URL, { transports: ["websocket"] });
s.on("connect", () => s.emit("send", "`+mode+`"));
s.on("big", (v) => {
  out({ length: v.length, whole: v === "compressible ".repeat(`+itoa(repeat)+`) });
  s.close();
});
`, 15*time.Second)
		if !res.has(`{"length":104000,"whole":true}`) {
			t.Fatalf("%s: client read %q", mode, res.lines)
		}
		waitFor(t, "the proxied connection to end", func() bool { return down.Load() > 0 })
		n := down.Load()
		switch {
		case mode == "compressed" && n > 20_000:
			t.Errorf("compressed: %d bytes from the server for a 104,000-byte message", n)
		case mode == "plain" && n < 104_000:
			t.Errorf("plain: %d bytes from the server for a 104,000-byte message", n)
		}
		t.Logf("%s: %d bytes from the server", mode, n)
	}
}

// TestPollingCompressFalse: a polling response made only of packets
// emitted with Compress(false) is sent plain, even when large and the
// client accepts gzip; with one packet that may be compressed it is
// compressed.
func TestPollingCompressFalse(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("compress me ", 200)
	cfg := testConfig()
	cfg.CloseTimeout = 500 * time.Millisecond // the raw client stops polling
	srv := NewServer(cfg)
	sockets := make(chan *Websocket, 1)
	ts := serveDeflate(t, srv, sockets)
	sid, _ := connectPolling(t, ts)
	kws := <-sockets
	get := func() (string, []byte) {
		t.Helper()
		enc, raw := getWithEncoding(t, ts.pollURL(sid), "gzip")
		return enc, decodeBody(t, enc, raw)
	}
	arg := []byte(`"` + big + `"`)
	if err := kws.Compress(false).Emit("plain", arg); err != nil {
		t.Fatal(err)
	}
	if enc, body := get(); enc != "" || string(body) != `42["plain","`+big+`"]` {
		t.Fatalf("Compress(false): Content-Encoding %q, body %.60q", enc, body)
	}
	if err := kws.Compress(false).Emit("plain", arg); err != nil {
		t.Fatal(err)
	}
	kws.EmitEvent("small", []byte(`1`))
	if enc, body := get(); enc != "gzip" || string(body) != `42["plain","`+big+`"]`+"\x1e"+`42["small",1]` {
		t.Fatalf("with a packet that may be compressed: Content-Encoding %q, body %.60q", enc, body)
	}
}

// TestDeflatedFrameShared: a broadcast packet is compressed once, by the
// first receiver's session that takes it compressed, and the others queue
// the same frame.
func TestDeflatedFrameShared(t *testing.T) {
	t.Parallel()
	data := []byte(`42["news","` + strings.Repeat("shared ", 400) + `"]`)
	var d deflatedFrame
	a, ok := d.get(data)
	if !ok {
		t.Fatal("not compressed")
	}
	b, ok := d.get(data)
	if !ok || &a[0] != &b[0] {
		t.Fatal("the second receiver did not get the frame made for the first")
	}
	want, _ := appendDeflatedFrame(nil, opText, data)
	if !bytes.Equal(a, want) {
		t.Error("the shared frame differs from the frame of a direct emit")
	}
	noise := make([]byte, 4096)
	_, _ = rand.Read(noise)
	var n deflatedFrame
	if _, ok := n.get(noise); ok {
		t.Error("random bytes compressed")
	}
}

// BenchmarkDeflateMessage: compressing one 2 KiB chat packet into a
// permessage-deflate frame (what each compressed direct emit costs; a
// broadcast pays it once).
func BenchmarkDeflateMessage(b *testing.B) {
	msg := []byte(`42["chat",{"user":"ana","text":"` + strings.Repeat("a chat message with some words in it ", 55) + `"}]`)
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		var ok bool
		if buf, ok = appendDeflatedFrame(buf[:0], opText, msg); !ok {
			b.Fatal("not compressed")
		}
	}
}

// TestCompressedMessageOverMaxPayload: a client's compressed message is
// bounded by MaxPayload as it inflates (the websocket library's read
// limit counts the compressed bytes only): 8 MiB of one letter, some 8 KiB
// on the wire, closes that connection with 1009 and never reaches a
// listener; a compressed message within the bound is read whole, and the
// other clients go on.
func TestCompressedMessageOverMaxPayload(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.MaxPayload = 1 << 20
	srv := NewServer(cfg)
	got := make(chan int, 4)
	srv.On("big", func(ep *EventPayload) { got <- len(ep.Data) })
	srv.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
	disconnects := make(chan error, 4)
	srv.On(EventDisconnect, func(ep *EventPayload) { disconnects <- ep.Error })
	ts := serveDeflate(t, srv, make(chan *Websocket, 4))
	other, _ := dialRecorded(t, ts, true)
	w, _ := dialRecorded(t, ts, true)
	w.c.EnableWriteCompression(true)

	within := `42["big","` + strings.Repeat("a", 900_000) + `"]`
	w.send(within)
	select {
	case n := <-got:
		if n != 900_002 {
			t.Fatalf("listener got %d bytes, want 900,002", n)
		}
	case <-time.After(rawTimeout):
		t.Fatal("a compressed message within MaxPayload was not delivered")
	}

	w.send(`42["big","` + strings.Repeat("a", 8<<20) + `"]`)
	expectCloseCode(w, fws.CloseMessageTooBig)
	select {
	case err := <-disconnects:
		if !errors.Is(err, ErrMessageTooLarge) {
			t.Errorf("disconnect reason %v, want ErrMessageTooLarge", err)
		}
	case <-time.After(rawTimeout):
		t.Error("no disconnect")
	}
	select {
	case n := <-got:
		t.Errorf("the listener got a message of %d bytes", n)
	default:
	}
	other.c.EnableWriteCompression(true)
	other.send(`421["echo","` + strings.Repeat("b", 5000) + `"]`)
	other.expect(`431["` + strings.Repeat("b", 5000) + `"]`)
}

// FuzzDeflateFrame: any message compresses into one frame that inflates
// back to it and is shorter, or is left to be sent plain.
func FuzzDeflateFrame(f *testing.F) {
	f.Add([]byte(`42["chat","` + strings.Repeat("hello ", 200) + `"]`))
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0xff, 0xff})
	f.Add(bytes.Repeat([]byte{0}, 70_000))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, ok := appendDeflatedFrame([]byte("p"), opBinary, data)
		if !ok {
			if string(out) != "p" {
				t.Fatalf("not compressed, but %d bytes appended", len(out)-1)
			}
			return
		}
		frames := parseServerFrames(t, out[1:])
		if len(frames) != 1 || !frames[0].rsv1 || frames[0].op != opBinary || len(frames[0].payload) >= len(data) {
			t.Fatalf("%d frames for %d bytes: %+v", len(frames), len(data), frames)
		}
		if got := inflateMessage(t, frames[0].payload); !bytes.Equal(got, data) {
			t.Fatalf("inflated %d bytes, want the %d sent", len(got), len(data))
		}
	})
}
