package socketio

import (
	"net/http"
	"testing"
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
}
