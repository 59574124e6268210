package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fiber-socketio/socketio"
	"github.com/gofiber/fiber/v3"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.init.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}

// password is the UI's password in the tests, hashed at bcrypt's minimum
// cost so that logging in is quick.
const password = "s3cret"

func passwordHash(t *testing.T) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
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

// nodeDir is where the pinned npm packages are (npm ci).
func nodeDir(t *testing.T) string {
	dir, _ := filepath.Abs("testdata/node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@socket.io", "admin-ui")); err != nil {
		t.Fatalf("run `npm ci --prefix admin/testdata/node` (the README's test command does): %v", err)
	}
	return dir
}

// runUI runs ui.js against url and returns its lines, keyed by their one
// field.
func runUI(t *testing.T, url string) map[string]json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "ui.js", url, "admin", password)
	cmd.Dir = nodeDir(t)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("ui.js against %s: %v\nstdout:\n%s\nstderr:\n%s", url, err, b, stderr.String())
	}
	got := map[string]json.RawMessage{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("ui.js printed %q: %v", line, err)
		}
		for k, v := range m {
			got[k] = v
		}
	}
	return got
}

// goServer is the instrumented server of the tests: "/", "/chat", and a
// "hello" listener that answers with "reply".
func goServer(t *testing.T, opts Options) (string, *Instrumentation) {
	t.Helper()
	cfg := socketio.DefaultConfig()
	cfg.PingInterval = 300 * time.Millisecond
	cfg.PingTimeout = 300 * time.Millisecond
	srv := socketio.NewServer(cfg)
	srv.Of("/chat")
	in, err := Instrument(srv, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Stop)
	srv.On("hello", func(ep *socketio.EventPayload) { ep.Kws.EmitArgs("reply", []byte(`"hi"`)) })
	srv.On("rename", func(ep *socketio.EventPayload) {
		var name string
		_ = json.Unmarshal(ep.Data, &name)
		ep.Kws.SetAttribute("name", name)
	})
	return serve(t, srv), in
}

// TestAdminUI: socket.io-client, doing what the Admin UI does, logs in to
// the Go server (a wrong password is refused), gets its session id, the
// features and the sockets, sees a user's socket connect, upgrade, send
// and receive events, join and leave a room the UI puts it in, get the
// UI's emit and be disconnected by the UI, and gets the server statistics
// with the engine's aggregated events; then it logs in again with the
// session id alone.
func TestAdminUI(t *testing.T) {
	url, _ := goServer(t, Options{Auth: &BasicAuth{Username: "admin", PasswordHash: passwordHash(t)}, StatsInterval: 200 * time.Millisecond})
	got := runUI(t, url)
	for key, want := range map[string]string{
		"badLogin":       `"invalid credentials"`,
		"session":        `{"session":true,"features":["EMIT","JOIN","LEAVE","DISCONNECT","MJOIN","MLEAVE","MDISCONNECT","AGGREGATED_EVENTS","ALL_EVENTS"]}`,
		"allSockets":     `["/admin websocket"]`,
		"userConnected":  `{"nsp":"/","transport":"polling","rooms":[USER],"who":"user","date":"string"}`,
		"userUpdated":    `"websocket"`,
		"received":       `["/",["hello",1,{"a":"b"}]]`,
		"sent":           `["/",["reply","hi"]]`,
		"joined":         `["/",true]`,
		"dataUpdated":    `{"nsp":"/","data":{"name":"bob"}}`,
		"news":           `["x",2]`,
		"left":           `["/",true]`,
		"userDisconnect": `"io server disconnect"`,
		"disconnected":   `["/","server namespace disconnect"]`,
		"aggregated":     `{"aggregated":["bytesIn","bytesOut","packetsIn","packetsOut","rawConnection","rawDisconnection"],"connections":true,"packetsIn":true,"bytesOut":true}`,
		"namespaces":     `{"namespaces":["/","/admin","/chat"],"clients":"number","polling":0}`,
		"sessionLogin":   `true`,
		// The user's connection: closed by the server once its last socket
		// was disconnected, or by the client (as Node's server sees it)
		// if its CLOSE came first.
		"reasons": `["forced close"]|["transport close"]|["forced close","transport close"]|["transport close","forced close"]`,
		"done":    `true`,
	} {
		line, ok := got[key]
		if !ok {
			t.Errorf("ui.js printed no %s", key)
			continue
		}
		if key == "session" || key == "aggregated" || key == "namespaces" {
			line = wholeLine(got, key)
		}
		if key == "userConnected" {
			var u struct {
				Rooms []string `json:"rooms"`
			}
			_ = json.Unmarshal(line, &u)
			if len(u.Rooms) == 1 {
				want = strings.Replace(want, "USER", strconv.Quote(u.Rooms[0]), 1)
			}
		}
		if !slices.Contains(strings.Split(want, "|"), string(line)) {
			t.Errorf("%s: got %s, want %s", key, line, want)
		}
	}
}

