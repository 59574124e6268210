package admin

import (
	"context"
	"mime"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fiber-socketio/socketio"
	"github.com/gofiber/fiber/v3"
)

// chromiumPath is the Debian chromium the test command installs.
const chromiumPath = "/usr/bin/chromium"

// serveUI serves the Admin UI's own files, from the @socket.io/admin-ui
// npm package, on a loopback port and returns its origin.
func serveUI(t *testing.T) string {
	t.Helper()
	dist := filepath.Join(nodeDir(t), "node_modules", "@socket.io", "admin-ui", "ui", "dist")
	app := fiber.New()
	// Read per request: fasthttp's file server keeps a cache goroutine
	// that outlives the app (goleak).
	app.Get("/*", func(c fiber.Ctx) error {
		name := path.Clean("/" + c.Params("*"))
		if name == "/" {
			name = "/index.html"
		}
		b, err := os.ReadFile(filepath.Join(dist, filepath.FromSlash(name)))
		if err != nil {
			return fiber.ErrNotFound
		}
		c.Set(fiber.HeaderContentType, mime.TypeByExtension(path.Ext(name)))
		return c.Send(b)
	})
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(2 * time.Second) })
	return "http://" + ln.Addr().String()
}

// TestAdminUIBrowser: the real Admin UI (the npm package's build) in
// headless Chromium, served from another origin, logs in to the Go server
// through its connection form and shows the server as healthy, the
// namespaces with their sockets, a user's socket with its id and
// transport, and the events the user sent.
func TestAdminUIBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium is not installed at %s (the README's test command installs it): %v", chromiumPath, err)
	}
	ui := serveUI(t)
	cfg := socketio.DefaultConfig()
	cfg.CORS.AllowOrigins = []string{ui}
	cfg.CORS.AllowCredentials = true
	srv := socketio.NewServer(cfg)
	srv.Of("/chat")
	in, err := Instrument(srv, Options{Auth: &BasicAuth{Username: "admin", PasswordHash: passwordHash(t)}, ServerID: "go-node-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Stop)
	url := serve(t, srv)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "-e", `
const { chromium } = require("playwright-core");
const { io } = require("socket.io-client");
const [ui, server, password] = process.argv.slice(1);
const out = (v) => console.log(JSON.stringify(v));
const fail = (m) => { console.error("FAIL: " + m); process.exit(1); };
setTimeout(() => fail("timeout"), 50000).unref();
(async () => {
  const user = io(server + "/chat", { transports: ["websocket"], forceNew: true, reconnection: false });
  await new Promise((r) => user.on("connect", r));
  const browser = await chromium.launch({ executablePath: "`+chromiumPath+`", headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  const page = await browser.newPage();
  // Loopback only: the page's web fonts from CDNs are not fetched.
  await page.route("**/*", (r) => /^https?:\/\/127\.0\.0\.1[:/]/.test(r.request().url()) ? r.continue() : r.abort());
  await page.goto(ui);
  await page.getByLabel("Server URL").fill(server);
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Connect" }).click();
  // innerText, as shown: the status is upper-cased by the style sheet.
  const text = async (want) => {
    await page.waitForFunction((w) => document.body.innerText.includes(w), want, { timeout: 15000 });
    return true;
  };
  await text("Status: \nCONNECTED");
  out({ connected: true });
  // Dashboard: the server's health and the namespaces' sockets.
  await text("/chat");
  const dashboard = await page.evaluate(() => document.body.innerText);
  out({ healthy: /HEALTHY\s+1\b/.test(dashboard), chat: /\/chat\s+1\b/.test(dashboard) });
  // Sockets: the user's.
  await page.getByRole("link", { name: "Sockets" }).first().click();
  // The list shows one namespace at a time: /chat.
  await text("Select namespace");
  await page.getByLabel("Select namespace").click({ force: true });
  await page.getByRole("option", { name: "/chat" }).click();
  await text(user.id);
  const sockets = await page.evaluate(() => document.body.innerText);
  out({ userSocket: sockets.includes(user.id), transport: /WebSocket/i.test(sockets) });
  // Events: what the user sends.
  await page.getByRole("link", { name: "Events" }).first().click();
  user.emit("hello-from-user", 42);
  await text("hello-from-user");
  out({ event: true });
  // Servers: this one, by its id.
  await page.getByRole("link", { name: "Servers" }).first().click();
  await text("go-node-1");
  out({ server: true });
  await browser.close();
  user.close();
})().catch((e) => fail(e.stack));
`, ui, url, password)
	cmd.Dir = nodeDir(t)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, b)
	}
	want := strings.Join([]string{
		`{"connected":true}`,
		`{"healthy":true,"chat":true}`,
		`{"userSocket":true,"transport":true}`,
		`{"event":true}`,
		`{"server":true}`,
	}, "\n") + "\n"
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
}
