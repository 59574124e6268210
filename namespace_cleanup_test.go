package socketio

import (
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// namespaceNames returns the names of the namespaces the server holds.
func namespaceNames(s *Server) []string {
	var names []string
	s.nsps.byName.Range(func(k, _ any) bool {
		names = append(names, k.(string))
		return true
	})
	return names
}

// echoOnlyServer is a server whose "echo" acks its arguments, with
// nothing else listening (the echoServer's disconnect channel would fill).
func echoOnlyServer(t *testing.T, cfg Config) *testServer {
	srv := NewServer(cfg)
	srv.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
	return startServer(t, srv, nil)
}

// connectNsp connects w's session to nsp and returns the socket id.
func connectNsp(w *wsClient, nsp string) string {
	w.t.Helper()
	w.send("40" + nsp + ",")
	return connectReplySID(w.t, w.read(), nsp)
}

// TestUndeclaredNamespacesRemoved: while no namespace is declared, a
// client may connect to any name; each such namespace lives while it has
// sockets, so a client cannot make the server keep any number of them.
// One connected to again later works as new.
func TestUndeclaredNamespacesRemoved(t *testing.T) {
	t.Parallel()
	ts := echoOnlyServer(t, testConfig())
	w, _ := connectWS(t, ts)
	const n = 200
	for i := 0; i < n; i++ {
		connectNsp(w, "/n"+strconv.Itoa(i))
	}
	if got := len(namespaceNames(ts.srv)); got != n+1 {
		t.Fatalf("%d namespaces with %d connected, want %d", got, n, n+1)
	}
	for i := 0; i < n; i++ {
		w.send("41/n" + strconv.Itoa(i) + ",")
	}
	w.roundTrip("after the disconnects") // the reader handled them all
	waitFor(t, "the empty namespaces to be removed", func() bool { return len(namespaceNames(ts.srv)) == 1 })
	if names := namespaceNames(ts.srv); names[0] != "/" {
		t.Fatalf("namespaces left: %q", names)
	}
	connectNsp(w, "/n7")
	w.send(`42/n7,1["echo","again"]`)
	w.expect(`43/n7,1["again"]`)
	// A transport that fails takes its sockets and their namespaces.
	w.reset()
	waitFor(t, "the namespace of a lost session to be removed", func() bool { return len(namespaceNames(ts.srv)) == 1 })
}

// TestEphemeralNamespaceChurn: clients connecting to and leaving the same
// undeclared namespace concurrently, so that it is removed and made again
// while others join it, always end up in the namespace the server serves:
// a broadcast to it reaches each of them.
func TestEphemeralNamespaceChurn(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	var removals atomic.Int32
	srv.SetAdapter(func(h AdapterHost) Adapter {
		return closeCounter{Adapter: NewMemoryAdapter(h), closed: &removals}
	})
	ts := startServer(t, srv, nil)
	const clients, rounds = 4, 100
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		w, _ := connectWS(t, ts)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				w.send("40/churn,")
				if _, err := w.nextText(); err != nil {
					t.Error(err)
					return
				}
				w.send("41/churn,")
			}
			w.send("40/churn,")
			if _, err := w.nextText(); err != nil {
				t.Error(err)
			}
		}()
		t.Cleanup(func() { _ = w.c.Close() })
		defer func() {
			// Every client, connected at the end, gets the broadcast.
			if t.Failed() {
				return
			}
			if got, err := w.nextText(); err != nil || string(got) != `42/churn,["all"]` {
				t.Errorf("client %d: %q, %v; want the broadcast", c, got, err)
			}
		}()
	}
	wg.Wait()
	// Usually several; the clients may also happen to overlap throughout.
	t.Logf("the namespace was removed %d times", removals.Load())
	if err := ts.srv.Of("/churn").Emit("all"); err != nil {
		t.Fatal(err)
	}
}

// TestDynamicChildCleanup: with CleanupEmptyChildNamespaces, a child of
// OfRegexp is removed (its adapter closed) when its last socket leaves;
// without it, the child stays.
func TestDynamicChildCleanup(t *testing.T) {
	t.Parallel()
	for _, cleanup := range []bool{true, false} {
		t.Run("cleanup="+strconv.FormatBool(cleanup), func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.CleanupEmptyChildNamespaces = cleanup
			srv := NewServer(cfg)
			var closed atomic.Int32
			srv.SetAdapter(func(h AdapterHost) Adapter {
				return closeCounter{Adapter: NewMemoryAdapter(h), closed: &closed}
			})
			parent := srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
			parent.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
			ts := startServerAll(t, srv)
			w, _ := connectWS(t, ts)
			a := connectNsp(w, "/dyn-1")
			b := connectNsp(w, "/dyn-2")
			parent.childMu.Lock()
			children := len(parent.children)
			parent.childMu.Unlock()
			if a == "" || b == "" || children != 2 {
				t.Fatalf("children %d", children)
			}
			w.send("41/dyn-1,")
			w.send(`42/dyn-2,1["echo","x"]`)
			w.expect(`43/dyn-2,1["x"]`)
			want := 1
			if !cleanup {
				want = 2
			}
			waitFor(t, "the child namespaces", func() bool {
				parent.childMu.Lock()
				defer parent.childMu.Unlock()
				return len(parent.children) == want
			})
			if _, ok := srv.nsps.byName.Load("/dyn-1"); ok == cleanup {
				t.Errorf("/dyn-1 held: %v, want %v", ok, !cleanup)
			}
			if got := closed.Load(); got != int32(2-want) {
				t.Errorf("%d adapters closed, want %d", got, 2-want)
			}
			// Connecting again works, to a new child when it was removed.
			connectNsp(w, "/dyn-1")
			w.send(`42/dyn-1,2["echo","y"]`)
			w.expect(`43/dyn-1,2["y"]`)
		})
	}
}

