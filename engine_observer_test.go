package socketio

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// engineLog records what an EngineObserver saw.
type engineLog struct {
	mu       sync.Mutex
	opens    []string // sid transport
	upgrades []string
	closes   []string // sid reason
	in, out  map[string][2]int
}

func newEngineLog(srv *Server) *engineLog {
	l := &engineLog{in: map[string][2]int{}, out: map[string][2]int{}}
	add := func(m map[string][2]int, sid string, size int) {
		l.mu.Lock()
		c := m[sid]
		m[sid] = [2]int{c[0] + 1, c[1] + size}
		l.mu.Unlock()
	}
	srv.ObserveEngine(EngineObserver{
		Open: func(sid, transport string) {
			l.mu.Lock()
			l.opens = append(l.opens, sid+" "+transport)
			l.mu.Unlock()
		},
		Upgrade: func(sid, transport string) {
			l.mu.Lock()
			l.upgrades = append(l.upgrades, sid+" "+transport)
			l.mu.Unlock()
		},
		Close: func(sid, reason string) {
			l.mu.Lock()
			l.closes = append(l.closes, sid+" "+reason)
			l.mu.Unlock()
		},
		PacketIn:  func(sid string, size int) { add(l.in, sid, size) },
		PacketOut: func(sid string, size int) { add(l.out, sid, size) },
	})
	return l
}

// TestEngineObserver: with the real client on every transport, the
// observer sees the session open on its first transport, the upgrade, each
// message in and out with its size (the Socket.IO packet's length, an
// attachment's), and the close with Node's reason; the sockets' disconnect
// listeners get Node's reasons too. A panicking observer does not stop
// the others.
func TestEngineObserver(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(testConfig())
			srv.ObserveEngine(EngineObserver{PacketIn: func(string, int) { panic("observer bug") }})
			log := newEngineLog(srv)
			var mu sync.Mutex
			var reasons []string
			var clientID, transport string
			srv.Of("/chat")
			srv.On(EventDisconnect, func(ep *EventPayload) {
				mu.Lock()
				reasons = append(reasons, ep.Kws.Namespace()+" "+ep.Reason())
				mu.Unlock()
			})
			srv.On("hello", func(ep *EventPayload) {
				mu.Lock()
				clientID, transport = ep.Kws.ClientID(), ep.Kws.Transport()
				mu.Unlock()
				_ = ep.Ack([]byte(`"hi"`))
			})
			var kickedID string
			srv.On("kick", func(ep *EventPayload) {
				mu.Lock()
				kickedID = ep.Kws.ClientID()
				mu.Unlock()
				ep.Kws.Close()
			})
			ts := startServer(t, srv, nil)
			res := runNode(t, ts.url, `
const opts = { `+tr.opts+`, forceNew: true, reconnection: false };
const main = io(URL, opts);
const chat = main.io.socket("/chat");
const kicked = io(URL, { transports: ["websocket"], forceNew: true, reconnection: false });
(async () => {
  await new Promise((r) => main.on("connect", r));
  // The upgrade may be done before a listener could be added: poll.
  while (opts.transports.length > 1 && main.io.engine.transport.name !== "websocket") await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => chat.connected ? r() : chat.on("connect", r));
  out({ ack: await main.emitWithAck("hello", "ab", Buffer.from([1, 2, 3])) });
  chat.disconnect();
  await new Promise((r) => kicked.connected ? r() : kicked.on("connect", r));
  const why = new Promise((r) => kicked.on("disconnect", r));
  kicked.emit("kick");
  out({ kicked: await why });
  main.io.engine.close();
})();
`, 20*time.Second)
			if !res.has(`{"ack":"hi"}`) || !res.has(`{"kicked":"io server disconnect"}`) {
				t.Fatalf("client output: %q", res.lines)
			}
			waitFor(t, "three disconnects", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(reasons) == 3
			})
			waitFor(t, "two closes", func() bool {
				log.mu.Lock()
				defer log.mu.Unlock()
				return len(log.closes) == 2
			})
			mu.Lock()
			got := strings.Join(reasons, ",")
			mu.Unlock()
			for _, want := range []string{"/chat client namespace disconnect", "/ server namespace disconnect", "/ transport close"} {
				if !strings.Contains(got, want) {
					t.Errorf("disconnect reasons %q lack %q", got, want)
				}
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			first := "polling"
			if tr.name == "websocket" {
				first = "websocket"
			}
			if want := clientID + " " + first; !slices.Contains(log.opens, want) {
				t.Errorf("opens %q lack %q", log.opens, want)
			}
			wantTransport := "websocket"
			if tr.name == "polling" {
				wantTransport = "polling"
			}
			if transport != wantTransport {
				t.Errorf("Transport() = %q, want %q", transport, wantTransport)
			}
			var wantUpgrades []string
			if tr.name == "upgrade" {
				wantUpgrades = []string{clientID + " websocket"}
			}
			if fmt.Sprint(log.upgrades) != fmt.Sprint(wantUpgrades) {
				t.Errorf("upgrades %q, want %q", log.upgrades, wantUpgrades)
			}
			if !slices.Contains(log.closes, clientID+" transport close") {
				t.Errorf("closes %q lack %q", log.closes, clientID+" transport close")
			}
			// As with Node, the client closes the connection of the socket
			// Close disconnected, not the server.
			mu.Lock()
			kicked := kickedID + " transport close"
			mu.Unlock()
			if !slices.Contains(log.closes, kicked) {
				t.Errorf("closes %q lack %q", log.closes, kicked)
			}
			// In: CONNECT "/", CONNECT /chat, the event, its attachment,
			// DISCONNECT /chat: the sizes of the Socket.IO packets and of
			// the attachment.
			hello := len(`51-0["hello","ab",{"_placeholder":true,"num":0}]`)
			in := log.in[clientID]
			if want := len("0") + len("0/chat,") + hello + 3 + len("1/chat,"); in != [2]int{5, want} {
				t.Errorf("in: %d messages, %d bytes; want 5, %d", in[0], in[1], want)
			}
			// Out: the CONNECT replies of "/" and /chat, and the ack.
			out := log.out[clientID]
			if wantMin := len(`0{"sid":"xxxxxxxxxxxxxxxxxxxx"}`) + len(`30["hi"]`); out[0] != 3 || out[1] < wantMin {
				t.Errorf("out: %d messages, %d bytes; want 3, at least %d", out[0], out[1], wantMin)
			}
		})
	}
}

