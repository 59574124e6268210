package socketio

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
)

// chromiumPath is the Debian chromium the test command installs.
const chromiumPath = "/usr/bin/chromium"

// servePage serves a page and the official browser client from the npm
// package on its own loopback port (another origin than the server's).
func servePage(t *testing.T, html string) string {
	t.Helper()
	return servePageWith(t, html, filepath.Join("socket.io-client", "dist", "socket.io.min.js"))
}

// servePageWith is servePage with the client script at path under
// node_modules (served as /socket.io.min.js all the same).
func servePageWith(t *testing.T, html, path string) string {
	t.Helper()
	app := fiber.New()
	// Read the file here: fasthttp's SendFile starts a cache goroutine that
	// lives as long as the process.
	js, err := os.ReadFile(filepath.Join(nodeDir(t), "node_modules", path))
	if err != nil {
		t.Fatal(err)
	}
	app.Get("/socket.io.min.js", func(c fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "text/javascript")
		return c.Send(js)
	})
	app.Get("/", func(c fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.SendString(html)
	})
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(2 * time.Second) })
	return "http://" + ln.Addr().String()
}

// runBrowser opens page in headless Chromium (driven by playwright-core)
// and returns the JSON of window.result once the page sets it.
func runBrowser(t *testing.T, page string) nodeResult {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium is not installed at %s (the README's test command installs it): %v", chromiumPath, err)
	}
	return runNode(t, page, `
const { chromium } = require("playwright-core");
(async () => {
  const browser = await chromium.launch({ executablePath: "`+chromiumPath+`", headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  const page = await browser.newPage();
  page.on("console", (m) => console.error("page console: " + m.text()));
  await page.goto(URL);
  await page.waitForFunction(() => window.result != null, null, { timeout: 20000 });
  out(await page.evaluate(() => window.result));
  await browser.close();
})().catch((e) => fail(e.stack));
`, 40*time.Second)
}

