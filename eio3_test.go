package socketio

// Engine.IO v3 clients (AllowEIO3), driven by the real socket.io-client
// 2.5.0 from npm over every transport, and raw requests for what the
// client does not show.

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
)

// eio3Server serves "/" and "/admin" (whose middleware wants the query
// token "abc" and refuses with data otherwise) with AllowEIO3 set.
func eio3Server(t *testing.T, mod func(*Config)) *testServer {
	t.Helper()
	cfg := testConfig()
	cfg.AllowEIO3 = true
	cfg.PingInterval = 300 * time.Millisecond
	cfg.PingTimeout = 200 * time.Millisecond
	if mod != nil {
		mod(&cfg)
	}
	srv := NewServer(cfg)
	echo := func(ep *EventPayload) {
		if !ep.HasAck {
			return
		}
		values := make([]any, len(ep.Args))
		for i := range values {
			if err := ep.Bind(i, &values[i]); err != nil {
				t.Errorf("echo: %v", err)
			}
		}
		_ = ep.AckValues(values...)
	}
	whoami := func(ep *EventPayload) {
		_ = ep.Ack([]byte(`"`+ep.Kws.id+`"`), []byte(`"`+ep.Kws.GetUUID()+`"`), ep.Kws.HandshakeAuth())
	}
	srv.On("echo", echo)
	srv.On("whoami", whoami)
	srv.On("ask", func(ep *EventPayload) {
		// The server asks the client, and acks with its answer.
		ack := ep.Args
		ep.Kws.EmitWithAckArgs("question", [][]byte{[]byte(`"q"`)}, func(reply [][]byte, err error) {
			if err == nil {
				ack = reply
			}
			_ = ep.Ack(ack...)
		})
	})
	srv.On("join", func(ep *EventPayload) {
		ep.Kws.Join("room")
		_ = srv.To("room").Emit("news", []byte(`"in the room"`))
	})
	admin := srv.Of("/admin")
	admin.Use(func(kws *Websocket, next func(error)) {
		if !bytes.Equal(kws.HandshakeAuth(), []byte(`{"token":"abc"}`)) {
			next(&ConnectError{Message: "not allowed", Payload: []byte(`{"why":"token"}`)})
			return
		}
		next(nil)
	})
	admin.On("whoami", whoami)
	admin.On("echo", echo)
	srv.Of("/plain").Use(func(kws *Websocket, next func(error)) { next(&ConnectError{Message: "go away"}) })
	return startServer(t, srv, nil)
}

// eio3ClientScript drives socket.io-client 2.5.0 with the options OPTS.
const eio3ClientScript = `
const io2 = require("socket.io-client-v2");
const opts = Object.assign({ forceNew: true, reconnection: false }, OPTS);
const main = io2(URL, opts);
const errors = {};
main.on("connect_error", (e) => fail("connect_error " + e));
main.on("question", (q, cb) => cb("answer to " + q));
main.on("news", (n) => out({ news: n }));
main.on("connect", () => {
  main.emit("whoami", (id, uuid, auth) => {
    out({ main: id === main.id && uuid === main.id, auth });
    const text = "h\u00e9llo \u20ac \ud83d\ude00 \u4e16\u754c";
    main.emit("echo", text, { n: 1 }, (a, b) => {
      out({ echo: a === text && b.n === 1 });
      main.emit("echo", Buffer.from([1, 2, 3, 255]), "tag", (bin, tag) => {
        out({ binary: Buffer.isBuffer(bin) ? [...bin] : bin, tag });
        main.emit("ask", "none", (answer) => {
          out({ answer });
          main.emit("join");
          setTimeout(namespaces, 200);
        });
      });
    });
  });
});
function namespaces() {
  const mgr = main.io;
  const admin = mgr.socket("/admin", { query: { token: "abc" } });
  admin.on("error", (e) => fail("admin error " + JSON.stringify(e)));
  admin.on("connect", () => {
    admin.emit("whoami", (id, uuid, auth) => {
      out({ admin: id === admin.id && uuid === admin.id, auth });
      admin.emit("echo", Buffer.from("ab"), (b) => {
        out({ adminBinary: Buffer.isBuffer(b) && b.toString() === "ab" });
        refused();
      });
    });
  });
}
function refused() {
  const mgr = main.io;
  const mgr2 = io2.Manager(URL, Object.assign({}, opts, { autoConnect: true }));
  const bad = mgr2.socket("/admin", { query: { token: "wrong" } });
  bad.on("error", (e) => { done("admin", e); mgr2.close(); });
  bad.on("connect", () => fail("connected with a wrong token"));
  const plain = mgr.socket("/plain");
  plain.on("error", (e) => done("plain", e));
  const nope = mgr.socket("/nope");
  nope.on("error", (e) => done("nope", e));
  function done(name, e) {
    errors[name] = e;
    if (Object.keys(errors).length === 3) {
      for (const name of Object.keys(errors).sort()) out({ [name]: errors[name] });
      // Stay a while: the heartbeat (300 ms + 200 ms) must keep us.
      setTimeout(() => {
        out({ connected: main.connected, transport: mgr.engine.transport.name });
        main.close();
        process.exit(0);
      }, 1500);
    }
  }
}
`