// TestDisconnectReasons: the reason each way a socket ends gets, as Node
// names them (fake sessions for the server-side ones).
func TestDisconnectReasons(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{nil, "transport close"},
		{fmt.Errorf("%w: read: connection reset", ErrTransportClosed), "transport close"},
		{ErrHeartbeatTimeout, "ping timeout"},
		{ErrServerShutdown, "server shutting down"},
		{fmt.Errorf("%w: %q", ErrInvalidPacket, "9"), "parse error"},
		{ErrWebSocketProtocol, "transport error"},
		{ErrMessageTooLarge, "transport error"},
		{errors.New("anything else"), "transport error"},
	}
	for _, tc := range cases {
		if got := lostReason(tc.err); got != tc.want {
			t.Errorf("lostReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if got := engineCloseReason(nil); got != "forced close" {
		t.Errorf("engineCloseReason(nil) = %q, want forced close", got)
	}

	ends := []struct {
		name string
		end  func(srv *Server, c *client, kws *Websocket)
		want string
	}{
		{"Close", func(_ *Server, _ *client, kws *Websocket) { kws.Close() }, "server namespace disconnect"},
		{"Disconnect(true)", func(_ *Server, _ *client, kws *Websocket) { kws.Disconnect(true) }, "server namespace disconnect"},
		{"client DISCONNECT", func(_ *Server, c *client, _ *Websocket) { _ = c.onMessage(c.sess, []byte("1"), false) }, "client namespace disconnect"},
		{"client closed", func(_ *Server, c *client, _ *Websocket) { c.onClose(c.sess, nil) }, "transport close"},
		{"heartbeat", func(_ *Server, c *client, _ *Websocket) { c.onClose(c.sess, ErrHeartbeatTimeout) }, "ping timeout"},
		{"Shutdown", func(srv *Server, _ *client, _ *Websocket) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
		}, "server shutting down"},
	}
	for _, tc := range ends {
		t.Run(tc.name, func(t *testing.T) {
			srv := NewServer(testConfig())
			var mu sync.Mutex
			var got []string
			srv.On(EventDisconnecting, func(ep *EventPayload) {
				mu.Lock()
				got = append(got, "disconnecting "+ep.Reason())
				mu.Unlock()
			})
			srv.On(EventDisconnect, func(ep *EventPayload) {
				mu.Lock()
				got = append(got, "disconnect "+ep.Reason())
				mu.Unlock()
			})
			c := fakeClient(t, srv)
			kws := connectWith(c, "")
			if kws == nil {
				t.Fatal("not connected")
			}
			tc.end(srv, c, kws)
			mu.Lock()
			defer mu.Unlock()
			if want := "disconnecting " + tc.want + ",disconnect " + tc.want; strings.Join(got, ",") != want {
				t.Errorf("reasons %q, want %q", got, want)
			}
		})
	}
}

// TestDefaultServer: the package-level functions drive DefaultServer.
func TestDefaultServer(t *testing.T) {
	if DefaultServer().Of("/") != Of("/") || DefaultServer() != defaultServer {
		t.Error("Of and DefaultServer().Of differ")
	}
}

// TestNamespaces: the list holds "/" and every namespace created, sorted.
func TestNamespaces(t *testing.T) {
	srv := NewServer(testConfig())
	srv.Of("/b")
	srv.Of("a")
	var names []string
	for _, n := range srv.Namespaces() {
		names = append(names, n.Name())
	}
	if got := strings.Join(names, ","); got != "/,/a,/b" {
		t.Errorf("Namespaces() = %s, want /,/a,/b", got)
	}
}

// TestOnAttributeSet: every callback sees each SetAttribute with its key
// and value, after the value is stored; a panicking one does not stop the
// next; nil removes them.
func TestOnAttributeSet(t *testing.T) {
	srv := NewServer(testConfig())
	var got []string
	srv.OnAttributeSet(func(*Websocket, string, any) { panic("hook bug") })
	srv.OnAttributeSet(func(kws *Websocket, key string, value any) {
		got = append(got, fmt.Sprintf("%s=%v stored:%v", key, value, kws.Attributes()[key] == value))
	})
	kws := connectWith(fakeClient(t, srv), "")
	kws.SetAttribute("name", "bob")
	kws.SetAttribute("n", 2)
	srv.OnAttributeSet(nil)
	kws.SetAttribute("quiet", true)
	if want := "name=bob stored:true,n=2 stored:true"; strings.Join(got, ",") != want {
		t.Errorf("saw %q, want %s", got, want)
	}
}
