package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fiber-socketio/socketio"
	"github.com/gofiber/fiber/v3"
)

// chromiumPath is the Debian chromium the README's test command installs.
const chromiumPath = "/usr/bin/chromium"

// testNodeDir holds the pinned npm test peers (playwright-core,
// socket.io-client), installed by `npm ci --prefix testdata/node`.
const testNodeDir = "../testdata/node"

// clientJSPath finds the browser client: installed for the example, or
// among the test peers.
func clientJSPath(t *testing.T) string {
	t.Helper()
	for _, dir := range []string{".", testNodeDir} {
		p := filepath.Join(dir, clientJS)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("socket.io-client is not installed: run `npm ci --prefix example` or `npm ci --prefix testdata/node` (make test does)")
	return ""
}

// startChat serves the chat and the cross-origin demo page on free
// loopback ports and returns their URLs.
func startChat(t *testing.T) (chatURL, pageURL string) {
	t.Helper()
	chatLn, pageLn := listen(t), listen(t)
	chatURL, pageURL = "http://"+chatLn.Addr().String(), "http://"+pageLn.Addr().String()
	js := clientJSPath(t)
	app, server, err := newApp(options{PageOrigin: pageURL, ClientJS: js})
	if err != nil {
		t.Fatal(err)
	}
	page, err := newPageApp(chatURL, js)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		app *fiber.App
		ln  net.Listener
	}{{app, chatLn}, {page, pageLn}} {
		go func() { _ = s.app.Listener(s.ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
		t.Cleanup(func() { _ = s.app.ShutdownWithTimeout(2 * time.Second) })
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := server.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return chatURL, pageURL
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestHandshakePolicy checks the server side of the cross-origin demo
// without a browser: the token is required, the page's origin is allowed
// with credentials, other origins are refused.
func TestHandshakePolicy(t *testing.T) {
	chatURL, pageURL := startChat(t)
	handshake := chatURL + "/socket.io/?EIO=4&transport=polling"
	var body []byte
	do := func(method string, headers ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, handshake, nil)
		for i := 0; i < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(res.Body)
		res.Body.Close()
		return res
	}
	if res := do("GET"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: status %d, want 401", res.StatusCode)
	}
	if res := do("GET", "Authorization", "Bearer wrong"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: status %d, want 401", res.StatusCode)
	}
	res := do("GET", "Authorization", "Bearer "+demoToken, "Origin", pageURL)
	if res.StatusCode != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != pageURL ||
		res.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("page origin: status %d, headers %v", res.StatusCode, res.Header)
	}
	// Close that session (an Engine.IO CLOSE packet), or the server's
	// shutdown would wait CloseTimeout for it to poll.
	var open struct{ Sid string }
	if err := json.Unmarshal(bytes.TrimPrefix(body, []byte("0")), &open); err != nil || open.Sid == "" {
		t.Fatalf("handshake body %q: %v", body, err)
	}
	if res, err := http.Post(handshake+"&sid="+open.Sid, "text/plain", strings.NewReader("1")); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("close: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	res = do("OPTIONS", "Origin", pageURL, "Access-Control-Request-Method", "GET",
		"Access-Control-Request-Headers", "authorization")
	if res.StatusCode != http.StatusNoContent || !strings.EqualFold(res.Header.Get("Access-Control-Allow-Headers"), "authorization") {
		t.Errorf("preflight: status %d, headers %v", res.StatusCode, res.Header)
	}
	if res := do("GET", "Authorization", "Bearer "+demoToken, "Origin", "http://127.0.0.1:1"); res.StatusCode != http.StatusForbidden {
		t.Errorf("other origin: status %d, want 403", res.StatusCode)
	}
}

// scenario drives the example in headless Chromium. Every wait is a check:
// a missing notice, indicator, message or mark fails the script after a
// timeout, naming the step. It prints one JSON object for the Go side.
const scenario = `
const { chromium } = require("playwright-core");
const { CHAT, PAGE, SHOT, CHROMIUM } = process.env;
const T = { timeout: 15000 };
let at = "launch";
const step = (name) => { at = name; console.error("step: " + name); };

(async () => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  // open loads the page in a new context (its own cookies), connects as
  // nick and joins room.
  const open = async (url, nick, room, watch) => {
    const ctx = await browser.newContext({ viewport: { width: 760, height: 620 } });
    const page = await ctx.newPage();
    page.on("console", (m) => console.error(nick + " console: " + m.text()));
    page.on("pageerror", (e) => console.error(nick + " page error: " + e.message));
    if (watch) watch(page);
    await page.goto(url);
    await page.fill("#nick", nick);
    await page.click("#connect button");
    await page.waitForFunction(() => socket !== null && socket.connected, null, T);
    await join({ page }, room);
    return { ctx, page };
  };
  const join = async (who, room) => {
    await who.page.fill("#room", room);
    await who.page.click("#join button");
    await who.page.locator("#rooms li.current", { hasText: "#" + room }).waitFor(T);
  };
  const send = (who, text) => who.page.fill("#text", text).then(() => who.page.click("#send button"));
  const seen = (who, selector, text) => who.page.locator(selector, { hasText: text }).first().waitFor(T);
  const lines = (who) => who.page.locator("#log .line").allTextContents();
  const result = {};

  step("alice and bob join #go");
  const alice = await open(CHAT, "alice", "go");
  const bob = await open(CHAT, "bob", "go");
  await seen(alice, "#log .notice", "bob joined #go");
  step("carol joins #rust");
  const carol = await open(CHAT, "carol", "rust");

  step("alice types: bob sees the indicator");
  await alice.page.locator("#text").pressSequentially("hello bob");
  await seen(bob, "#typing", "alice is typing in #go");
  step("alice sends: bob receives, alice sees it delivered, the indicator goes");
  await alice.page.click("#send button");
  await seen(bob, "#log .msg", "alice: hello bob");
  await seen(alice, "#log .msg.mine.delivered", "✓ delivered to 1 member");
  await bob.page.waitForFunction(() => document.querySelector("#typing").textContent === "", null, T);

  // Packets reach one client in order: what the server sent carol before
  // the ack of her own message has arrived once she sees it delivered.
  step("carol talks in #rust");
  await send(carol, "anyone into rust?");
  await seen(carol, "#log .msg.mine.delivered", "nobody else here");
  result.carol = await lines(carol);

  step("bob answers");
  await send(bob, "hi alice");
  await seen(alice, "#log .msg", "bob: hi alice");
  await seen(bob, "#log .msg.mine.delivered", "✓ delivered to 1 member");

  step("bob leaves #go");
  await bob.page.click('#rooms li[data-room="go"] .leave');
  await seen(alice, "#log .notice", "bob left #go");
  step("carol joins #go, then closes her page");
  await join(carol, "go");
  await seen(alice, "#log .notice", "carol joined #go");
  await carol.ctx.close();
  await seen(alice, "#log .notice", "carol left #go");
  result.alice = await lines(alice);
  result.bob = await lines(bob);
  await alice.page.screenshot({ path: SHOT });

  step("dave connects from the cross-origin page");
  result.requests = [];
  result.websockets = [];
  const dave = await open(PAGE, "dave", "go", (page) => {
    page.on("request", async (r) => {
      if (!r.url().startsWith(CHAT + "/socket.io/")) return;
      const h = await r.allHeaders();
      result.requests.push({ method: r.method(), url: r.url(), authorization: h["authorization"] || "" });
    });
    page.on("websocket", (ws) => result.websockets.push(ws.url()));
  });
  await dave.page.waitForFunction(() => socket.io.engine.transport.name === "websocket", null, T);
  result.daveTransport = await dave.page.evaluate(() => socket.io.engine.transport.name);
  await seen(alice, "#log .notice", "dave joined #go");
  await send(dave, "hello from another origin");
  await seen(alice, "#log .msg", "dave: hello from another origin");
  await seen(dave, "#log .msg.mine.delivered", "✓ delivered to 1 member");
  result.daveCookies = (await dave.ctx.cookies(CHAT)).map((c) => c.name);

  console.log(JSON.stringify(result));
  await browser.close();
})().catch((e) => { console.error("FAIL at step \"" + at + "\": " + e.stack); process.exit(1); });
`

// TestBrowserChat runs the scenario: two pages chat in a room (typing
// indicator, delivery marks, join and leave notices), a page in another
// room hears nothing of it, and the cross-origin page connects with
// credentials and the Authorization header over polling, then upgrades.
func TestBrowserChat(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium is not installed at %s (make test installs it): %v", chromiumPath, err)
	}
	if _, err := os.Stat(filepath.Join(testNodeDir, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed: run `npm ci --prefix testdata/node` (make test does): %v", err)
	}
	chatURL, pageURL := startChat(t)
	shot := filepath.Join(t.TempDir(), "chat.png")
	if dir := os.Getenv("EXAMPLE_SCREENSHOT_DIR"); dir != "" { // to look at it
		shot = filepath.Join(dir, "chat.png")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "-e", scenario)
	cmd.Dir = testNodeDir
	cmd.Env = append(os.Environ(), "CHAT="+chatURL, "PAGE="+pageURL, "SHOT="+shot, "CHROMIUM="+chromiumPath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("browser scenario failed: %v\n%s", err, stderr.String())
	}
	var res struct {
		Alice, Bob, Carol []string
		Requests          []struct{ Method, URL, Authorization string }
		Websockets        []string
		DaveTransport     string
		DaveCookies       []string
	}
	sc := bufio.NewScanner(&stdout)
	var last string
	for sc.Scan() {
		last = sc.Text()
	}
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("scenario output %q: %v\n%s", stdout.String(), err, stderr.String())
	}

	// The sender gets its own message once (not back from the broadcast).
	if n := count(res.Alice, "alice: hello bob"); n != 1 {
		t.Errorf("alice's log has her message %d times: %q", n, res.Alice)
	}
	for _, want := range []string{"bob joined #go", "bob: hi alice", "bob left #go", "carol joined #go", "carol left #go"} {
		if count(res.Alice, want) != 1 {
			t.Errorf("alice's log lacks %q once: %q", want, res.Alice)
		}
	}
	if count(res.Bob, "alice: hello bob") != 1 || count(res.Bob, "you left #go") != 1 {
		t.Errorf("bob's log: %q", res.Bob)
	}
	// carol was in #rust while #go talked.
	if count(res.Carol, "anyone into rust?") != 1 || count(res.Carol, "hello bob") != 0 || count(res.Carol, "joined #go") != 0 {
		t.Errorf("carol's log: %q", res.Carol)
	}

	// Cross-origin: the session opened over polling with the header (the
	// server refuses it otherwise), the cookie was stored (credentials),
	// and the connection moved to a WebSocket.
	handshakes := 0
	for _, r := range res.Requests {
		if strings.Contains(r.URL, "transport=polling") && !strings.Contains(r.URL, "sid=") {
			handshakes++
			if r.Authorization != "Bearer "+demoToken {
				t.Errorf("polling handshake %s without the token: %q", r.URL, r.Authorization)
			}
		}
	}
	if handshakes != 1 {
		t.Errorf("want one polling handshake from the cross-origin page, got %+v", res.Requests)
	}
	wsURL := "ws" + strings.TrimPrefix(chatURL, "http") + "/socket.io/"
	if len(res.Websockets) != 1 || !strings.HasPrefix(res.Websockets[0], wsURL) || !strings.Contains(res.Websockets[0], "sid=") {
		t.Errorf("want one upgrade of the session to %s, got %q", wsURL, res.Websockets)
	}
	if res.DaveTransport != "websocket" {
		t.Errorf("cross-origin transport %q, want websocket", res.DaveTransport)
	}
	if count(res.DaveCookies, "io") != 1 {
		t.Errorf("cross-origin page did not store the session cookie: %q", res.DaveCookies)
	}

	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 760 || b.Dy() != 620 {
		t.Errorf("screenshot is %v", b)
	}
	t.Logf("screenshot: %s", shot)
}

// count returns how many lines contain s.
func count(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// trackingListener remembers the connections it accepted, so that a test
// can drop them all at once, as the kernel does when a process dies.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

// dropAll closes the listener and every connection it accepted (hijacked
// WebSockets included): the clients see their transport close, with no
// Socket.IO DISCONNECT packet.
func (l *trackingListener) dropAll() {
	_ = l.Listener.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.conns = nil
}

// chatProcess is one run of the chat server (Fiber app and Socket.IO
// server) on a listener: what one process of a deployment serves.
type chatProcess struct {
	t      *testing.T
	app    *fiber.App
	server *socketio.Server
	ln     *trackingListener
	once   sync.Once
}

// runChat serves a new chat on ln; the test's cleanup stops it
// gracefully unless kill did first.
func runChat(t *testing.T, ln net.Listener, pageOrigin, clientJS string) *chatProcess {
	t.Helper()
	app, server, err := newApp(options{PageOrigin: pageOrigin, ClientJS: clientJS})
	if err != nil {
		t.Fatal(err)
	}
	p := &chatProcess{t: t, app: app, server: server, ln: &trackingListener{Listener: ln}}
	go func() { _ = app.Listener(p.ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(p.stop)
	return p
}

// stop is a graceful shutdown: Server.Shutdown sends every client a
// DISCONNECT ("io server disconnect" in the browser), then the app stops.
func (p *chatProcess) stop() {
	p.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.server.Shutdown(ctx); err != nil {
			p.t.Errorf("shutdown: %v", err)
		}
		_ = p.app.ShutdownWithTimeout(2 * time.Second)
	})
}

// kill ends the process the way a crash, an OOM kill or a redeploy's
// SIGKILL does: the port closes and every connection drops, with no
// Socket.IO DISCONNECT. Then it releases what the dead process held here
// (goroutines, sessions), which cannot reach the clients any more.
func (p *chatProcess) kill() {
	p.once.Do(func() {
		p.ln.dropAll()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.server.Shutdown(ctx)
		_ = p.app.ShutdownWithTimeout(2 * time.Second)
	})
}

// checkBrowser fails the test when Chromium or playwright-core is missing.
func checkBrowser(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium is not installed at %s (make test installs it): %v", chromiumPath, err)
	}
	if _, err := os.Stat(filepath.Join(testNodeDir, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed: run `npm ci --prefix testdata/node` (make test does): %v", err)
	}
}

// scenarioPrelude launches Chromium for the scenarios below and defines
// open (a page of the chat at url, connected as nick), seen and send.
const scenarioPrelude = `
const { chromium } = require("playwright-core");
const readline = require("readline");
const { CHAT, CHROMIUM } = process.env;
const T = { timeout: 15000 };
let at = "launch";
const step = (name) => { at = name; console.error("step: " + name); };
// ask has the Go side do something ("CMD <what>" on stdout) and waits for
// its "done" on stdin.
const input = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const ask = async (what) => {
  console.log("CMD " + what);
  const { value } = await input.next();
  if (value !== "done") throw new Error(what + ": " + value);
};
let browser;
const launch = async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
};
const open = async (url, nick) => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.on("console", (m) => console.error(nick + " console: " + m.text()));
  page.on("pageerror", (e) => console.error(nick + " page error: " + e.message));
  await page.goto(url);
  await page.fill("#nick", nick);
  await page.click("#connect button");
  return { ctx, page };
};
const online = (who) => who.page.waitForFunction(() => socket !== null && socket.connected &&
  document.querySelector("#status").textContent.startsWith("online as"), null, T);
const join = async (who, room) => {
  await who.page.fill("#room", room);
  await who.page.click("#join button");
  await who.page.locator("#rooms li.current", { hasText: "#" + room }).waitFor(T);
};
const send = (who, text) => who.page.fill("#text", text).then(() => who.page.click("#send button"));
const seen = (who, selector, text) => who.page.locator(selector, { hasText: text }).first().waitFor(T);
const lines = (who) => who.page.locator("#log .line").allTextContents();
// finish prints the result and exits (stdin, open for ask, would keep node
// alive).
const finish = async (result) => {
  await browser.close();
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
};
`

// runScenario runs a node script in testNodeDir with env, bounded by
// limit. A "CMD <what>" line on its stdout calls do(what), whose error (or
// "done") goes back on its stdin. It returns the script's last stdout
// line, its result as JSON.
func runScenario(t *testing.T, script string, env []string, limit time.Duration, do func(what string) error) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "-e", script)
	cmd.Dir = testNodeDir
	cmd.Env = append(append(os.Environ(), "CHROMIUM="+chromiumPath), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var last string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		last = sc.Text()
		if what, ok := strings.CutPrefix(last, "CMD "); ok {
			reply := "done"
			if err := do(what); err != nil {
				reply = strings.ReplaceAll(err.Error(), "\n", " ")
			}
			_, _ = io.WriteString(stdin, reply+"\n")
		}
	}
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("browser scenario failed: %v\n%s", err, stderr.String())
	}
	return last
}

