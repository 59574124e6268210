package socketio

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
)

// connErrorLog records what OnConnectionError received.
type connErrorLog struct {
	mu   sync.Mutex
	errs []ConnectionError
	// agents are the User-Agent headers read from Request in the callback.
	agents []string
}

func (l *connErrorLog) record(e *ConnectionError) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := *e
	c.Request = nil
	l.errs = append(l.errs, c)
	l.agents = append(l.agents, e.Request.Get("User-Agent"))
}

func (l *connErrorLog) last(t *testing.T) (ConnectionError, string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) == 0 {
		t.Fatal("OnConnectionError was not called")
	}
	return l.errs[len(l.errs)-1], l.agents[len(l.agents)-1]
}

func (l *connErrorLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.errs)
}

// TestOnConnectionError: every refusal of the Engine.IO endpoint reaches
// the callback with its code, message, status and context, and the
// request; the answer is the same as without a callback.
func TestOnConnectionError(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.CloseTimeout = 500 * time.Millisecond
	cfg.CORS = CORSConfig{AllowOrigins: []string{"https://app.example"}}
	cfg.AllowRequest = func(c fiber.Ctx) error {
		if c.Get("X-Token") == "bad" {
			return errors.New("bad token")
		}
		return nil
	}
	srv := NewServer(cfg)
	log := &connErrorLog{}
	srv.OnConnectionError(log.record)
	ts := startServer(t, srv, nil)

	for _, tc := range []struct {
		name    string
		method  string
		query   string
		header  map[string]string
		code    int
		status  int
		message string
		context map[string]any
	}{
		{"unknown transport", http.MethodGet, "EIO=4&transport=carrier-pigeon", nil, CodeUnknownTransport, 400, "Transport unknown", map[string]any{"transport": "carrier-pigeon"}},
		{"protocol version", http.MethodGet, "EIO=3&transport=polling", nil, CodeUnsupportedProtocolVersion, 400, "Unsupported protocol version", map[string]any{"EIO": "3"}},
		{"unknown session", http.MethodGet, "EIO=4&transport=polling&sid=nosuchsession", nil, CodeUnknownSID, 400, "Session ID unknown", map[string]any{"sid": "nosuchsession"}},
		{"handshake method", http.MethodPost, "EIO=4&transport=polling", nil, CodeBadHandshakeMethod, 400, "Bad handshake method", map[string]any{"method": "POST"}},
		{"websocket without upgrade", http.MethodGet, "EIO=4&transport=websocket", nil, CodeBadRequest, 400, "Bad request", map[string]any{"reason": "websocket transport without an upgrade request"}},
		{"origin", http.MethodGet, "EIO=4&transport=polling", map[string]string{"Origin": "https://evil.example"}, CodeForbidden, 403, "Forbidden", map[string]any{"origin": "https://evil.example"}},
		{"AllowRequest", http.MethodGet, "EIO=4&transport=polling", map[string]string{"X-Token": "bad"}, CodeForbidden, 403, "Forbidden", map[string]any{"reason": "refused by AllowRequest"}},
	} {
		before := log.count()
		req, err := http.NewRequest(tc.method, ts.url+"/socket.io/?"+tc.query, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("User-Agent", "test/"+tc.name)
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := rawHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		if log.count() != before+1 {
			t.Errorf("%s: the callback ran %d times, want once", tc.name, log.count()-before)
			continue
		}
		got, agent := log.last(t)
		if got.Code != tc.code || got.Message != tc.message || got.Status != tc.status {
			t.Errorf("%s: got code %d %q status %d, want %d %q %d", tc.name, got.Code, got.Message, got.Status, tc.code, tc.message, tc.status)
		}
		for k, v := range tc.context {
			if got.Context[k] != v {
				t.Errorf("%s: context %v, want %s=%v", tc.name, got.Context, k, v)
			}
		}
		if agent != "test/"+tc.name {
			t.Errorf("%s: Request's User-Agent %q in the callback", tc.name, agent)
		}
		if !strings.Contains(got.Error(), tc.message) {
			t.Errorf("%s: Error() %q", tc.name, got.Error())
		}
	}
	if got, _ := log.last(t); got.Context["error"] == nil || got.Context["error"].(error).Error() != "bad token" {
		t.Errorf("AllowRequest's error not in the context: %v", got.Context)
	}

	// A handshake that succeeds reports nothing; a panicking callback is
	// recovered and the answer still goes out.
	before := log.count()
	openPolling(t, ts)
	if log.count() != before {
		t.Error("a successful handshake was reported")
	}
	srv.OnConnectionError(func(*ConnectionError) { panic("callback bug") })
	if status, _ := mustHTTP(t, http.MethodGet, ts.url+"/socket.io/?EIO=4&transport=polling&sid=x", ""); status != http.StatusBadRequest {
		t.Errorf("with a panicking callback: status %d", status)
	}
	srv.OnConnectionError(nil)
	if status, _ := mustHTTP(t, http.MethodGet, ts.url+"/socket.io/?EIO=4&transport=polling&sid=x", ""); status != http.StatusBadRequest {
		t.Errorf("without a callback: status %d", status)
	}
}

// TestOnConnectionErrorRealClient: the official client asking for a
// transport the server does not serve is refused, and the callback sees
// why.
func TestOnConnectionErrorRealClient(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) { c.Transports = []string{"polling"} })
	log := &connErrorLog{}
	es.srv.OnConnectionError(log.record)
	res := runClientTransport(t, es.testServer, `{ transports: ["websocket"] }`)
	if !res.has(`{"connectError":"websocket error"}`) {
		t.Fatalf("client output %q", res.lines)
	}
	got, _ := log.last(t)
	if got.Code != CodeUnknownTransport || got.Context["transport"] != "websocket" {
		t.Errorf("got %+v, want code %d for transport websocket", got, CodeUnknownTransport)
	}
}

