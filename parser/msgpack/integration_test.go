package msgpack_test

// The real socket.io-client 4.8.4 with the npm socket.io-msgpack-parser
// 3.0.2 against a server with this Parser, over WebSocket, polling and
// the upgrade.

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	socketio "github.com/fiber-socketio/socketio"
	"github.com/fiber-socketio/socketio/parser/msgpack"
	"github.com/gofiber/fiber/v3"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.init.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}

// startServer serves a server using the msgpack Parser on a loopback port.
func startServer(t *testing.T) string {
	t.Helper()
	cfg := socketio.DefaultConfig()
	cfg.Parser = msgpack.Parser{}
	srv := socketio.NewServer(cfg)
	srv.On("echo", func(ep *socketio.EventPayload) {
		values := make([]any, len(ep.Args))
		for i := range values {
			if err := ep.Bind(i, &values[i]); err != nil {
				t.Errorf("echo: %v", err)
			}
		}
		_ = ep.AckValues(values...)
	})
	srv.On("raw", func(ep *socketio.EventPayload) {
		// The arguments as the listener sees them: raw JSON.
		_ = ep.Ack([]byte(`"` + strings.ReplaceAll(string(bytes.Join(ep.Args, []byte("|"))), `"`, `'`) + `"`))
	})
	srv.On("ask", func(ep *socketio.EventPayload) {
		ep.Kws.EmitWithAckArgs("question", [][]byte{[]byte(`"q"`)}, func(reply [][]byte, err error) {
			if err != nil {
				reply = [][]byte{[]byte(`"` + err.Error() + `"`)}
			}
			_ = ep.Ack(reply...)
		})
	})
	srv.On("join", func(ep *socketio.EventPayload) {
		ep.Kws.Join("room")
		_ = srv.To("room").Emit("news", []byte(`{"n":1.5}`))
	})
	srv.On(socketio.EventConnect, func(ep *socketio.EventPayload) {
		ep.Kws.EmitArgs("auth", ep.Kws.HandshakeAuth())
	})
	admin := srv.Of("/admin")
	admin.Use(func(kws *socketio.Websocket, next func(error)) {
		next(&socketio.ConnectError{Message: "not allowed", Payload: []byte(`{"why":"token"}`)})
	})
	return serve(t, srv)
}

