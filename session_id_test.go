package socketio

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
)

// GenerateID gives sessions the ids it returns, on both transports, to
// the real client too; an id in use, malformed or from a panic refuses
// that handshake alone.
func TestGenerateID(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) {
		c.GenerateID = func(c fiber.Ctx) string {
			switch u := c.Query("u"); u {
			case "panic":
				panic("generator bug")
			case "":
				return "anon"
			default:
				return "user-" + u
			}
		}
	})
	ts := es.testServer
	status, body := mustHTTP(t, http.MethodGet, ts.eioURL("transport=polling&u=ann"), "")
	if h := parseOpen(t, body); status != http.StatusOK || h.SID != "user-ann" {
		t.Fatalf("polling handshake: %d %q", status, body)
	}
	for query, why := range map[string]string{
		"u=ann":                         "in use",
		"u=a%22b":                       "a quote",
		"u=panic":                       "a panic",
		"u=" + strings.Repeat("x", 200): "too long",
	} {
		status, body := mustHTTP(t, http.MethodGet, ts.eioURL("transport=polling&"+query), "")
		if status != http.StatusBadRequest || !strings.Contains(body, `"code":3`) {
			t.Errorf("%s: %d %q, want 400 Bad request", why, status, body)
		}
	}
	w, _, err := dialURL(ts.url, "EIO=4&transport=websocket&u=bob")
	if err != nil {
		t.Fatal(err)
	}
	c := &wsClient{t: t, c: w}
	if h := parseOpen(t, c.read()); h.SID != "user-bob" {
		t.Errorf("websocket handshake: sid %q", h.SID)
	}
	_ = w.Close()

	for _, tr := range transports {
		res := runNode(t, ts.url, `
const s = io(URL, { `+tr.opts+`, query: { u: "node-`+tr.name+`" }, reconnection: false });
s.on("connect_error", (e) => fail(e.message));
s.on("connect", () => s.emit("echo", "x", () => { out({ id: s.io.engine.id }); s.close(); }));
`, 10*time.Second)
		if want := `{"id":"user-node-` + tr.name + `"}`; !res.has(want) {
			t.Errorf("%s: %q, want %s", tr.name, res.lines, want)
		}
	}
}
