package socketio

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestWebSocketHandshakeInFetchSockets: the Handshake of a socket whose
// session started on WebSocket lists the upgrade request's headers (names
// lower-cased) and query, as Node's socket.handshake does.
func TestWebSocketHandshakeInFetchSockets(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	ts := startServer(t, srv, nil)
	u := "ws" + ts.url[len("http"):] + "/socket.io/?EIO=4&transport=websocket&user=ann"
	_, id := connectWSURL(t, u, http.Header{"X-User": {"ann"}, "Origin": {"http://app.example"}})
	socks, err := srv.FetchSockets()
	if err != nil || len(socks) != 1 || socks[0].ID != id {
		t.Fatalf("FetchSockets: %+v, %v", socks, err)
	}
	hs := socks[0].Handshake
	if hs.Headers["x-user"] != "ann" || hs.Headers["origin"] != "http://app.example" || !hs.XDomain ||
		hs.Query["user"] != "ann" || hs.Query["transport"] != "websocket" {
		t.Errorf("handshake headers %v, query %v, xdomain %v", hs.Headers, hs.Query, hs.XDomain)
	}
	if hs.URL != "/socket.io/?EIO=4&transport=websocket&user=ann" || hs.Secure {
		t.Errorf("handshake url %q, secure %v", hs.URL, hs.Secure)
	}
}

// TestHandshake: Websocket.Handshake of a polling session and of a
// WebSocket one, from the real client, and Disconnect(true) ending every
// namespace of the connection.
func TestHandshake(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	srv.Of("/admin")
	srv.On("hs", func(ep *EventPayload) {
		hs := ep.Kws.Handshake()
		b, _ := json.Marshal(map[string]any{"url": hs.URL, "q": hs.Query["k"], "auth": hs.Auth, "secure": hs.Secure, "addr": hs.Address, "h": hs.Headers["x-app"]})
		_ = ep.Ack(b)
	})
	srv.On("bye", func(ep *EventPayload) { ep.Kws.Disconnect(true) })
	ts := startServer(t, srv, nil)
	res := runNode(t, ts.url, `
(async () => {
  for (const transports of [["polling"], ["websocket"]]) {
    const opts = { transports, forceNew: true, query: { k: "v" }, auth: { t: 1 }, extraHeaders: { "x-app": "a1" } };
    const s = io(URL, opts);
    const m = s.io.socket("/admin");
    await Promise.all([new Promise((r) => s.on("connect", r)), new Promise((r) => m.on("connect", r))]);
    const hs = await s.emitWithAck("hs");
    out({ transport: transports[0], url: hs.url.split("&t=")[0], q: hs.q, auth: hs.auth, secure: hs.secure, addr: hs.addr, h: hs.h });
    const reasons = Promise.all([new Promise((r) => s.on("disconnect", r)), new Promise((r) => m.on("disconnect", r))]);
    s.emit("bye");
    out({ transport: transports[0], reasons: await reasons });
    s.close();
  }
})();
`, 15*time.Second)
	for _, want := range []string{
		`{"transport":"polling","url":"/socket.io/?k=v&EIO=4&transport=polling","q":"v","auth":{"t":1},"secure":false,"addr":"127.0.0.1","h":"a1"}`,
		`{"transport":"websocket","url":"/socket.io/?k=v&EIO=4&transport=websocket","q":"v","auth":{"t":1},"secure":false,"addr":"127.0.0.1","h":"a1"}`,
		`{"transport":"polling","reasons":["io server disconnect","io server disconnect"]}`,
		`{"transport":"websocket","reasons":["io server disconnect","io server disconnect"]}`,
	} {
		if !res.has(want) {
			t.Errorf("client output lacks %s; got %q", want, res.lines)
		}
	}
}
