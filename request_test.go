package socketio

import (
	"net/http"
	"strconv"
	"testing"
)

// TestWebSocketRequestOutlivesUpgrade: a WebSocket session's request
// accessors (Query, Header, Cookies, and those of kws.Conn) keep answering
// for its own request after the websocket middleware has let go of the
// connection it handed over, while other clients connect after it: the
// middleware recycles its *websocket.Conn for the next upgrade once its
// handler returns, which is before the session ends.
func TestWebSocketRequestOutlivesUpgrade(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	srv.On("who", func(ep *EventPayload) {
		k := ep.Kws
		reply := `"` + k.Query("user") + `","` + k.Header("X-User") + `","` + k.Cookies("c") + `","` +
			k.Conn.Query("user") + `","` + k.Conn.Headers("X-User") + `"`
		_ = ep.Ack([]byte(`[` + reply + `]`))
	})
	ts := startServer(t, srv, nil)
	const n = 6
	clients := make([]*wsClient, n)
	for i := range clients {
		user := "user" + strconv.Itoa(i)
		h := http.Header{"X-User": {user}, "Cookie": {"c=" + user}}
		u := "ws" + ts.url[len("http"):] + "/socket.io/?EIO=4&transport=websocket&user=" + user
		c, _, err := wsDialer.Dial(u, h)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		w := &wsClient{t: t, c: c}
		parseOpen(t, w.read())
		w.send("40")
		connectReplySID(t, w.read(), "/")
		clients[i] = w
	}
	for i, w := range clients {
		user := "user" + strconv.Itoa(i)
		w.send(`421["who"]`)
		w.expect(`431[["` + user + `","` + user + `","` + user + `","` + user + `","` + user + `"]]`)
	}
}

// TestWebSocketHandshakeInFetchSockets: the Handshake of a socket whose
// session started on WebSocket lists the upgrade request's headers (names
// lower-cased) and query, as Node's socket.handshake does.
func TestWebSocketHandshakeInFetchSockets(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	ts := startServer(t, srv, nil)
	u := "ws" + ts.url[len("http"):] + "/socket.io/?EIO=4&transport=websocket&user=ann"
	c, _, err := wsDialer.Dial(u, http.Header{"X-User": {"ann"}, "Origin": {"http://app.example"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	w := &wsClient{t: t, c: c}
	parseOpen(t, w.read())
	w.send("40")
	id := connectReplySID(t, w.read(), "/")
	socks, err := srv.FetchSockets()
	if err != nil || len(socks) != 1 || socks[0].ID != id {
		t.Fatalf("FetchSockets: %+v, %v", socks, err)
	}
	hs := socks[0].Handshake
	if hs.Headers["x-user"] != "ann" || hs.Headers["origin"] != "http://app.example" || !hs.XDomain ||
		hs.Query["user"] != "ann" || hs.Query["transport"] != "websocket" {
		t.Errorf("handshake headers %v, query %v, xdomain %v", hs.Headers, hs.Query, hs.XDomain)
	}
}
