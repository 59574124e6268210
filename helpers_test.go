package socketio

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// fasthttp keeps one process-wide goroutine that refreshes the
		// Date header.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.init.func1"),
		// fasthttp's worker-pool cleaner sleeps up to 10 s before it sees
		// the server stopped.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}

// testConfig is a Config with short timers for tests.
func testConfig() Config {
	c := DefaultConfig()
	c.Logger = nil
	// SOCKETIO_TEST_LIBRARY_IO=1 runs every WebSocket of the tests through
	// the websocket library, as on systems without raw socket I/O
	// (Windows); make test runs the suite once more that way.
	c.libraryIO = os.Getenv("SOCKETIO_TEST_LIBRARY_IO") != ""
	return c
}

// testServer is a Fiber app on a loopback port serving srv at /socket.io/.
type testServer struct {
	srv *Server
	app *fiber.App
	url string
}

// startServer mounts srv's handler with callback on a fresh app listening
// on 127.0.0.1 and stops both when the test ends.
func startServer(t testing.TB, srv *Server, callback func(*Websocket)) *testServer {
	t.Helper()
	return startServerApp(t, srv, callback, fiber.Config{})
}

// startServerApp is startServer on an app with the Fiber config appCfg
// (its ReadTimeout, say).
func startServerApp(t testing.TB, srv *Server, callback func(*Websocket), appCfg fiber.Config) *testServer {
	t.Helper()
	app := fiber.New(appCfg)
	h := srv.Handler(callback)
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)
	app.Options("/socket.io/", h)
	return serveApp(t, srv, app)
}

// serveApp runs app, on which the caller mounted srv, on a fresh loopback
// port and stops both when the test ends.
func serveApp(t testing.TB, srv *Server, app *fiber.App) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveAppOn(t, srv, app, ln)
}

// serveBehind serves srv's handler (GET, POST, OPTIONS) behind the Fiber
// middleware mw, on a fresh loopback port.
func serveBehind(t testing.TB, srv *Server, mw fiber.Handler) *testServer {
	t.Helper()
	app := fiber.New()
	app.Use(mw)
	handler := srv.Handler(nil)
	app.Get("/socket.io/", handler)
	app.Post("/socket.io/", handler)
	app.Options("/socket.io/", handler)
	return serveApp(t, srv, app)
}

// serveAppOn is serveApp on the listener ln.
func serveAppOn(t testing.TB, srv *Server, app *fiber.App, ln net.Listener) *testServer {
	t.Helper()
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	ts := &testServer{srv: srv, app: app, url: "http://" + ln.Addr().String()}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		_ = app.ShutdownWithTimeout(5 * time.Second)
	})
	return ts
}

// nodeDir is where the pinned npm packages are installed (npm ci).
func nodeDir(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs("testdata/node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io-client")); err != nil {
		t.Fatalf("socket.io-client is not installed: run `npm ci --prefix testdata/node` (the README's test command does): %v", err)
	}
	return dir
}

// nodeResult is what a Node script printed: one JSON value per line.
type nodeResult struct {
	lines []string
}

// has reports whether some line equals want.
func (r nodeResult) has(want string) bool {
	for _, l := range r.lines {
		if l == want {
			return true
		}
	}
	return false
}

// runNode runs a CommonJS script with the real socket.io-client; URL is in
// process.env.URL. The script must exit 0; every stdout line is returned.
func runNode(t *testing.T, url, script string, timeout time.Duration) nodeResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// The script runs in a block so that its URL does not shadow the
	// global URL class for the modules it loads.
	prelude := `const { io, Manager } = require("socket.io-client");
const out = (v) => console.log(typeof v === "string" ? v : JSON.stringify(v));
const fail = (m) => { console.error("FAIL: " + m); process.exit(1); };
setTimeout(() => fail("script timeout"), ` + itoa(int(timeout.Milliseconds())-500) + `).unref();
`
	cmd := exec.CommandContext(ctx, "node", "-e", prelude+"{\nconst URL = process.env.URL;\n"+script+"\n}\n")
	cmd.Dir = nodeDir(t)
	cmd.Env = append(os.Environ(), "URL="+url)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var res nodeResult
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		res.lines = append(res.lines, sc.Text())
	}
	// NODE_STDERR=1 logs what the script wrote to stderr, for debugging.
	if os.Getenv("NODE_STDERR") != "" {
		defer func() { t.Log(stderr.String()) }()
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node script failed: %v\nstdout:\n%s\nstderr:\n%s", err, strings.Join(res.lines, "\n"), stderr.String())
	}
	return res
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// transports are the client configurations every integration test runs
// with: WebSocket only, polling only, and the default (polling, then the
// upgrade to WebSocket).
var transports = []struct {
	name string
	opts string
}{
	{"websocket", `transports: ["websocket"]`},
	{"polling", `transports: ["polling"]`},
	{"upgrade", `transports: ["polling", "websocket"]`},
}