// restartScenario: alice (in #go and #ops) and bob (in #go) are on
// WebSocket when the chat process dies and a new one starts on the same
// port. Both pages see the transport close, reconnect by themselves and
// rejoin their rooms; messages flow through the new process.
const restartScenario = scenarioPrelude + `
(async () => {
  await launch();
  step("alice joins #ops and #go, bob joins #go");
  const alice = await open(CHAT, "alice");
  await online(alice);
  await join(alice, "ops");
  await join(alice, "go");
  const bob = await open(CHAT, "bob");
  await online(bob);
  await join(bob, "go");
  await seen(alice, "#log .notice", "bob joined #go");
  step("both pages on WebSocket");
  for (const who of [alice, bob]) {
    await who.page.waitForFunction(() => socket.io.engine.transport.name === "websocket", null, T);
    // Record what the client goes through, next to the page's handlers.
    await who.page.evaluate(() => {
      window.events = [];
      socket.on("disconnect", (reason) => events.push("disconnect: " + reason));
      socket.io.on("reconnect_attempt", (n) => events.push("attempt " + n));
      socket.io.on("reconnect_error", () => events.push("reconnect_error"));
      socket.io.on("reconnect", () => events.push("reconnect"));
    });
  }
  const sid = await alice.page.evaluate(() => socket.id);

  step("the chat process dies");
  await ask("kill");
  for (const who of [alice, bob]) {
    await who.page.waitForFunction(() => events.some((e) => e.startsWith("disconnect: ")), null, T);
    // The page shows it is offline: nothing can be sent.
    await who.page.waitForFunction(() => !socket.connected && document.querySelector("#send button").disabled, null, T);
  }
  step("while the port is closed, the pages' retries fail and they say so");
  for (const who of [alice, bob]) {
    await who.page.waitForFunction(() => events.includes("reconnect_error") &&
      document.querySelector("#status").textContent.startsWith("not connected: "), null, T);
  }
  step("a new chat process starts on the same port");
  await ask("start");

  step("both pages reconnect by themselves and rejoin their rooms");
  for (const who of [alice, bob]) {
    await who.page.waitForFunction(() => events.includes("reconnect"), null, T);
    await online(who);
  }
  await seen(alice, "#log .notice", "you are back in #ops");
  await seen(alice, "#log .notice", "you are back in #go");
  await seen(bob, "#log .notice", "you are back in #go");
  const result = {
    newSid: await alice.page.evaluate(() => socket.id) !== sid,
    aliceEvents: await alice.page.evaluate(() => events),
    bobEvents: await bob.page.evaluate(() => events),
    aliceRooms: await alice.page.locator("#rooms li").allTextContents(),
  };

  step("bob sends to #go after the restart: alice receives it");
  await send(bob, "still there?");
  await seen(alice, "#log .msg", "bob: still there?");
  await seen(bob, "#log .msg.mine.delivered", "✓ delivered to 1 member");
  step("alice sends to #ops, where she is alone");
  await alice.page.click('#rooms li[data-room="ops"] button:not(.leave)');
  await send(alice, "ops back");
  await seen(alice, "#log .msg.mine.delivered", "nobody else here");
  result.alice = await lines(alice);
  result.bob = await lines(bob);

  await finish(result);
})().catch((e) => { console.error("FAIL at step \"" + at + "\": " + e.stack); process.exit(1); });
`

