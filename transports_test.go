package socketio

// Transports and AllowUpgrades, as Node's transports and allowUpgrades
// options: raw requests check the Engine.IO answers, the real client
// checks that it connects and stays on what it was allowed.

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// refusedTransport checks that an HTTP request for query is answered with
// the Engine.IO error "Transport unknown".
func refusedTransport(t *testing.T, ts *testServer, query string, header http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.eioURL(query), nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	body.Write(buf[:n])
	if resp.StatusCode != http.StatusBadRequest || body.String() != `{"code":0,"message":"Transport unknown"}` {
		t.Errorf("%s: status %d, body %q, want 400 Transport unknown", query, resp.StatusCode, body.String())
	}
}

// wsUpgradeHeader is what a WebSocket handshake request carries.
var wsUpgradeHeader = http.Header{
	"Connection":            {"Upgrade"},
	"Upgrade":               {"websocket"},
	"Sec-Websocket-Version": {"13"},
	"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
}

// clientTransportScript connects the real client with the options opts,
// emits an echo with ack, waits a second (time enough for an upgrade) and
// prints the transport it ends on.
const clientTransportScript = `
const s = io(URL, OPTS);
s.on("connect_error", (e) => { out({ connectError: e.message }); process.exit(0); });
s.on("connect", () => {
  s.emit("echo", "x", (v) => {
    out({ echoed: v });
    setTimeout(() => { out({ transport: s.io.engine.transport.name }); s.close(); }, 1000);
  });
});
`

func runClientTransport(t *testing.T, ts *testServer, opts string) nodeResult {
	t.Helper()
	return runNode(t, ts.url, strings.Replace(clientTransportScript, "OPTS", opts, 1), 15*time.Second)
}

func TestTransportsPollingOnly(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) { c.Transports = []string{"polling"} })
	ts := es.testServer
	refusedTransport(t, ts, "transport=websocket", wsUpgradeHeader)
	sid := openPolling(t, ts)
	refusedTransport(t, ts, "transport=websocket&sid="+sid, wsUpgradeHeader)
	status, body := mustHTTP(t, http.MethodGet, ts.eioURL("transport=polling"), "")
	if h := parseOpen(t, body); status != http.StatusOK || !reflect.DeepEqual(h.Upgrades, []string{}) {
		t.Errorf("polling OPEN with Transports=[polling]: status %d, upgrades %q, want []", status, h.Upgrades)
	}

	res := runClientTransport(t, ts, `{}`)
	if !res.has(`{"echoed":"x"}`) || !res.has(`{"transport":"polling"}`) {
		t.Errorf("default client: got %q, want the echo and to stay on polling", res.lines)
	}
	res = runClientTransport(t, ts, `{ transports: ["websocket"] }`)
	if !res.has(`{"connectError":"websocket error"}`) {
		t.Errorf("websocket-only client: got %q, want a connect_error", res.lines)
	}
}

func TestTransportsWebSocketOnly(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) { c.Transports = []string{"websocket"} })
	ts := es.testServer
	refusedTransport(t, ts, "transport=polling", nil)
	w, _ := connectWS(t, ts)
	w.roundTrip("websocket served")

	res := runClientTransport(t, ts, `{ transports: ["websocket"] }`)
	if !res.has(`{"echoed":"x"}`) || !res.has(`{"transport":"websocket"}`) {
		t.Errorf("websocket client: got %q", res.lines)
	}
	res = runClientTransport(t, ts, `{ transports: ["polling"] }`)
	if !res.has(`{"connectError":"xhr poll error"}`) {
		t.Errorf("polling-only client: got %q, want a connect_error", res.lines)
	}
}