// wholeLine rebuilds the object of a line whose fields runUI split.
func wholeLine(got map[string]json.RawMessage, first string) json.RawMessage {
	fields := map[string][]string{
		"session":    {"session", "features"},
		"aggregated": {"aggregated", "connections", "packetsIn", "bytesOut"},
		"namespaces": {"namespaces", "clients", "polling"},
	}[first]
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(f) + ":" + string(got[f]))
	}
	b.WriteByte('}')
	return json.RawMessage(b.String())
}

// TestAdminUIMatchesNode: the same UI script against Node's socket.io
// with @socket.io/admin-ui's instrument gets messages of the same shape
// (keys and value types of a socket's description and of server_stats)
// and the same answers as from the Go server.
func TestAdminUIMatchesNode(t *testing.T) {
	hash := passwordHash(t)
	goURL, _ := goServer(t, Options{Auth: &BasicAuth{Username: "admin", PasswordHash: hash}, StatsInterval: 200 * time.Millisecond})
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", "instrument_server.js", strconv.Itoa(port), hash)
	cmd.Dir = nodeDir(t)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	if !bufio.NewScanner(stdout).Scan() {
		t.Fatal("the Node server did not start")
	}
	fromGo := runUI(t, goURL)
	fromNode := runUI(t, "http://127.0.0.1:"+strconv.Itoa(port))
	for _, key := range []string{"badLogin", "session", "features", "allSockets", "shapeSocket", "userUpdated", "received", "sent", "dataUpdated", "joined", "news", "left", "userDisconnect", "disconnected", "aggregated", "connections", "packetsIn", "bytesOut", "namespaces", "shapeStats", "sessionLogin"} {
		if string(fromGo[key]) != string(fromNode[key]) {
			t.Errorf("%s: Go server %s, Node server %s", key, fromGo[key], fromNode[key])
		}
	}
}

// TestInstrumentOptions: the options Instrument refuses.
func TestInstrumentOptions(t *testing.T) {
	srv := socketio.NewServer(socketio.DefaultConfig())
	for _, tc := range []struct {
		opts Options
		want error
	}{
		{Options{}, ErrAuthRequired},
		{Options{Auth: &BasicAuth{Username: "a", PasswordHash: "plain"}}, ErrInvalidPasswordHash},
		{Options{NoAuth: true, Mode: "test"}, ErrInvalidMode},
	} {
		if _, err := Instrument(srv, tc.opts); !errors.Is(err, tc.want) {
			t.Errorf("Instrument(%+v) = %v, want %v", tc.opts, err, tc.want)
		}
	}
}

// TestAdminReadOnlyProduction: without authentication, in Production and
// read-only, the UI is told of the aggregated events only, gets no list of
// sockets nor their events, and its actions change nothing.
func TestAdminReadOnlyProduction(t *testing.T) {
	url, _ := goServer(t, Options{NoAuth: true, ReadOnly: true, Mode: Production, StatsInterval: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "-e", `
const { io } = require("socket.io-client");
const url = process.argv[1];
const opts = { forceNew: true, reconnection: false, transports: ["websocket"] };
const admin = io(url + "/admin", opts);
const seen = [];
admin.onAny((ev, ...args) => seen.push(ev));
admin.on("config", (c) => console.log(JSON.stringify({ features: c.supportedFeatures })));
admin.on("connect", () => {
  const user = io(url, opts);
  user.on("connect", () => {
    admin.emit("_disconnect", "/", false);
    admin.emit("join", "/", "vip");
    user.emit("hello");
    setTimeout(() => {
      console.log(JSON.stringify({ userConnected: user.connected, events: [...new Set(seen)].sort() }));
      user.close(); admin.close();
    }, 500);
  });
});
`, url)
	cmd.Dir = nodeDir(t)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, b)
	}
	want := `{"features":["AGGREGATED_EVENTS"]}` + "\n" + `{"userConnected":true,"events":["config","server_stats"]}` + "\n"
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
}
