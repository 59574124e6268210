package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/cors"
)

func TestMatchOrigin(t *testing.T) {
	cases := []struct {
		pattern, origin string
		want            bool
	}{
		{"*", "https://any.example", true},
		{"https://app.example.com", "https://app.example.com", true},
		{"https://app.example.com", "HTTPS://APP.EXAMPLE.COM", true},
		{"https://app.example.com", "http://app.example.com", false},
		{"https://app.example.com", "https://app.example.com.evil.io", false},
		{"https://*.example.com", "https://a.example.com", true},
		{"https://*.example.com", "https://a.b.example.com", true},
		{"https://*.example.com", "https://example.com", false},
		{"https://*.example.com", "https://evilexample.com", false},
		{"https://*.example.com", "http://a.example.com", false},
		{"https://*.example.com", "https://a.example.com.evil.io", false},
		{"https://*.example.com", "https://evil.io/.example.com", false},
		{"https://*.example.com", "https://user@x.example.com", false},
		{"https://*.example.com:8443", "https://a.example.com:8443", true},
		{"https://*.example.com:8443", "https://a.example.com", false},
	}
	for _, c := range cases {
		if got := matchOrigin(c.pattern, c.origin); got != c.want {
			t.Errorf("matchOrigin(%q, %q) = %v, want %v", c.pattern, c.origin, got, c.want)
		}
	}
	cfg := CORSConfig{AllowOrigins: []string{"https://app.example.com"}}
	if !cfg.originAllowed("", "srv.example.com") {
		t.Error("a request without Origin must be allowed")
	}
	if !cfg.originAllowed("https://srv.example.com:3000", "srv.example.com:3000") {
		t.Error("a same-origin request must be allowed")
	}
	if cfg.originAllowed("https://evil.io", "srv.example.com") {
		t.Error("an unlisted origin must be refused")
	}
	if !(&CORSConfig{}).originAllowed("https://evil.io", "srv") {
		t.Error("without an allow-list every origin is accepted (the Node default)")
	}
}

// corsServer starts a server with an allow-list for https://app.example.
func corsServer(t *testing.T, mutate func(*Config)) *testServer {
	cfg := testConfig()
	cfg.CORS = CORSConfig{AllowOrigins: []string{"https://app.example"}, AllowCredentials: true}
	if mutate != nil {
		mutate(&cfg)
	}
	return startServer(t, NewServer(cfg), nil)
}

func do(t *testing.T, method, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func TestCORSPolling(t *testing.T) {
	t.Parallel()
	ts := corsServer(t, nil)
	url := ts.url + "/socket.io/?EIO=4&transport=polling"

	// Preflight for a request carrying Authorization: the header is listed
	// by name, never covered by a wildcard.
	resp, _ := do(t, http.MethodOptions, url, map[string]string{
		"Origin":                         "https://app.example",
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "authorization, x-custom",
	})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("preflight status %d", resp.StatusCode)
	}
	want := map[string]string{
		"Access-Control-Allow-Origin":      "https://app.example",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Headers":     "authorization, x-custom",
		"Access-Control-Allow-Methods":     "GET, POST, OPTIONS",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("preflight %s = %q, want %q", k, got, v)
		}
	}

	// The handshake from an allowed origin carries the headers.
	resp, body := do(t, http.MethodGet, url, map[string]string{"Origin": "https://app.example"})
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "0{") {
		t.Fatalf("handshake: %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || !strings.Contains(resp.Header.Get("Vary"), "Origin") {
		t.Errorf("handshake CORS headers: %v", resp.Header)
	}

	// A refused origin gets 403 naming the origin and the setting.
	resp, body = do(t, http.MethodGet, url, map[string]string{"Origin": "https://evil.example"})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("refused origin: status %d", resp.StatusCode)
	}
	var e struct {
		Code   int
		Reason string
	}
	_ = json.Unmarshal([]byte(body), &e)
	if e.Code != codeForbidden || !strings.Contains(e.Reason, "https://evil.example") || !strings.Contains(e.Reason, "AllowOrigins") {
		t.Errorf("refusal body %q", body)
	}

	// Clients without Origin (servers, mobile) are accepted.
	if resp, _ := do(t, http.MethodGet, url, nil); resp.StatusCode != 200 {
		t.Errorf("no-Origin handshake: %d", resp.StatusCode)
	}
}

func TestCORSWebSocketUpgrade(t *testing.T) {
	t.Parallel()
	ts := corsServer(t, nil)
	wsURL := "ws" + strings.TrimPrefix(ts.url, "http") + "/socket.io/?EIO=4&transport=websocket"
	_, resp, err := fws.DefaultDialer.Dial(wsURL, http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("refused origin over websocket: err=%v resp=%v", err, resp)
	}
	conn, _, err := fws.DefaultDialer.Dial(wsURL, http.Header{"Origin": {"https://app.example"}})
	if err != nil {
		t.Fatalf("allowed origin over websocket: %v", err)
	}
	_, msg, err := conn.ReadMessage()
	conn.Close()
	if err != nil || !strings.HasPrefix(string(msg), "0{") {
		t.Fatalf("open packet: %q %v", msg, err)
	}
}