func TestAllowUpgradesFalse(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) { c.DisableUpgrades = true })
	ts := es.testServer
	status, body := mustHTTP(t, http.MethodGet, ts.eioURL("transport=polling"), "")
	if h := parseOpen(t, body); status != http.StatusOK || !reflect.DeepEqual(h.Upgrades, []string{}) {
		t.Errorf("polling OPEN with AllowUpgrades=false: status %d, upgrades %q, want []", status, h.Upgrades)
	}
	// An upgrade asked for anyway is accepted and closed at once; the
	// session goes on on polling.
	sid, _ := connectPolling(t, ts)
	w := dialWS(t, ts, "&sid="+sid)
	w.send("2probe")
	if seen := w.expectClosed(); len(seen) > 0 {
		t.Errorf("refused upgrade got %q", seen)
	}
	post(t, ts, sid, `421["echo","p"]`)
	get(t, ts, sid, `431["p"]`)
	// A session that starts on WebSocket is still served.
	ws, _ := connectWS(t, ts)
	ws.roundTrip("websocket handshake")

	res := runClientTransport(t, ts, `{}`)
	if !res.has(`{"echoed":"x"}`) || !res.has(`{"transport":"polling"}`) {
		t.Errorf("default client: got %q, want the echo and to stay on polling", res.lines)
	}
}

// TestTransportsDefault: the defaults serve both transports and advertise
// the upgrade; an unknown transport is refused.
func TestTransportsDefault(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	if !reflect.DeepEqual(cfg.Transports, []string{"polling", "websocket"}) || cfg.DisableUpgrades {
		t.Fatalf("DefaultConfig: Transports %q, DisableUpgrades %v", cfg.Transports, cfg.DisableUpgrades)
	}
	es := newEchoServer(t, nil)
	ts := es.testServer
	refusedTransport(t, ts, "transport=flashsocket", nil)
	status, body := mustHTTP(t, http.MethodGet, ts.eioURL("transport=polling"), "")
	if h := parseOpen(t, body); status != http.StatusOK || !reflect.DeepEqual(h.Upgrades, []string{"websocket"}) {
		t.Errorf("polling OPEN: status %d, upgrades %q, want [websocket]", status, h.Upgrades)
	}
	res := runClientTransport(t, ts, `{}`)
	if !res.has(`{"echoed":"x"}`) || !res.has(`{"transport":"websocket"}`) {
		t.Errorf("default client: got %q, want the echo and the upgrade", res.lines)
	}
}

// TestUpgradeEvent: EventUpgrade fires on every socket of a session when
// it moves to WebSocket, after which IsPolling is false; a client event
// named "upgrade" does not reach its listeners.
func TestUpgradeEvent(t *testing.T) {
	t.Parallel()
	srv := NewServer(quickConfig())
	srv.Of("/admin")
	upgraded := make(chan string, 8)
	srv.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
	srv.On(EventUpgrade, func(ep *EventPayload) {
		if ep.Kws.IsPolling() {
			t.Errorf("EventUpgrade on %s while IsPolling", ep.Kws.Namespace())
		}
		upgraded <- ep.Kws.Namespace()
	})
	ts := startServer(t, srv, nil)
	expect := func(want ...string) {
		t.Helper()
		got := map[string]int{}
		for range want {
			select {
			case n := <-upgraded:
				got[n]++
			case <-time.After(5 * time.Second):
				t.Fatalf("EventUpgrade seen on %v, want %v", got, want)
			}
		}
		for _, n := range want {
			if got[n] != 1 {
				t.Errorf("EventUpgrade on %v, want once on each of %v", got, want)
			}
		}
		select {
		case n := <-upgraded:
			t.Errorf("extra EventUpgrade on %s", n)
		case <-time.After(200 * time.Millisecond):
		}
	}

	// A session with two namespaces connected, upgraded by hand.
	sid, _ := connectPolling(t, ts)
	post(t, ts, sid, "40/admin,")
	if status, body := mustHTTP(t, http.MethodGet, ts.pollURL(sid), ""); status != http.StatusOK || !strings.HasPrefix(body, "40/admin,") {
		t.Fatalf("CONNECT /admin: status %d, body %q", status, body)
	}
	w := dialWS(t, ts, "&sid="+sid)
	w.send("2probe")
	w.expect("3probe")
	w.send("5")
	w.roundTrip("upgraded")
	expect("/", "/admin")

	// The real client, which emits "upgrade" once upgraded.
	res := runNode(t, ts.url, `
const s = io(URL, { forceNew: true });
s.io.engine.on("upgrade", () => {
  s.emit("upgrade");
  s.emit("echo", 1, () => { out({ transport: s.io.engine.transport.name }); s.close(); });
});
`, 15*time.Second)
	if !res.has(`{"transport":"websocket"}`) {
		t.Fatalf("client output %q", res.lines)
	}
	expect("/")
}
