package socketio

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v3"
)

// clientDist is the socket.io-client bundle of the test peers.
func clientDist(t *testing.T) string {
	return filepath.Join(nodeDir(t), "node_modules", "socket.io-client", "dist")
}

// serveWithClient serves srv (with ClientFiles) on /socket.io/*.
func serveWithClient(t *testing.T, cfg Config) *testServer {
	t.Helper()
	srv := NewServer(cfg)
	srv.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
	app := fiber.New()
	h := srv.Handler(nil)
	app.Get("/socket.io/*", h)
	app.Post("/socket.io/*", h)
	app.Options("/socket.io/*", h)
	return serveApp(t, srv, app)
}

// TestServeClient: with ClientFiles, the handler serves the client's
// files as Node's serveClient does (types, ETag from the version, 304,
// gzip, the origin policy), and the Engine.IO endpoint on the same route
// still works; other names are not files.
func TestServeClient(t *testing.T) {
	t.Parallel()
	dist := clientDist(t)
	cfg := testConfig()
	cfg.ClientFiles = os.DirFS(dist)
	cfg.ClientVersion = "4.8.4"
	cfg.CORS = CORSConfig{AllowOrigins: []string{"http://app.example"}}
	ts := serveWithClient(t, cfg)
	get := func(name string, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, ts.url+"/socket.io/"+name, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	want, err := os.ReadFile(filepath.Join(dist, "socket.io.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get("socket.io.min.js")
	if resp.StatusCode != 200 || !bytes.Equal(body, want) ||
		resp.Header.Get("Content-Type") != "application/javascript; charset=utf-8" ||
		resp.Header.Get("ETag") != `"4.8.4"` || resp.Header.Get("Cache-Control") != "public, max-age=0" {
		t.Fatalf("socket.io.min.js: %d, %d bytes, headers %v", resp.StatusCode, len(body), resp.Header)
	}
	if resp, _ := get("socket.io.min.js.map"); resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("map: %v", resp.Header)
	}
	for _, etag := range []string{`"4.8.4"`, `W/"4.8.4"`} {
		if resp, body := get("socket.io.js", "If-None-Match", etag); resp.StatusCode != 304 || len(body) != 0 {
			t.Errorf("If-None-Match %s: %d, %d bytes", etag, resp.StatusCode, len(body))
		}
	}
	if resp, _ := get("socket.io.js", "If-None-Match", `"4.7.0"`); resp.StatusCode != 200 {
		t.Errorf("an older version: %d", resp.StatusCode)
	}
	resp, body = get("socket.io.min.js", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: %v", resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if unzipped, _ := io.ReadAll(zr); !bytes.Equal(unzipped, want) || len(body) >= len(want) {
		t.Errorf("gzip: %d bytes unzip to %d, want %d", len(body), len(unzipped), len(want))
	}
	if resp, _ := get("socket.io.esm.min.js", "Origin", "http://app.example"); resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "http://app.example" {
		t.Errorf("allowed origin: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := get("socket.io.esm.min.js", "Origin", "http://evil.example"); resp.StatusCode != 403 {
		t.Errorf("refused origin: %d", resp.StatusCode)
	}
	if resp, _ := get("other.js"); resp.StatusCode == 200 {
		t.Errorf("other.js: %d", resp.StatusCode)
	}
	// The endpoint on the same route.
	if _, socketID := connectPolling(t, ts); socketID == "" {
		t.Error("no socket over polling")
	}
	// Without ClientFiles, no file.
	plain := serveWithClient(t, testConfig())
	if status, _ := mustHTTP(t, http.MethodGet, plain.url+"/socket.io/socket.io.js", ""); status == 200 {
		t.Errorf("without ClientFiles: %d", status)
	}
}

// TestBrowserServedClient: a page from another origin imports the ESM
// build the server serves (a module script: fetched with CORS) and
// connects with it; a classic page loads socket.io.min.js from the server.
func TestBrowserServedClient(t *testing.T) {
	cfg := testConfig()
	cfg.ClientFiles = os.DirFS(clientDist(t))
	cfg.CORS = CORSConfig{AllowOriginFunc: func(o string) bool { return strings.HasPrefix(o, "http://127.0.0.1:") }}
	ts := serveWithClient(t, cfg)
	page := strings.ReplaceAll(`<!doctype html><script src="SERVER/socket.io/socket.io.min.js"></script>
<script type="module">
import { io as esmIO } from "SERVER/socket.io/socket.io.esm.min.js";
const r = {};
const classic = window.io("SERVER", { forceNew: true });
classic.emit("echo", "classic", (v) => { r.classic = v; done(); });
const esm = esmIO("SERVER", { forceNew: true });
esm.emit("echo", "esm", (v) => { r.esm = v; done(); });
function done() { if (r.classic && r.esm) { classic.close(); esm.close(); window.result = { classic: r.classic, esm: r.esm }; } }
</script>`, "SERVER", ts.url)
	res := runBrowser(t, servePageWith(t, page, filepath.Join("socket.io-client", "dist", "socket.io.min.js")))
	if want := `{"classic":"classic","esm":"esm"}`; len(res.lines) == 0 || res.lines[len(res.lines)-1] != want {
		t.Errorf("got %q, want %s", res.lines, want)
	}
}