// TestBrowserServerRestart: a page survives a restart of the chat server.
//
// The restart is a process that dies (crash, OOM kill, the SIGKILL of a
// redeploy) and a new one on the same port: the connections drop with no
// Socket.IO DISCONNECT packet, so the official client sees "transport
// close" and reconnects by itself with its backoff. A graceful
// Server.Shutdown is not that case: it sends DISCONNECT, which the client
// takes as "io server disconnect", a deliberate kick, and does not
// reconnect after (on purpose: the page does not fight a server that
// closed it). The new process knows nothing of the old sockets, so the
// page joins its rooms again on every "connect" (public/app.js).
func TestBrowserServerRestart(t *testing.T) {
	checkBrowser(t)
	js := clientJSPath(t)
	ln := listen(t)
	addr := ln.Addr().String()
	chat := runChat(t, ln, "", js)
	do := func(what string) error {
		switch what {
		case "kill":
			chat.kill()
			return nil
		case "start":
			ln, err := net.Listen("tcp4", addr) // the same port
			if err != nil {
				return err
			}
			chat = runChat(t, ln, "", js)
			return nil
		}
		return fmt.Errorf("unknown command %q", what)
	}
	last := runScenario(t, restartScenario, []string{"CHAT=http://" + addr}, 55*time.Second, do)
	var res struct {
		NewSid                 bool
		AliceEvents, BobEvents []string
		AliceRooms, Alice, Bob []string
	}
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("scenario output %q: %v", last, err)
	}
	// The drop is a transport close, never the server's DISCONNECT.
	for _, ev := range [][]string{res.AliceEvents, res.BobEvents} {
		if len(ev) == 0 || ev[0] != "disconnect: transport close" || count(ev, "io server disconnect") != 0 ||
			count(ev, "reconnect_error") == 0 || ev[len(ev)-1] != "reconnect" {
			t.Errorf("client events %q: want a transport close, failed attempts, then a reconnect", ev)
		}
	}
	t.Logf("client events: alice %q, bob %q", res.AliceEvents, res.BobEvents)
	if !res.NewSid {
		t.Error("the socket id did not change: the new process cannot know the old one")
	}
	if len(res.AliceRooms) != 2 {
		t.Errorf("alice's rooms after the restart: %q", res.AliceRooms)
	}
	if count(res.Alice, "bob: still there?") != 1 || count(res.Bob, "still there?") != 1 {
		t.Errorf("the message after the restart: alice %q, bob %q", res.Alice, res.Bob)
	}
	if count(res.Alice, "could not rejoin") != 0 || count(res.Bob, "could not rejoin") != 0 {
		t.Errorf("a rejoin failed: alice %q, bob %q", res.Alice, res.Bob)
	}
}

