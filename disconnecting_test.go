package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"
)

// disconnectLog records, per socket id, the EventDisconnecting and
// EventDisconnect listeners' view: the order they ran in, the rooms each
// saw, IsAlive and the reason.
type disconnectLog struct {
	mu   sync.Mutex
	seen map[string][]disconnectSeen
}

type disconnectSeen struct {
	event string
	rooms []string
	alive bool
	err   error
}

func newDisconnectLog(on func(string, EventCallback)) *disconnectLog {
	l := &disconnectLog{seen: map[string][]disconnectSeen{}}
	for _, ev := range []string{EventDisconnecting, EventDisconnect} {
		on(ev, func(ep *EventPayload) {
			s := disconnectSeen{event: ep.Name, rooms: ep.Kws.Rooms(), alive: ep.Kws.IsAlive(), err: ep.Error}
			l.mu.Lock()
			l.seen[ep.Kws.id] = append(l.seen[ep.Kws.id], s)
			l.mu.Unlock()
		})
	}
	return l
}

func (l *disconnectLog) get(id string) []disconnectSeen {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]disconnectSeen(nil), l.seen[id]...)
}

// check asserts that id saw EventDisconnecting with rooms (its own id
// added) and reason, then EventDisconnect with no rooms.
func (l *disconnectLog) check(t *testing.T, id string, rooms []string, reason error) {
	t.Helper()
	want := append([]string{id}, rooms...)
	sort.Strings(want)
	got := l.get(id)
	if len(got) != 2 || got[0].event != EventDisconnecting || got[1].event != EventDisconnect {
		t.Fatalf("events %+v, want disconnecting then disconnect", got)
	}
	if !reflect.DeepEqual(got[0].rooms, want) {
		t.Errorf("disconnecting saw rooms %q, want %q", got[0].rooms, want)
	}
	if got[1].rooms != nil {
		t.Errorf("disconnect saw rooms %q, want none", got[1].rooms)
	}
	for _, s := range got {
		if s.alive {
			t.Errorf("%s: socket still alive", s.event)
		}
		if !errors.Is(s.err, reason) || (reason == nil && s.err != nil) {
			t.Errorf("%s: reason %v, want %v", s.event, s.err, reason)
		}
	}
}

// TestDisconnectingEveryReason: EventDisconnecting fires once, before the
// rooms are left, for every way a socket ends (fake sessions, no
// transport): Close, a DISCONNECT from the client, a lost session (with and
// without connection-state recovery) and Shutdown.
func TestDisconnectingEveryReason(t *testing.T) {
	lost := errors.New("transport lost")
	cases := []struct {
		name     string
		recovery bool
		end      func(srv *Server, c *client, kws *Websocket)
		reason   error
	}{
		{"Close", false, func(_ *Server, _ *client, kws *Websocket) { kws.Close() }, nil},
		{"client DISCONNECT", false, func(_ *Server, c *client, _ *Websocket) {
			if err := c.onMessage(c.sess, []byte("1"), false); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"session lost", false, func(_ *Server, c *client, _ *Websocket) { c.onClose(c.sess, lost) }, lost},
		{"session lost, state persisted", true, func(_ *Server, c *client, _ *Websocket) { c.onClose(c.sess, lost) }, lost},
		{"Shutdown", false, func(srv *Server, _ *client, _ *Websocket) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
		}, ErrServerShutdown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if tc.recovery {
				cfg = recoveryConfig(RecoveryConfig{})
			}
			srv := NewServer(cfg)
			log := newDisconnectLog(srv.On)
			c := fakeClient(t, srv)
			kws := connectWith(c, "")
			other := connectWith(fakeClient(t, srv), "")
			kws.Join("a", "b")
			other.Join("a")
			tc.end(srv, c, kws)
			log.check(t, kws.id, []string{"a", "b"}, tc.reason)
			if tc.name != "Shutdown" {
				if got := log.get(other.id); len(got) != 0 {
					t.Errorf("the other socket saw %+v", got)
				}
				if got := srv.Of("/").adp().SocketRooms(kws.id); got != nil {
					t.Errorf("adapter still lists rooms %q", got)
				}
			}
		})
	}
}

// TestDisconnectingListenerAddresses: a disconnecting listener can tell
// the members of its rooms, and Close from it does not deadlock.
func TestDisconnectingListenerAddresses(t *testing.T) {
	srv := NewServer(testConfig())
	srv.On(EventDisconnecting, func(ep *EventPayload) {
		for _, r := range ep.Kws.Rooms() {
			_ = ep.Kws.To(r).Emit("left", []byte(`"`+r+`"`))
		}
		ep.Kws.Close()
	})
	c := fakeClient(t, srv)
	kws := connectWith(c, "")
	oc := fakeClient(t, srv)
	other := connectWith(oc, "")
	kws.Join("a")
	other.Join("a")
	queued(oc)
	kws.Close()
	if got := queued(oc); len(got) != 1 || got[0] != `42["left","a"]` {
		t.Errorf("other received %q", got)
	}
}

// TestDisconnectingWithClient uses the real socket.io-client: it joins
// rooms, then either disconnects itself or asks the server to Close it;
// the disconnecting listener still sees the rooms, the disconnect listener
// sees none. The client library refuses to emit "disconnecting" (a raw
// packet with that name ends the session: see TestHostileInput).
func TestDisconnectingWithClient(t *testing.T) {
	for _, side := range []string{"client", "server"} {
		for _, tr := range transports {
			t.Run(side+"/"+tr.name, func(t *testing.T) {
				t.Parallel()
				srv := NewServer(quickConfig())
				nsp := srv.Of("/chat")
				log := newDisconnectLog(nsp.On)
				var (
					mu sync.Mutex
					id string
				)
				nsp.On("join", func(ep *EventPayload) {
					var rooms []string
					_ = json.Unmarshal(ep.Data, &rooms)
					ep.Kws.Join(rooms...)
					mu.Lock()
					id = ep.Kws.id
					mu.Unlock()
					_ = ep.Ack()
				})
				nsp.On("bye", func(ep *EventPayload) { ep.Kws.Close() })
				ts := startServer(t, srv, nil)
				res := runNode(t, ts.url, `
const s = io(URL + "/chat", { `+tr.opts+`, forceNew: true });
s.on("connect_error", (e) => fail("connect_error " + e.message));
s.on("disconnect", (reason) => {
  out({ reason });
  setTimeout(() => process.exit(0), 50);
});
s.on("connect", () => s.emit("join", ["red", "blue"], () => {
  try { s.emit("disconnecting"); out("emitted"); } catch (e) { out("refused"); }
  if ("`+side+`" === "client") {
    s.disconnect();
  } else {
    s.emit("bye");
  }
}));
`, 20*time.Second)
				mu.Lock()
				sid := id
				mu.Unlock()
				if sid == "" {
					t.Fatal("the client did not join")
				}
				waitFor(t, "EventDisconnect", func() bool { return len(log.get(sid)) == 2 })
				log.check(t, sid, []string{"red", "blue"}, nil)
				want := `{"reason":"io client disconnect"}`
				if side == "server" {
					want = `{"reason":"io server disconnect"}`
				}
				if !res.has("refused") {
					t.Errorf("the client emitted \"disconnecting\": %q", res.lines)
				}
				if !res.has(want) {
					t.Errorf("client printed %q, want %s", res.lines, want)
				}
			})
		}
	}
}