// TestBrowserCrossOrigin connects a real browser page served from another
// origin, with credentials and an Authorization header (polling), checks
// the upgrade to WebSocket and acks on both transports; a page from an
// origin that is not allowed fails to connect.
func TestBrowserCrossOrigin(t *testing.T) {
	cfg := testConfig()
	// The page needs the server's URL and the server needs the page's
	// origin: the policy reads the allowed origin once it is known.
	var allowed atomic.Value
	allowed.Store("")
	cfg.CORS = CORSConfig{AllowOriginFunc: func(o string) bool { return o == allowed.Load().(string) }, AllowCredentials: true}
	cfg.AllowRequest = func(c fiber.Ctx) error {
		if c.Get("Authorization") != "Bearer letmein" {
			return errors.New("bad token")
		}
		return nil
	}
	srv := NewServer(cfg)
	srv.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
	authSeen := make(chan string, 1)
	srv.On(EventConnect, func(ep *EventPayload) { authSeen <- ep.Kws.Header("Authorization") })
	ts := startServer(t, srv, nil)

	page := strings.ReplaceAll(`<!doctype html><script src="/socket.io.min.js"></script><script>
const socket = io("SERVER", { withCredentials: true, extraHeaders: { Authorization: "Bearer letmein" } });
const r = { echoes: [] };
socket.on("connect_error", (e) => { window.result = { error: e.message }; });
socket.on("connect", () => socket.emit("echo", "first", (a) => { r.echoes.push(a); next(); }));
socket.io.engine.on("upgrade", (t) => { r.upgraded = t.name; next(); });
function next() {
  if (!r.upgraded || r.echoes.length !== 1) return;
  socket.emit("echo", "second", (a) => {
    r.echoes.push(a);
    window.result = { echoes: r.echoes, upgraded: r.upgraded, transport: socket.io.engine.transport.name };
  });
}
</script>`, "SERVER", ts.url)
	pageURL := servePage(t, page)
	allowed.Store(pageURL)
	res := runBrowser(t, pageURL)
	want := `{"echoes":["first","second"],"upgraded":"websocket","transport":"websocket"}`
	if len(res.lines) == 0 || res.lines[len(res.lines)-1] != want {
		t.Errorf("allowed origin: got %q, want %s", res.lines, want)
	}
	// Browsers cannot put headers on a WebSocket handshake: seeing the
	// Authorization header proves the session opened over polling, with
	// the preflight and credentials in place.
	select {
	case got := <-authSeen:
		if got != "Bearer letmein" {
			t.Errorf("handshake Authorization header = %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Error("no connect on the server")
	}

	refused := servePage(t, page)
	res = runBrowser(t, refused)
	if len(res.lines) == 0 || !strings.Contains(res.lines[len(res.lines)-1], `"error"`) {
		t.Errorf("refused origin must fail to connect; got %q", res.lines)
	}
}

// TestBrowserPollingCompression: a browser on polling (which sends
// Accept-Encoding) gets the large responses gzipped and reads them: an
// ack of 100,000 characters, and a message of 50,000, arrive intact.
func TestBrowserPollingCompression(t *testing.T) {
	cfg := testConfig()
	cfg.CORS = CORSConfig{AllowOriginFunc: func(string) bool { return true }}
	srv := NewServer(cfg)
	srv.On("echo", func(ep *EventPayload) {
		_ = ep.Ack(ep.Args...)
		ep.Kws.EmitArgs("big", []byte(`"`+strings.Repeat("ab", 25_000)+`"`))
	})
	var gzipped atomic.Int32
	ts := serveBehind(t, srv, func(c fiber.Ctx) error {
		err := c.Next()
		if string(c.Response().Header.Peek(fiber.HeaderContentEncoding)) == "gzip" {
			gzipped.Add(1)
		}
		return err
	})

	page := strings.ReplaceAll(`<!doctype html><script src="/socket.io.min.js"></script><script>
const socket = io("SERVER", { transports: ["polling"] });
let sent = "";
for (let i = 0; sent.length < 100000; i++) sent += "line " + i + ": the quick brown fox\n";
const r = {};
socket.on("connect_error", (e) => { window.result = { error: e.message }; });
socket.on("big", (m) => { r.big = m === "ab".repeat(25000); done(); });
socket.on("connect", () => socket.emit("echo", sent, (a) => { r.ack = a === sent; done(); }));
function done() {
  if (r.big === undefined || r.ack === undefined) return;
  window.result = { ack: r.ack, big: r.big, transport: socket.io.engine.transport.name };
}
</script>`, "SERVER", ts.url)
	res := runBrowser(t, servePage(t, page))
	want := `{"ack":true,"big":true,"transport":"polling"}`
	if len(res.lines) == 0 || res.lines[len(res.lines)-1] != want {
		t.Errorf("got %q, want %s", res.lines, want)
	}
	if gzipped.Load() == 0 {
		t.Error("no polling response was gzipped")
	}
}

// TestBrowserWebSocketCompression: with EnableCompression, Chromium
// negotiates permessage-deflate and reads the server's compressed
// messages (an ack and an emit of 100,000 characters each) whole; the
// bytes on the wire, counted by a proxy, show them compressed.
func TestBrowserWebSocketCompression(t *testing.T) {
	cfg := testConfig()
	cfg.CORS = CORSConfig{AllowOriginFunc: func(string) bool { return true }}
	srv := NewServer(cfg)
	srv.On("echo", func(ep *EventPayload) {
		_ = ep.Ack(ep.Args...)
		ep.Kws.EmitArgs("big", []byte(`"`+strings.Repeat("ab", 50_000)+`"`))
	})
	sockets := make(chan *Websocket, 1)
	ts := serveDeflate(t, srv, sockets)
	proxy, down := countingProxy(t, strings.TrimPrefix(ts.url, "http://"))

	page := strings.ReplaceAll(`<!doctype html><script src="/socket.io.min.js"></script><script>
const socket = io("SERVER", { transports: ["websocket"] });
let sent = "";
for (let i = 0; sent.length < 100000; i++) sent += "line " + i + ": the quick brown fox\n";
const r = {};
socket.on("connect_error", (e) => { window.result = { error: e.message }; });
socket.on("big", (m) => { r.big = m === "ab".repeat(50000); done(); });
socket.on("connect", () => socket.emit("echo", sent, (a) => { r.ack = a === sent; done(); }));
function done() {
  if (r.big === undefined || r.ack === undefined) return;
  window.result = { ack: r.ack, big: r.big, transport: socket.io.engine.transport.name };
  socket.close();
}
</script>`, "SERVER", proxy)
	res := runBrowser(t, servePage(t, page))
	want := `{"ack":true,"big":true,"transport":"websocket"}`
	if len(res.lines) == 0 || res.lines[len(res.lines)-1] != want {
		t.Fatalf("got %q, want %s", res.lines, want)
	}
	waitFor(t, "the proxied connection to end", func() bool { return down.Load() > 0 })
	// 200,000 characters of messages; compressed, a few tens of KB at most.
	if n := down.Load(); n > 60_000 {
		t.Errorf("%d bytes from the server for 200,000 characters of messages", n)
	} else {
		t.Logf("%d bytes from the server for 200,000 characters of messages", n)
	}
}