// TestOnHeaders: the callback's headers go out on the handshake (initial)
// and on every later response of the session, polling and the 101 of a
// WebSocket alike; refused requests do not reach it, and a panicking
// callback leaves the answer as it was.
func TestOnHeaders(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.CloseTimeout = 500 * time.Millisecond
	srv := NewServer(cfg)
	var calls atomic.Int32
	srv.OnHeaders(func(c fiber.Ctx, initial bool) {
		calls.Add(1)
		c.Set("X-Every", "1")
		if initial {
			c.Cookie(&fiber.Cookie{Name: "uid", Value: "1234", SameSite: "Strict"})
		}
	})
	ts := startServer(t, srv, nil)
	check := func(what string, h http.Header, initial bool) {
		t.Helper()
		if h.Get("X-Every") != "1" {
			t.Errorf("%s: no X-Every header", what)
		}
		if got := strings.Contains(strings.Join(h.Values("Set-Cookie"), ";"), "uid=1234"); got != initial {
			t.Errorf("%s: uid cookie %v, want %v (%q)", what, got, initial, h.Values("Set-Cookie"))
		}
	}
	get := func(url string) http.Header {
		t.Helper()
		resp, err := rawHTTP.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.Header
	}

	// Polling: the handshake, a POST, a GET.
	resp, err := rawHTTP.Get(ts.eioURL("transport=polling"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	check("polling handshake", resp.Header, true)
	sid := parseOpen(t, string(body)).SID
	req, _ := http.NewRequest(http.MethodPost, ts.pollURL(sid), strings.NewReader("40"))
	presp, err := rawHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = presp.Body.Close()
	check("polling POST", presp.Header, false)
	check("polling GET", get(ts.pollURL(sid)), false)

	// The upgrade of that session, then a session opened on a WebSocket.
	uc, uresp, err := dialURL(ts.url, "EIO=4&transport=websocket&sid="+sid)
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	check("upgrade 101", uresp.Header, false)
	wc, wresp, err := dialURL(ts.url, "EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	check("websocket handshake 101", wresp.Header, true)

	before := calls.Load()
	if h := get(ts.eioURL("transport=polling&sid=nosuchsession")); h.Get("X-Every") != "" || calls.Load() != before {
		t.Error("a refused request reached the callback")
	}
	srv.OnHeaders(func(fiber.Ctx, bool) { panic("callback bug") })
	openPolling(t, ts)
}
