package socketio

import (
	"testing"
	"time"
)

// TestClientsAndSocketsCount: ClientsCount counts Engine.IO sessions on
// both transports, SocketsCount the sockets of each namespace (Sockets
// lists them, Socket finds each by its id); both go down as clients
// leave, a session with two namespaces counting once.
func TestClientsAndSocketsCount(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.CloseTimeout = 500 * time.Millisecond
	srv := NewServer(cfg)
	admin := srv.Of("/admin")
	main := srv.Of("/")
	ts := startServer(t, srv, nil)
	if srv.ClientsCount() != 0 || main.SocketsCount() != 0 {
		t.Fatalf("before any client: %d clients, %d sockets", srv.ClientsCount(), main.SocketsCount())
	}
	a, _ := connectWS(t, ts)
	b, _ := connectWS(t, ts)
	b.send("40/admin,")
	connectReplySID(t, b.read(), "/admin")
	sid, _ := connectPolling(t, ts)
	check := func(clients, onMain, onAdmin int) {
		t.Helper()
		waitFor(t, "the counts", func() bool {
			return srv.ClientsCount() == clients && main.SocketsCount() == onMain && admin.SocketsCount() == onAdmin
		})
	}
	check(3, 3, 1)
	// The sockets themselves, by the ids the clients know.
	if got := admin.Sockets(); len(got) != 1 || admin.Socket(got[0].id) != got[0] || admin.Socket("nope") != nil {
		t.Errorf("/admin's sockets: %v", got)
	}
	ids := map[string]bool{}
	for _, kws := range main.Sockets() {
		if main.Socket(kws.id) == kws {
			ids[kws.id] = true
		}
	}
	if len(ids) != 3 {
		t.Errorf("/'s sockets found by their ids: %v", ids)
	}
	b.send("41/admin,") // b leaves /admin, keeps its session
	check(3, 3, 0)
	_ = a.c.Close()
	check(2, 2, 0)
	mustHTTP(t, "POST", ts.pollURL(sid), "1") // the polling client closes
	check(1, 1, 0)
	_ = b.c.Close()
	check(0, 0, 0)
}
