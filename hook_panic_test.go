package socketio

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
)

// originRequest sends a polling handshake from origin and returns the
// status and body.
func originRequest(t *testing.T, ts *testServer, origin string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.eioURL("transport=polling"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := rawHTTP.Do(req)
	if err != nil {
		t.Fatalf("the server did not answer (%v): did the panic end it?", err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	return resp.StatusCode, b.String()
}

// TestHookPanics: a panic in a hook the HTTP or CONNECT path runs
// (AllowRequest, CORS.AllowOriginFunc, a dynamic-namespace matcher) refuses
// that request or CONNECT, is logged, and the server and its other
// clients go on. Each used to end the process.
func TestHookPanics(t *testing.T) {
	t.Parallel()
	logs := &logCapture{}
	cfg := testConfig()
	cfg.Logger = logs.log
	cfg.CloseTimeout = 500 * time.Millisecond
	cfg.AllowRequest = func(c fiber.Ctx) error {
		if c.Get("X-Panic") != "" {
			panic("AllowRequest bug")
		}
		return nil
	}
	cfg.CORS = CORSConfig{AllowOriginFunc: func(origin string) bool {
		if strings.Contains(origin, "panic") {
			panic("AllowOriginFunc bug")
		}
		return true
	}}
	srv := NewServer(cfg)
	srv.OfFunc(func(name string) bool {
		if name == "/boom" {
			panic("matcher bug")
		}
		return strings.HasPrefix(name, "/ok")
	})
	srv.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
	ts := startServer(t, srv, nil)
	// A client connected before the panics keeps its session.
	before, _ := connectWS(t, ts)

	t.Run("AllowRequest", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, ts.eioURL("transport=polling"), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Panic", "1")
		resp, err := rawHTTP.Do(req)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", resp.StatusCode)
		}
		if !logs.has("AllowRequest panicked") {
			t.Error("the panic was not logged")
		}
	})
	t.Run("AllowOriginFunc", func(t *testing.T) {
		if status, body := originRequest(t, ts, "https://panic.example"); status != http.StatusForbidden {
			t.Errorf("status %d (%q), want 403", status, body)
		}
		if status, body := originRequest(t, ts, "https://fine.example"); status != http.StatusOK {
			t.Errorf("an allowed origin after the panic: status %d (%q)", status, body)
		}
		if !logs.has("AllowOriginFunc panicked") {
			t.Error("the panic was not logged")
		}
	})
	t.Run("namespace matcher", func(t *testing.T) {
		res := runNode(t, ts.url, `
const boom = io(URL + "/boom", { transports: ["websocket"] });
boom.on("connect", () => fail("/boom connected"));
boom.on("connect_error", (e) => {
  out({ boom: e.message });
  const ok = io(URL + "/ok1", { transports: ["websocket"] });
  ok.on("connect", () => { out({ ok: true }); boom.close(); ok.close(); process.exit(0); });
  ok.on("connect_error", (e) => fail("/ok1: " + e.message));
});
`, 10*time.Second)
		if !res.has(`{"boom":"Invalid namespace"}`) || !res.has(`{"ok":true}`) {
			t.Errorf("client output %q", res.lines)
		}
		if !logs.has("matcher panicked") {
			t.Error("the panic was not logged")
		}
	})
	before.roundTrip("still served")
}
