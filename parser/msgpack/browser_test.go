package msgpack_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	socketio "github.com/fiber-socketio/socketio"
	"github.com/fiber-socketio/socketio/parser/msgpack"
	"github.com/gofiber/fiber/v3"
)

// chromiumPath is the Debian chromium the test command installs.
const chromiumPath = "/usr/bin/chromium"

// TestMsgpackBrowser runs the official browser build of socket.io-client
// with the msgpack parser (dist/socket.io.msgpack.min.js) in headless
// Chromium, from another origin: binary data and text echo both ways, on
// polling and after the upgrade.
func TestMsgpackBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium is not installed at %s (make deps installs it): %v", chromiumPath, err)
	}
	cfg := socketio.DefaultConfig()
	cfg.Parser = msgpack.Parser{}
	cfg.CORS = socketio.CORSConfig{AllowOriginFunc: func(string) bool { return true }}
	cfg.CloseTimeout = 500 * time.Millisecond // the browser is gone at the end
	srv := socketio.NewServer(cfg)
	srv.On("echo", func(ep *socketio.EventPayload) {
		var bin []byte
		var text string
		if err := ep.Decode(&bin, &text); err != nil {
			t.Errorf("echo: %v", err)
		}
		_ = ep.AckValues(bin, text)
	})
	url := serve(t, srv)

	node, err := filepath.Abs(filepath.Join("..", "..", "testdata", "node"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(node, "node_modules", "socket.io-client", "dist", "socket.io.msgpack.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	page := strings.ReplaceAll(`<!doctype html><script src="/client.js"></script><script>
const text = "h\u00e9llo \ud83d\ude00";
const r = {};
function echo(s, name) {
  s.emit("echo", new Uint8Array([1, 2, 250]).buffer, text, (bin, t) => {
    r[name] = { bin: Array.from(new Uint8Array(bin)), text: t === text, transport: s.io.engine.transport.name };
    if (r.polling && r.upgrade) window.result = { polling: r.polling, upgrade: r.upgrade };
  });
}
const polling = io("SERVER", { transports: ["polling"], forceNew: true });
polling.on("connect_error", (e) => { window.result = { error: e.message }; });
polling.on("connect", () => echo(polling, "polling"));
const upgrade = io("SERVER", { forceNew: true });
upgrade.io.engine.on("upgrade", () => echo(upgrade, "upgrade"));
</script>`, "SERVER", url)
	app := fiber.New()
	app.Get("/client.js", func(c fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "text/javascript")
		return c.Send(js)
	})
	app.Get("/", func(c fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.SendString(page)
	})
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(2 * time.Second) })

	lines := runClient(t, "http://"+ln.Addr().String(), `
const { chromium } = require("playwright-core");
(async () => {
  const browser = await chromium.launch({ executablePath: "`+chromiumPath+`", headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  const page = await browser.newPage();
  page.on("console", (m) => console.error("page console: " + m.text()));
  await page.goto(process.env.URL);
  await page.waitForFunction(() => window.result != null, null, { timeout: 15000 });
  console.log(JSON.stringify(await page.evaluate(() => window.result)));
  await browser.close();
})().catch((e) => { console.error(e.stack); process.exit(1); });
`)
	want := `{"polling":{"bin":[1,2,250],"text":true,"transport":"polling"},"upgrade":{"bin":[1,2,250],"text":true,"transport":"websocket"}}`
	if len(lines) == 0 || lines[len(lines)-1] != want {
		t.Errorf("got %q, want %s", lines, want)
	}
}