// closeCounter is an adapter that counts its Close calls.
type closeCounter struct {
	Adapter
	closed *atomic.Int32
}

func (c closeCounter) Close() error {
	c.closed.Add(1)
	return c.Adapter.Close()
}

// TestDeclaredNamespaceKept: a namespace made for a client and then
// declared with Of is kept when its sockets leave.
func TestDeclaredNamespaceKept(t *testing.T) {
	t.Parallel()
	ts := echoOnlyServer(t, testConfig())
	w, _ := connectWS(t, ts)
	connectNsp(w, "/kept")
	nsp := ts.srv.Of("/kept")
	w.send("41/kept,")
	w.roundTrip("after the disconnect")
	time.Sleep(50 * time.Millisecond)
	if v, ok := ts.srv.nsps.byName.Load("/kept"); !ok || v.(*Namespace) != nsp {
		t.Fatal("a declared namespace was removed")
	}
}

// TestEphemeralNamespaceRecovery: the namespace of a lost socket stays
// while connection-state recovery holds the socket's buffer, so the real
// client reconnecting to it recovers its session (an undeclared
// namespace, which is removed once nothing holds it); it goes once the
// client has left.
func TestEphemeralNamespaceRecovery(t *testing.T) {
	t.Parallel()
	srv := NewServer(recoveryConfig(RecoveryConfig{}))
	srv.On("ready", func(ep *EventPayload) {
		ep.Kws.EmitArgs("ev", []byte("0"))
	})
	srv.On("finish", func(ep *EventPayload) { ep.Kws.EmitArgs("done") })
	ts := startServerAll(t, srv)
	res := runNode(t, ts.url+"/room", `
const socket = io(URL, { transports: ["websocket"], reconnectionDelay: 300, reconnectionDelayMax: 300, randomizationFactor: 0 });
const connects = [];
socket.on("ev", () => setTimeout(() => socket.io.engine.close(), 20));
socket.on("connect", () => {
  connects.push(socket.recovered);
  socket.emit(connects.length === 1 ? "ready" : "finish");
});
socket.on("done", () => { out({ connects }); socket.disconnect(); setTimeout(() => process.exit(0), 50); });
socket.on("connect_error", (e) => fail("connect_error " + e.message));
`, 15*time.Second)
	if !res.has(`{"connects":[false,true]}`) {
		t.Fatalf("client output %q, want a recovered second connect", res.lines)
	}
	waitFor(t, "the namespace to be removed", func() bool {
		_, ok := srv.nsps.byName.Load("/room")
		return !ok
	})
}

// TestConnectToNamespaceRemovedMeanwhile: a CONNECT that found an
// ephemeral namespace which is removed before it takes its reference (its
// last socket left in between) gets a new namespace, the one the server
// serves, not the removed one.
func TestConnectToNamespaceRemovedMeanwhile(t *testing.T) {
	// Not parallel: the hook is package state.
	srv := NewServer(testConfig())
	n, ref := srv.connectNamespace("/gone", nil)
	if n == nil || !ref {
		t.Fatalf("connectNamespace: %v, %v", n, ref)
	}
	var once sync.Once
	testHookEphemeralLookup = func(found *Namespace) {
		once.Do(func() {
			if found != n {
				t.Errorf("looked up %p, want %p", found, n)
			}
			n.release() // the last reference: n is removed
		})
	}
	defer func() { testHookEphemeralLookup = nil }()
	got, ref := srv.connectNamespace("/gone", nil)
	if got == n || !ref {
		t.Fatalf("got the removed namespace (%v) or no reference (%v)", got == n, ref)
	}
	if v, ok := srv.nsps.byName.Load("/gone"); !ok || v.(*Namespace) != got {
		t.Fatal("the namespace returned is not the one the server serves")
	}
	got.release()
	if _, ok := srv.nsps.byName.Load("/gone"); ok {
		t.Fatal("the namespace outlived its last reference")
	}
}