func TestAllowRequestAndCookie(t *testing.T) {
	t.Parallel()
	ts := corsServer(t, func(c *Config) {
		c.AllowRequest = func(ctx fiber.Ctx) error {
			if ctx.Get("Authorization") != "Bearer good" {
				return errors.New("missing or bad token")
			}
			return nil
		}
		c.Cookie = &CookieConfig{HTTPOnly: true}
	})
	url := ts.url + "/socket.io/?EIO=4&transport=polling"
	resp, body := do(t, http.MethodGet, url, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "missing or bad token") {
		t.Fatalf("refused handshake: %d %q", resp.StatusCode, body)
	}
	resp, body = do(t, http.MethodGet, url, map[string]string{"Authorization": "Bearer good"})
	if resp.StatusCode != 200 {
		t.Fatalf("accepted handshake: %d %q", resp.StatusCode, body)
	}
	var open struct{ SID string }
	_ = json.Unmarshal([]byte(body[1:]), &open)
	ck := resp.Header.Get("Set-Cookie")
	if !strings.HasPrefix(ck, "io="+open.SID) || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Lax") || !strings.Contains(ck, "Path=/") {
		t.Errorf("sticky cookie %q for sid %q", ck, open.SID)
	}

	wsURL := "ws" + strings.TrimPrefix(ts.url, "http") + "/socket.io/?EIO=4&transport=websocket"
	if _, resp, err := fws.DefaultDialer.Dial(wsURL, nil); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("websocket handshake without token must be refused: %v", err)
	}
	conn, resp, err := fws.DefaultDialer.Dial(wsURL, http.Header{"Authorization": {"Bearer good"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, msg, _ := conn.ReadMessage()
	_ = json.Unmarshal(msg[1:], &open)
	if ck := resp.Header.Get("Set-Cookie"); !strings.HasPrefix(ck, "io="+open.SID) {
		t.Errorf("websocket handshake cookie %q for sid %q", ck, open.SID)
	}
}

// TestBehindFiberCORSMiddleware checks the other documented way: the
// server's own policy left empty and Fiber's cors middleware in front.
func TestBehindFiberCORSMiddleware(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	app := fiber.New()
	app.Use(cors.New(cors.Config{
		AllowOrigins:     []string{"https://app.example"},
		AllowCredentials: true,
		AllowHeaders:     []string{"Authorization", "Content-Type"},
	}))
	h := srv.Handler(nil)
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)
	app.Options("/socket.io/", h)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		_ = app.ShutdownWithTimeout(5 * time.Second)
	})
	url := "http://" + ln.Addr().String() + "/socket.io/?EIO=4&transport=polling"

	resp, _ := do(t, http.MethodOptions, url, map[string]string{
		"Origin":                         "https://app.example",
		"Access-Control-Request-Method":  "GET",
		"Access-Control-Request-Headers": "authorization",
	})
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("preflight through the cors middleware: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body := do(t, http.MethodGet, url, map[string]string{"Origin": "https://app.example", "Authorization": "Bearer x"})
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "0{") ||
		resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("handshake through the cors middleware: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	var open struct{ SID string }
	_ = json.Unmarshal([]byte(body[1:]), &open)
	// Close the session so Shutdown need not wait for it.
	if status, body, err := httpDo(context.Background(), http.MethodPost, url+"&sid="+open.SID, "1"); err != nil || status != http.StatusOK {
		t.Errorf("close POST: %d %q %v", status, body, err)
	}
}

// FuzzMatchOrigin checks the origin matcher's invariants: an entry always
// matches itself, and a subdomain wildcard only ever matches origins of its
// scheme that end in its suffix with a non-empty, plain subdomain.
func FuzzMatchOrigin(f *testing.F) {
	f.Add("https://*.example.com", "https://a.example.com")
	f.Add("https://*.example.com", "https://evil.io/.example.com")
	f.Add("http://a.b", "HTTP://A.B")
	f.Add("*", "")
	f.Fuzz(func(t *testing.T, pattern, origin string) {
		if !matchOrigin(pattern, pattern) {
			t.Fatalf("%q does not match itself", pattern)
		}
		i := strings.Index(pattern, "://*.")
		if i < 0 || !matchOrigin(pattern, origin) || strings.EqualFold(pattern, origin) {
			return
		}
		scheme, suffix := strings.ToLower(pattern[:i+3]), strings.ToLower(pattern[i+4:])
		lo := strings.ToLower(origin)
		if !strings.HasPrefix(lo, scheme) || !strings.HasSuffix(lo, suffix) {
			t.Fatalf("%q matched %q outside its scheme or suffix", pattern, origin)
		}
		sub := lo[len(scheme) : len(lo)-len(suffix)]
		if sub == "" || strings.ContainsAny(sub, "/:@?#") {
			t.Fatalf("%q matched %q with subdomain %q", pattern, origin, sub)
		}
	})
}