// refusedScenario opens the example page served from an origin the chat
// does not allow: the handshake is refused and the page shows the
// connect_error; it never gets online.
const refusedScenario = scenarioPrelude + `
(async () => {
  await launch();
  step("mallory connects from an origin that is not allowed");
  const mallory = await open(process.env.PAGE, "mallory");
  const result = { failed: [] };
  mallory.page.on("requestfailed", (r) => {
    if (r.url().startsWith(CHAT + "/socket.io/")) result.failed.push(r.method() + " " + r.failure().errorText);
  });
  await mallory.page.waitForFunction(() => document.querySelector("#status").textContent.startsWith("not connected: "), null, T);
  // Let the client retry once or twice: it must stay out.
  await mallory.page.waitForTimeout(2500);
  result.status = await mallory.page.locator("#status").textContent();
  result.connected = await mallory.page.evaluate(() => socket.connected);
  result.joinDisabled = await mallory.page.locator("#join button").isDisabled();
  await finish(result);
})().catch((e) => { console.error("FAIL at step \"" + at + "\": " + e.stack); process.exit(1); });
`

// TestBrowserRefusedOrigin serves the example page on a third origin, not
// in the chat's allow-list (only the demo page's origin is): the browser
// gets connect_error and the page stays offline.
func TestBrowserRefusedOrigin(t *testing.T) {
	checkBrowser(t)
	chatURL, _ := startChat(t)
	js := clientJSPath(t)
	other, err := newPageApp(chatURL, js)
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	go func() { _ = other.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() { _ = other.ShutdownWithTimeout(2 * time.Second) })

	last := runScenario(t, refusedScenario, []string{"CHAT=" + chatURL, "PAGE=http://" + ln.Addr().String()}, 40*time.Second,
		func(what string) error { return fmt.Errorf("unknown command %q", what) })
	var res struct {
		Status       string
		Connected    bool
		JoinDisabled bool
		Failed       []string
	}
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("scenario output %q: %v", last, err)
	}
	// The browser blocked the handshake (the server's 403 to the preflight
	// has no CORS headers) and the page got connect_error.
	if res.Connected || !strings.HasPrefix(res.Status, "not connected: ") || !res.JoinDisabled || len(res.Failed) == 0 {
		t.Errorf("refused origin: %+v", res)
	}
	t.Logf("refused origin: status %q, failed requests %q", res.Status, res.Failed)
}