func TestEIO3Client(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, opts string }{
		{"websocket", `{ transports: ["websocket"] }`},
		{"polling", `{ transports: ["polling"] }`},
		{"polling-base64", `{ transports: ["polling"], forceBase64: true }`},
		{"websocket-base64", `{ transports: ["websocket"], forceBase64: true }`},
		{"upgrade", `{}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := eio3Server(t, nil)
			script := strings.Replace(eio3ClientScript, "OPTS", tc.opts, 1)
			res := runNode(t, ts.url, script, 20*time.Second)
			transport := "websocket"
			if strings.HasPrefix(tc.name, "polling") {
				transport = "polling"
			}
			for _, want := range []string{
				`{"main":true}`,
				`{"echo":true}`,
				`{"binary":[1,2,3,255],"tag":"tag"}`,
				`{"answer":"answer to q"}`,
				`{"news":"in the room"}`,
				`{"admin":true,"auth":{"token":"abc"}}`,
				`{"adminBinary":true}`,
				`{"admin":{"why":"token"}}`,
				`{"nope":{"message":"Invalid namespace"}}`,
				`{"plain":"go away"}`,
				`{"connected":true,"transport":"` + transport + `"}`,
			} {
				if !res.has(want) {
					t.Errorf("missing %s in %q", want, res.lines)
				}
			}
		})
	}
}

// TestEIO3Refused: without AllowEIO3, a v3 handshake is refused as the
// Node server refuses it.
func TestEIO3Refused(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	status, body := mustHTTP(t, http.MethodGet, es.url+"/socket.io/?EIO=3&transport=polling", "")
	if status != http.StatusBadRequest || body != `{"code":5,"message":"Unsupported protocol version"}` {
		t.Errorf("EIO=3 without AllowEIO3: %d %q", status, body)
	}
}

// dialEIO3 opens a v3 WebSocket session and reads its OPEN and the CONNECT
// of the main namespace the server sends unasked.
func dialEIO3(t *testing.T, ts *testServer) (*wsClient, string) {
	t.Helper()
	u := "ws" + strings.TrimPrefix(ts.url, "http") + "/socket.io/?EIO=3&transport=websocket"
	c, _, err := wsDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	w := &wsClient{t: t, c: c}
	h := parseOpen(t, w.read())
	if h.PingInterval != 300 || h.PingTimeout != 200 {
		t.Fatalf("OPEN %+v", h)
	}
	w.expect("40")
	return w, h.SID
}

// On a v3 WebSocket, binary messages carry their packet type (4) first,
// both ways; the client sends the PINGs; and one without the type closes
// the session.
func TestEIO3WebSocketWire(t *testing.T) {
	t.Parallel()
	ts := eio3Server(t, nil)
	w, sid := dialEIO3(t, ts)
	w.send("2")
	w.expect("3")
	w.send("2probe")
	w.expect("3probe")
	w.send(`451-7["echo",{"_placeholder":true,"num":0}]`)
	w.sendBinary([]byte{4, 9, 8, 7})
	w.expect(`461-7[{"_placeholder":true,"num":0}]`)
	if mt, b := w.readMessage(); mt != 2 || !bytes.Equal(b, []byte{4, 9, 8, 7}) {
		t.Fatalf("attachment: type %d, %v; want [4 9 8 7]", mt, b)
	}
	w.send("40/admin?token=abc,")
	w.expect("40/admin,")
	w.send(`42/admin,1["whoami"]`)
	w.expect(`43/admin,1["/admin#` + sid + `","/admin#` + sid + `",{"token":"abc"}]`)
	w.send(`42["whoami"]`)
	w.send(`42/admin,["nothing"]`)
	w.send(`420["whoami"]`)
	w.expect(`430["` + sid + `","` + sid + `"]`)

	bad, _ := dialEIO3(t, ts)
	bad.send(`451-["echo",{"_placeholder":true,"num":0}]`)
	bad.sendBinary([]byte{9, 8, 7})
	bad.expectClosed()
}

// A v3 polling session: the handshake is a payload, the main namespace is
// connected unasked, the client's PING gets a PONG, binary messages go in
// the binary payload form unless the client asked for base64, and a
// malformed payload closes the session with 400.
func TestEIO3PollingWire(t *testing.T) {
	t.Parallel()
	ts := eio3Server(t, nil)
	base := ts.url + "/socket.io/?EIO=3&transport=polling"
	open := func(query string) string {
		t.Helper()
		status, body := mustHTTP(t, http.MethodGet, base+query, "")
		n, packet, ok := strings.Cut(body, ":")
		if status != http.StatusOK || !ok || n != itoa(utf16Len([]byte(packet))) {
			t.Fatalf("handshake: %d %q", status, body)
		}
		h := parseOpen(t, packet)
		if status, body := mustHTTP(t, http.MethodGet, base+"&sid="+h.SID, ""); body != "2:40" {
			t.Fatalf("first GET: %d %q, want the main namespace's CONNECT", status, body)
		}
		return base + "&sid=" + h.SID
	}
	post := func(url, body string) {
		t.Helper()
		if status, answer := mustHTTP(t, http.MethodPost, url, body); status != http.StatusOK || answer != "ok" {
			t.Fatalf("POST %q: %d %q", body, status, answer)
		}
	}
	url := open("")
	post(url, "1:2")
	if _, body := mustHTTP(t, http.MethodGet, url, ""); body != "1:3" {
		t.Errorf("PONG: %q", body)
	}
	// "é" and "😀" count one and two UTF-16 units (17 for 20 bytes).
	events := `17:421["echo","é😀"]43:451-3["echo",{"_placeholder":true,"num":0}]10:b4AQIDBA==`
	post(url, events)
	get := func(url string) (string, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		if _, err := io.Copy(&b, resp.Body); err != nil {
			t.Fatal(err)
		}
		return b.String(), resp.Header.Get("Content-Type")
	}
	body, ctype := get(url)
	want := "\x00\x01\x03\xff" + `431["é😀"]` + "\x00\x03\x06\xff" + `461-3[{"_placeholder":true,"num":0}]` + "\x01\x05\xff\x04\x01\x02\x03\x04"
	if body != want || ctype != "application/octet-stream" {
		t.Errorf("binary payload %q (%s), want %q", body, ctype, want)
	}

	url = open("&b64=1")
	post(url, events)
	body, ctype = get(url)
	want = `10:431["é😀"]36:461-3[{"_placeholder":true,"num":0}]10:b4AQIDBA==`
	if body != want || !strings.HasPrefix(ctype, "text/plain") {
		t.Errorf("base64 payload %q (%s), want %q", body, ctype, want)
	}

	for _, bad := range []string{"abc", "5:4hello", "2:4😀"} {
		url = open("")
		if status, _ := mustHTTP(t, http.MethodPost, url, bad); status != http.StatusBadRequest {
			t.Errorf("POST %q: %d, want 400", bad, status)
		}
		if status, _ := mustHTTP(t, http.MethodGet, url, ""); status != http.StatusBadRequest {
			t.Errorf("GET after POST %q: %d, want 400 (session closed)", bad, status)
		}
	}
}

// A v3 session that sends no PING is closed after PingInterval plus
// PingTimeout; one that pings is kept.
func TestEIO3HeartbeatTimeout(t *testing.T) {
	t.Parallel()
	ts := eio3Server(t, nil)
	quiet, _ := dialEIO3(t, ts)
	pinging, _ := dialEIO3(t, ts)
	start := time.Now()
	for time.Since(start) < 1200*time.Millisecond {
		pinging.send("2")
		pinging.expect("3")
		time.Sleep(100 * time.Millisecond)
	}
	quiet.expectClosed()
	pinging.send("2")
	pinging.expect("3")
}

// TestBrowserEIO3 runs socket.io-client 2.5.0 in headless Chromium, from
// another origin: on polling, where XHR2 sends and takes binary payloads,
// and with the upgrade; each echoes binary data and text with an astral
// character.
func TestBrowserEIO3(t *testing.T) {
	cfg := testConfig()
	cfg.AllowEIO3 = true
	cfg.CORS = CORSConfig{AllowOriginFunc: func(string) bool { return true }, AllowCredentials: true}
	srv := NewServer(cfg)
	srv.On("echo", echoBinaryText(t))
	var binaryPosts, binaryGets atomic.Int32
	ts := serveBehind(t, srv, func(c fiber.Ctx) error {
		if c.Method() == fiber.MethodPost && string(c.Request().Header.ContentType()) == "application/octet-stream" {
			binaryPosts.Add(1)
		}
		err := c.Next()
		if string(c.Response().Header.ContentType()) == "application/octet-stream" {
			binaryGets.Add(1)
		}
		return err
	})

	page := strings.ReplaceAll(`<!doctype html><script src="/socket.io.min.js"></script><script>
const text = "h\u00e9llo \ud83d\ude00";
const r = {};
function echo(socket, name, done) {
  socket.emit("echo", new Uint8Array([1, 2, 3, 250]).buffer, text, (bin, t) => {
    r[name] = { bin: Array.from(new Uint8Array(bin)), text: t === text, transport: socket.io.engine.transport.name };
    socket.close();
    done();
  });
}
function finish() { if (r.polling && r.upgrade) window.result = { polling: r.polling, upgrade: r.upgrade }; }
const polling = io("SERVER", { transports: ["polling"], forceNew: true });
polling.on("error", (e) => { window.result = { error: String(e) }; });
polling.on("connect", () => echo(polling, "polling", finish));
const upgrade = io("SERVER", { forceNew: true });
upgrade.io.engine.on("upgrade", () => echo(upgrade, "upgrade", finish));
</script>`, "SERVER", ts.url)
	res := runBrowser(t, servePageWith(t, page, filepath.Join("socket.io-client-v2", "dist", "socket.io.js")))
	want := `{"polling":{"bin":[1,2,3,250],"text":true,"transport":"polling"},"upgrade":{"bin":[1,2,3,250],"text":true,"transport":"websocket"}}`
	if len(res.lines) == 0 || res.lines[len(res.lines)-1] != want {
		t.Errorf("got %q, want %s", res.lines, want)
	}
	if binaryPosts.Load() == 0 || binaryGets.Load() == 0 {
		t.Errorf("binary payloads: %d POSTs, %d responses; want the XHR2 binary form both ways", binaryPosts.Load(), binaryGets.Load())
	}
}

// A broadcast with a binary attachment reaches a room holding clients of
// both protocols (socket.io-client 2.5.0 and 4.8.4), on WebSocket and on
// polling.
func TestEIO3MixedRoom(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.AllowEIO3 = true
	cfg.CloseTimeout = 500 * time.Millisecond // the polling clients are gone at the end
	srv := NewServer(cfg)
	srv.On("join", func(ep *EventPayload) {
		ep.Kws.Join("room")
		_ = ep.Ack()
	})
	srv.On("go", func(ep *EventPayload) {
		_ = srv.Of("/").Adapter().Broadcast(&Packet{Nsp: "/", Event: "news",
			Args: [][]byte{[]byte(`"é😀"`), []byte(`{"_placeholder":true,"num":0}`)}, Attachments: [][]byte{{1, 2, 250}}},
			BroadcastOptions{Rooms: []string{"room"}})
	})
	ts := startServer(t, srv, nil)
	res := runNode(t, ts.url, `
const io2 = require("socket.io-client-v2");
const clients = {
  v2ws: io2(URL, { forceNew: true, transports: ["websocket"] }),
  v2poll: io2(URL, { forceNew: true, transports: ["polling"] }),
  v4ws: io(URL, { forceNew: true, transports: ["websocket"] }),
  v4poll: io(URL, { forceNew: true, transports: ["polling"] }),
};
const got = {};
let joined = 0;
for (const [name, s] of Object.entries(clients)) {
  s.on("news", (text, bin) => {
    got[name] = [text, [...new Uint8Array(bin)]];
    if (Object.keys(got).length === 4) {
      for (const k of Object.keys(got).sort()) out({ [k]: got[k] });
      process.exit(0);
    }
  });
  s.on("connect", () => s.emit("join", () => { if (++joined === 4) clients.v4ws.emit("go"); }));
}
`, 15*time.Second)
	for _, name := range []string{"v2poll", "v2ws", "v4poll", "v4ws"} {
		if want := `{"` + name + `":["é😀",[1,2,250]]}`; !res.has(want) {
			t.Errorf("missing %s in %q", want, res.lines)
		}
	}
}

// A v3 client's PING fires EventPong, the heartbeat event of current
// clients.
func TestEIO3PingFiresPong(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.AllowEIO3 = true
	cfg.PingInterval = 300 * time.Millisecond
	cfg.PingTimeout = 200 * time.Millisecond
	srv := NewServer(cfg)
	var pongs atomic.Int32
	srv.On(EventPong, func(*EventPayload) { pongs.Add(1) })
	ts := startServer(t, srv, nil)
	w, _ := dialEIO3(t, ts)
	for range 3 {
		w.send("2")
		w.expect("3")
	}
	waitFor(t, "3 EventPong", func() bool { return pongs.Load() == 3 })
}

// A binary message to a v3 WebSocket client that negotiated
// permessage-deflate goes compressed, its packet type inside, as the
// Node server sends it; with Compress(false) it goes plain.
func TestEIO3DeflateBinary(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.AllowEIO3 = true
	srv := NewServer(cfg)
	big := bytes.Repeat([]byte("binary "), 15_000) // 105,000 bytes
	srv.On("send", func(ep *EventPayload) {
		pkt := &Packet{Nsp: "/", Event: "big", Args: [][]byte{[]byte(`{"_placeholder":true,"num":0}`)}, Attachments: [][]byte{big}}
		opts := BroadcastOptions{Rooms: []string{ep.Kws.GetUUID()}, Flags: BroadcastFlags{NoCompress: string(ep.Data) == `"plain"`}}
		_ = srv.Of("/").Adapter().Broadcast(pkt, opts)
	})
	ts := serveDeflate(t, srv, make(chan *Websocket, 4))
	for _, mode := range []string{"compressed", "plain"} {
		proxy, down := countingProxy(t, strings.TrimPrefix(ts.url, "http://"))
		res := runNode(t, proxy, `
const io2 = require("socket.io-client-v2");
const s = io2(URL, { transports: ["websocket"], forceNew: true });
s.on("connect", () => s.emit("send", "`+mode+`"));
s.on("big", (b) => {
  out({ length: b.length, whole: Buffer.from(b).toString() === "binary ".repeat(15000) });
  s.close();
});
`, 15*time.Second)
		if !res.has(`{"length":105000,"whole":true}`) {
			t.Fatalf("%s: client read %q", mode, res.lines)
		}
		waitFor(t, "the proxied connection to end", func() bool { return down.Load() > 0 })
		n := down.Load()
		switch {
		case mode == "compressed" && n > 20_000:
			t.Errorf("compressed: %d bytes from the server for a 105,000-byte message", n)
		case mode == "plain" && n < 105_000:
			t.Errorf("plain: %d bytes from the server for a 105,000-byte message", n)
		}
		t.Logf("%s: %d bytes from the server", mode, n)
	}
}

// echoBinaryText is a listener that acks an event's binary and text
// arguments back.
func echoBinaryText(t *testing.T) EventCallback {
	return func(ep *EventPayload) {
		var bin []byte
		var text string
		if err := ep.Decode(&bin, &text); err != nil {
			t.Errorf("echo: %v", err)
		}
		_ = ep.AckValues(bin, text)
	}
}