// serve serves srv on a loopback port and returns its URL.
func serve(t *testing.T, srv *socketio.Server) string {
	t.Helper()
	app := fiber.New()
	handler := srv.Handler(nil)
	app.Get("/socket.io/", handler)
	app.Post("/socket.io/", handler)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() {
		_ = app.ShutdownWithTimeout(2 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}

const clientScript = `
const { io } = require("socket.io-client");
const parser = require("socket.io-msgpack-parser");
const out = (v) => console.log(JSON.stringify(v));
setTimeout(() => { console.error("script timeout"); process.exit(1); }, 15000).unref();
const opts = Object.assign({ parser, forceNew: true, reconnection: false, auth: { token: "t1" } }, OPTS);
const s = io(process.env.URL, opts);
s.on("connect_error", (e) => { console.error("connect_error " + e.message); process.exit(1); });
s.on("auth", (a) => out({ auth: a }));
s.on("question", (q, cb) => cb("answer to " + q));
s.on("news", (n) => out({ news: n }));
s.on("connect", () => {
  const value = { s: "h\u00e9llo \ud83d\ude00", i: -42, big: 2 ** 40, f: 0.5, t: true, z: null, a: [1, [2, { b: "c" }]] };
  s.emit("echo", value, Buffer.from([1, 2, 255]), (v, bin) => {
    let same = true;
    try { require("assert").deepStrictEqual(v, value); } catch (e) { same = false; console.error(e.message); }
    out({ echo: same, bin: [...bin] });
    s.emit("raw", 1, 2.5, "x", { k: [true] }, (raw) => {
      out({ raw });
      s.emit("ask", (answer) => {
        out({ answer });
        s.emit("join");
        const admin = s.io.socket("/admin");
        admin.on("connect_error", (e) => {
          out({ refused: e.message, data: e.data });
          setTimeout(() => { out({ transport: s.io.engine.transport.name }); s.close(); process.exit(0); }, 300);
        });
        admin.connect();
      });
    });
  });
});
`

func TestMsgpackClient(t *testing.T) {
	for _, tc := range []struct{ name, opts, transport string }{
		{"websocket", `{ transports: ["websocket"] }`, "websocket"},
		{"polling", `{ transports: ["polling"] }`, "polling"},
		{"upgrade", `{}`, "websocket"},
		// Every msgpack packet in base64 text ("b"), both ways.
		{"websocket-base64", `{ transports: ["websocket"], forceBase64: true }`, "websocket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := runClient(t, startServer(t), strings.Replace(clientScript, "OPTS", tc.opts, 1))
			for _, want := range []string{
				`{"auth":{"token":"t1"}}`,
				`{"echo":true,"bin":[1,2,255]}`,
				`{"raw":"1|2.5|'x'|{'k':[true]}"}`,
				`{"answer":"answer to q"}`,
				`{"news":{"n":1.5}}`,
				`{"refused":"not allowed","data":{"why":"token"}}`,
				`{"transport":"` + tc.transport + `"}`,
			} {
				found := false
				for _, l := range lines {
					found = found || l == want
				}
				if !found {
					t.Errorf("missing %s in %q", want, lines)
				}
			}
		})
	}
}

// runClient runs a Node script with the test peers; it returns the lines
// it printed.
func runClient(t *testing.T, url, script string) []string {
	t.Helper()
	node, err := filepath.Abs(filepath.Join("..", "..", "testdata", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(node, "node_modules", "socket.io-msgpack-parser")); err != nil {
		t.Fatalf("the npm test peers are not installed (make deps): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "-e", script)
	cmd.Dir = node
	cmd.Env = append(os.Environ(), "URL="+url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s\n%s", err, stdout, stderr.String())
	}
	return strings.Split(strings.TrimSpace(string(stdout)), "\n")
}

// Connection-state recovery through the parser: a packet broadcast while
// the client's connection was down reaches it after it reconnects, with
// its offset, and the socket is recovered.
func TestMsgpackRecovery(t *testing.T) {
	cfg := socketio.DefaultConfig()
	cfg.Parser = msgpack.Parser{}
	cfg.ConnectionStateRecovery = &socketio.RecoveryConfig{}
	srv := socketio.NewServer(cfg)
	srv.On(socketio.EventConnect, func(ep *socketio.EventPayload) {
		if !ep.Kws.Recovered() {
			ep.Kws.Join("r")
			ep.Kws.EmitArgs("ev", []byte(`1`))
		}
	})
	srv.On(socketio.EventDisconnect, func(ep *socketio.EventPayload) {
		_ = srv.To("r").Emit("ev", []byte(`2`), []byte(`"x"`))
	})
	url := serve(t, srv)
	for _, transports := range []string{`["websocket"]`, `["polling"]`} {
		lines := runClient(t, url, `
const { io } = require("socket.io-client");
const parser = require("socket.io-msgpack-parser");
setTimeout(() => { console.error("script timeout"); process.exit(1); }, 15000).unref();
const s = io(process.env.URL, { parser, transports: `+transports+`, reconnectionDelay: 300, reconnectionDelayMax: 300, randomizationFactor: 0 });
const got = [];
s.on("ev", (...args) => {
  got.push(args.map((a) => typeof a));
  if (got.length === 1) s.io.engine.close();
  else { console.log(JSON.stringify({ got, recovered: s.recovered })); process.exit(0); }
});
`)
		want := `{"got":[["number","string"],["number","string","string"]],"recovered":true}`
		if len(lines) == 0 || lines[len(lines)-1] != want {
			t.Errorf("%s: %q, want %s", transports, lines, want)
		}
	}
}
