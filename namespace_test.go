package socketio

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestNamespacesMultiplexed opens "/", "/admin" and "/chat" on one Manager:
// the three sockets share one Engine.IO session, the New callback runs once
// per socket, the global listener sees every namespace and a namespace
// listener only its own, and disconnecting "/admin" leaves the others
// connected. An undeclared namespace is refused.
func TestNamespacesMultiplexed(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(quickConfig())
			admin := srv.Of("/admin")
			chat := srv.Of("/chat")
			var (
				mu          sync.Mutex
				news        = map[string]*Websocket{} // namespace -> socket
				globalHello []string
				adminHello  []string
				chatHello   []string
				adminGone   = make(chan error, 1)
			)
			srv.On("hello", func(ep *EventPayload) {
				mu.Lock()
				globalHello = append(globalHello, ep.Kws.Namespace())
				n := len(globalHello)
				mu.Unlock()
				if n == 3 {
					mu.Lock()
					root := news["/"]
					mu.Unlock()
					root.EmitEvent("all-hello", nil)
				}
			})
			admin.On("hello", func(ep *EventPayload) {
				mu.Lock()
				adminHello = append(adminHello, ep.Kws.Namespace())
				mu.Unlock()
			})
			chat.On("hello", func(ep *EventPayload) {
				mu.Lock()
				chatHello = append(chatHello, ep.Kws.Namespace())
				mu.Unlock()
			})
			admin.On(EventDisconnect, func(ep *EventPayload) {
				adminGone <- ep.Error
				// The other namespaces of the session are still there.
				mu.Lock()
				root, ch := news["/"], news["/chat"]
				mu.Unlock()
				root.EmitEvent("still", []byte(`"/"`))
				ch.EmitEvent("still", []byte(`"/chat"`))
			})
			ts := startServer(t, srv, func(kws *Websocket) {
				mu.Lock()
				if news[kws.Namespace()] != nil {
					t.Errorf("New callback ran twice for %s", kws.Namespace())
				}
				news[kws.Namespace()] = kws
				mu.Unlock()
			})
			res := runNode(t, ts.url, `
const m = new Manager(URL, { `+tr.opts+` });
const socks = { "/": m.socket("/"), "/admin": m.socket("/admin"), "/chat": m.socket("/chat") };
let connected = 0, still = 0;
for (const [name, s] of Object.entries(socks)) {
  s.on("connect", () => {
    if (++connected < 3) return;
    out({ engine: m.engine.id, ids: Object.fromEntries(Object.entries(socks).map(([n, x]) => [n, x.id])) });
    for (const x of Object.values(socks)) x.emit("hello");
  });
  s.on("connect_error", (e) => fail(name + " connect_error " + e.message));
}
socks["/"].on("all-hello", () => socks["/admin"].disconnect());
for (const name of ["/", "/chat"]) socks[name].on("still", (n) => {
  out({ still: n, connected: socks[name].connected, adminConnected: socks["/admin"].connected });
  if (++still === 2) {
    const bad = io(URL + "/nope", { `+tr.opts+`, forceNew: true });
    bad.on("connect_error", (e) => { out({ refused: e.message }); m.engine.close(); bad.close(); setTimeout(() => process.exit(0), 50); });
    bad.on("connect", () => fail("undeclared namespace accepted"));
  }
});
`, 20*time.Second)

			select {
			case err := <-adminGone:
				if err != nil {
					t.Errorf("admin disconnect reason %v, want nil", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no admin disconnect")
			}
			var first struct {
				Engine string
				IDs    map[string]string
			}
			if err := json.Unmarshal([]byte(res.lines[0]), &first); err != nil {
				t.Fatalf("first line %q: %v", res.lines[0], err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(news) != 3 {
				t.Fatalf("New callback ran for %d namespaces, want 3", len(news))
			}
			for nsp, kws := range news {
				if kws.sess.sid != first.Engine {
					t.Errorf("%s: server session %q, client engine %q", nsp, kws.sess.sid, first.Engine)
				}
				if kws.id != first.IDs[nsp] {
					t.Errorf("%s: server socket id %q, client %q", nsp, kws.id, first.IDs[nsp])
				}
			}
			if news["/"].id == news["/admin"].id || news["/admin"].id == news["/chat"].id {
				t.Errorf("socket ids are not distinct")
			}
			sort.Strings(globalHello)
			if want := []string{"/", "/admin", "/chat"}; !equalStrings(globalHello, want) {
				t.Errorf("global listener saw %q, want %q", globalHello, want)
			}
			if !equalStrings(adminHello, []string{"/admin"}) || !equalStrings(chatHello, []string{"/chat"}) {
				t.Errorf("namespace listeners saw admin=%q chat=%q", adminHello, chatHello)
			}
			for _, w := range []string{
				`{"still":"/","connected":true,"adminConnected":false}`,
				`{"still":"/chat","connected":true,"adminConnected":false}`,
				`{"refused":"Invalid namespace"}`,
			} {
				if !res.has(w) {
					t.Errorf("client output lacks %s; got %q", w, res.lines)
				}
			}
		})
	}
}

// TestMiddlewares runs two middlewares in order on a namespace: they see the
// handshake (auth, header, query, address); a refusal reaches the client as
// connect_error with err.message and err.data, and the socket never counts
// as connected.
func TestMiddlewares(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(quickConfig())
			sec := srv.Of("/secure")
			var (
				mu        sync.Mutex
				order     []string
				seen      []string
				connected int
			)
			sec.Use(func(kws *Websocket, next func(error)) {
				var auth struct{ Token string }
				_ = json.Unmarshal(kws.HandshakeAuth(), &auth)
				mu.Lock()
				order = append(order, "first:"+auth.Token)
				seen = append(seen, kws.Header("X-Test")+"|"+kws.Query("q")+"|"+kws.IP())
				mu.Unlock()
				if auth.Token != "good" {
					next(&ConnectError{Message: "not authorized", Payload: []byte(`{"code":4001,"retry":false}`)})
					return
				}
				kws.Join("authorized")
				next(nil)
			})
			sec.Use(func(kws *Websocket, next func(error)) {
				mu.Lock()
				order = append(order, "second")
				mu.Unlock()
				go next(nil) // asynchronous completion is allowed
			})
			srv.Use(func(kws *Websocket, next func(error)) {
				next(errors.New("main namespace is closed"))
			})
			sec.On(EventConnect, func(ep *EventPayload) {
				mu.Lock()
				connected++
				mu.Unlock()
				ep.Kws.EmitEvent("rooms", []byte(`"`+strings.Join(ep.Kws.Rooms(), ",")+`"`))
			})
			ts := startServer(t, srv, nil)
			res := runNode(t, ts.url, `
const opts = { `+tr.opts+`, forceNew: true, extraHeaders: { "X-Test": "hdr" }, query: { q: "qv" } };
const bad = io(URL + "/secure", { ...opts, auth: { token: "bad" } });
bad.on("connect", () => fail("bad token accepted"));
bad.on("connect_error", (e) => {
  out({ message: e.message, data: e.data });
  bad.close();
  const root = io(URL, opts);
  root.on("connect_error", (e) => {
    out({ root: e.message });
    root.close();
    const good = io(URL + "/secure", { ...opts, auth: { token: "good" } });
    good.on("connect_error", (e) => fail("good token refused: " + e.message));
    good.on("rooms", (r) => { out({ rooms: r.split(",").length, id: good.id, hasAuthorized: r.includes("authorized"), hasId: r.includes(good.id) }); good.close(); setTimeout(() => process.exit(0), 50); });
  });
});
`, 20*time.Second)
			for _, w := range []string{
				`{"message":"not authorized","data":{"code":4001,"retry":false}}`,
				`{"root":"main namespace is closed"}`,
			} {
				if !res.has(w) {
					t.Errorf("client output lacks %s; got %q", w, res.lines)
				}
			}
			var rooms struct {
				Rooms         int
				HasAuthorized bool
				HasID         bool
			}
			_ = json.Unmarshal([]byte(res.lines[len(res.lines)-1]), &rooms)
			if rooms.Rooms != 2 || !rooms.HasAuthorized || !rooms.HasID {
				t.Errorf("rooms of the accepted socket: %s", res.lines[len(res.lines)-1])
			}
			mu.Lock()
			defer mu.Unlock()
			if want := []string{"first:bad", "first:good", "second"}; !equalStrings(order, want) {
				t.Errorf("middleware order %q, want %q", order, want)
			}
			for _, s := range seen {
				if s != "hdr|qv|127.0.0.1" {
					t.Errorf("middleware saw handshake %q, want hdr|qv|127.0.0.1", s)
				}
			}
			if connected != 1 {
				t.Errorf("EventConnect fired %d times, want 1 (refused sockets must not connect)", connected)
			}
		})
	}
}

// TestDynamicNamespaces serves /dyn-<n> through OfRegexp: the parent's
// middlewares (including one added after a child exists) and listeners
// apply to each child, each child has its own sockets and rooms, the
// parent's Emit reaches every child, and a name that matches nothing is
// refused.
func TestDynamicNamespaces(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(quickConfig())
			srv.Of("/static")
			parent := srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
			var (
				mu       sync.Mutex
				mwSeen   []string
				lateSeen []string
			)
			parent.Use(func(kws *Websocket, next func(error)) {
				mu.Lock()
				mwSeen = append(mwSeen, kws.Namespace())
				mu.Unlock()
				next(nil)
			})
			var connects, disconnects atomic.Int32
			parent.On(EventConnect, func(*EventPayload) { connects.Add(1) })
			parent.On(EventDisconnect, func(*EventPayload) { disconnects.Add(1) })
			parent.On("whoami", func(ep *EventPayload) {
				_ = ep.Ack([]byte(`"` + ep.Kws.Namespace() + `"`))
			})
			parent.On("added", func(ep *EventPayload) {
				parent.Use(func(kws *Websocket, next func(error)) {
					mu.Lock()
					lateSeen = append(lateSeen, kws.Namespace())
					mu.Unlock()
					next(nil)
				})
				_ = ep.Ack()
			})
			parent.On("broadcast", func(ep *EventPayload) {
				if err := parent.Emit("hi", []byte(`"all children"`)); err != nil {
					t.Errorf("parent emit: %v", err)
				}
			})
			ts := startServer(t, srv, nil)
			res := runNode(t, ts.url, `
const opts = { `+tr.opts+`, forceNew: true };
const a = io(URL + "/dyn-1", opts), b = io(URL + "/dyn-22", opts);
let hi = 0;
for (const s of [a, b]) {
  s.on("connect_error", (e) => fail("dynamic refused: " + e.message));
  s.on("hi", (m) => { out({ hi: m, nsp: s.nsp }); if (++hi === 2) next(); });
}
// The late middleware is added only once both children are connected, so
// it sees the third connection alone.
let connected = 0;
const both = () => { if (++connected === 2) afterBoth(); };
a.once("connect", both);
b.once("connect", both);
const afterBoth = () => a.emitWithAck("whoami").then((n) => {
  out({ whoami: n });
  return a.emitWithAck("added");
}).then(() => {
  const c = io(URL + "/dyn-1", opts);
  c.on("connect", () => { out({ third: c.id !== a.id }); c.close(); a.emit("broadcast"); });
});
function next() {
  const bad = io(URL + "/dyn-x", opts);
  bad.on("connect", () => fail("unmatched namespace accepted"));
  bad.on("connect_error", (e) => { out({ refused: e.message }); a.close(); b.close(); bad.close(); setTimeout(() => process.exit(0), 50); });
}
`, 20*time.Second)
			for _, w := range []string{
				`{"whoami":"/dyn-1"}`,
				`{"third":true}`,
				`{"hi":"all children","nsp":"/dyn-1"}`,
				`{"hi":"all children","nsp":"/dyn-22"}`,
				`{"refused":"Invalid namespace"}`,
			} {
				if !res.has(w) {
					t.Errorf("client output lacks %s; got %q", w, res.lines)
				}
			}
			c1 := srv.Of("/dyn-1")
			if c1.parent != parent {
				t.Errorf("child /dyn-1 has no parent pointer")
			}
			waitFor(t, "children to leave their rooms", func() bool {
				return len(c1.Adapter().Rooms()) == 0 && len(srv.Of("/dyn-22").Adapter().Rooms()) == 0
			})
			// The parent's connect and disconnect listeners run for the
			// three sockets of its children.
			waitFor(t, "the parent's connect and disconnect listeners", func() bool {
				return connects.Load() == 3 && disconnects.Load() == 3
			})
			mu.Lock()
			defer mu.Unlock()
			sort.Strings(mwSeen)
			if want := []string{"/dyn-1", "/dyn-1", "/dyn-22"}; !equalStrings(mwSeen, want) {
				t.Errorf("parent middleware saw %q, want %q", mwSeen, want)
			}
			if want := []string{"/dyn-1"}; !equalStrings(lateSeen, want) {
				t.Errorf("late parent middleware saw %q, want %q", lateSeen, want)
			}
		})
	}
}

// quickConfig is testConfig with a shorter CloseTimeout: a graceful close
// of a polling session whose client already exited does not hold the test
// up for 5 s, while a live polling client (which needs a GET round trip per
// batch) still gets its last packets under -race on a loaded machine.
func quickConfig() Config {
	c := testConfig()
	c.CloseTimeout = 2 * time.Second
	return c
}

// TestSessionSocketsAcrossNamespaces: a session's sockets, one per
// namespace, stay reachable when one of them leaves, whichever it is,
// and a namespace left can be joined again.
func TestSessionSocketsAcrossNamespaces(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	echo := func(ep *EventPayload) { _ = ep.Ack(ep.Args...) }
	srv.On("echo", echo)
	srv.Of("/a").On("echo", echo)
	srv.Of("/b").On("echo", echo)
	ts := startServer(t, srv, nil)
	w, _ := connectWS(t, ts)
	w.send("40/a,")
	connectReplySID(t, w.read(), "/a")
	w.send("40/b,")
	connectReplySID(t, w.read(), "/b")

	id := 0
	roundTrip := func(nsp string) {
		t.Helper()
		id++
		prefix := ""
		if nsp != "/" {
			prefix = nsp + ","
		}
		arg := `"` + nsp + `-` + itoa(id) + `"`
		w.send("42" + prefix + itoa(id) + `["echo",` + arg + `]`)
		w.expect("43" + prefix + itoa(id) + `[` + arg + `]`)
	}
	w.send("41") // the main namespace, joined first, leaves
	roundTrip("/a")
	roundTrip("/b")
	w.send("40")
	connectReplySID(t, w.read(), "/")
	roundTrip("/")
	w.send("41/b,") // the last one joined leaves
	roundTrip("/")
	roundTrip("/a")
	w.send("41/a,")
	roundTrip("/")
}

// TestDynamicNamespaceAuth: the matcher of OfFuncAuth sees the CONNECT's
// auth payload and decides whether the child is created; a name it
// refuses gets "Invalid namespace", and once a child exists a CONNECT to
// it does not ask the matcher again (as Node's io.of((name, auth, next))).
func TestDynamicNamespaceAuth(t *testing.T) {
	t.Parallel()
	srv := NewServer(quickConfig())
	var (
		mu   sync.Mutex
		seen []string
	)
	parent := srv.OfFuncAuth(func(name string, auth []byte) bool {
		mu.Lock()
		seen = append(seen, name+" "+string(auth))
		mu.Unlock()
		var a struct{ Room string }
		_ = json.Unmarshal(auth, &a)
		return strings.HasPrefix(name, "/room-") && a.Room == name[len("/room-"):]
	})
	parent.On("whoami", func(ep *EventPayload) {
		_ = ep.Ack([]byte(`"` + ep.Kws.Namespace() + `"`))
	})
	ts := startServer(t, srv, nil)
	res := runNode(t, ts.url, `
const opts = { transports: ["websocket"], forceNew: true };
const connect = (nsp, auth) => new Promise((resolve) => {
  const s = io(URL + nsp, { ...opts, auth });
  s.on("connect", () => s.emitWithAck("whoami").then((n) => { s.close(); resolve({ nsp, joined: n }); }));
  s.on("connect_error", (e) => { s.close(); resolve({ nsp, refused: e.message }); });
});
(async () => {
  out(await connect("/room-a", { room: "b" }));
  out(await connect("/room-a", { room: "a" }));
  out(await connect("/room-a", {}));
  out(await connect("/other", { room: "other" }));
  out(await connect("/room-c"));
})();
`, 15*time.Second)
	for _, want := range []string{
		`{"nsp":"/room-a","refused":"Invalid namespace"}`,
		`{"nsp":"/room-a","joined":"/room-a"}`,
		`{"nsp":"/room-a","joined":"/room-a"}`,
		`{"nsp":"/other","refused":"Invalid namespace"}`,
		`{"nsp":"/room-c","refused":"Invalid namespace"}`,
	} {
		if !res.has(want) {
			t.Errorf("client output lacks %s; got %q", want, res.lines)
		}
	}
	if len(res.lines) != 5 || res.lines[0] != `{"nsp":"/room-a","refused":"Invalid namespace"}` || res.lines[2] != `{"nsp":"/room-a","joined":"/room-a"}` {
		t.Errorf("client output %q", res.lines)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{`/room-a {"room":"b"}`, `/room-a {"room":"a"}`, `/other {"room":"other"}`, `/room-c `}
	if !equalStrings(seen, want) {
		t.Errorf("matcher saw %q, want %q", seen, want)
	}
}

// TestOnNewNamespace: every namespace the server creates is reported once,
// "/" excepted: declared ones, and children of OfFunc when a client's
// CONNECT makes them, before that client is served, so a middleware the
// callback adds applies to it (the real client gets its error); a
// panicking callback is recovered.
func TestOnNewNamespace(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	var (
		mu   sync.Mutex
		seen []string
	)
	srv.OnNewNamespace(func(n *Namespace) {
		mu.Lock()
		seen = append(seen, n.Name())
		mu.Unlock()
		if strings.HasPrefix(n.Name(), "/room-") {
			n.Use(func(kws *Websocket, next func(error)) {
				next(errors.New("closed room " + n.Name()))
			})
		}
	})
	srv.Of("/admin")
	srv.Of("/admin") // already there: not reported again
	srv.OfFunc(func(name string) bool { return strings.HasPrefix(name, "/room-") || name == "/boom" })
	ts := startServer(t, srv, nil)
	res := runNode(t, ts.url, `
const a = io(URL + "/room-1", { transports: ["websocket"] });
a.on("connect", () => fail("/room-1 connected past the middleware added for it"));
a.on("connect_error", (e) => {
  out({ room: e.message });
  const b = io(URL + "/admin", { transports: ["websocket"] });
  b.on("connect", () => { out({ admin: true }); a.close(); b.close(); process.exit(0); });
  b.on("connect_error", (e) => fail("/admin: " + e.message));
});
`, 10*time.Second)
	if !res.has(`{"room":"closed room /room-1"}`) || !res.has(`{"admin":true}`) {
		t.Errorf("client output %q", res.lines)
	}
	mu.Lock()
	got := append([]string(nil), seen...)
	mu.Unlock()
	if want := []string{"/admin", "/room-1"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("reported %q, want %q", got, want)
	}

	srv.OnNewNamespace(func(*Namespace) { panic("callback bug") })
	w, _ := openWS(t, ts)
	w.send("40/boom,")
	if reply := w.read(); !strings.HasPrefix(reply, "40/boom,{") {
		t.Errorf("CONNECT to a namespace made under a panicking callback: %q", reply)
	}
}

// TestMiddlewareEmits: what a middleware emits to the socket it admits
// (text, binary, with an ack) reaches the client, sent ahead of the
// CONNECT reply as from the Node server, which the client fires once
// connected; a refused socket's emits go nowhere.
func TestMiddlewareEmits(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(quickConfig())
			acked := make(chan string, 1)
			srv.Of("/y").Use(func(kws *Websocket, next func(error)) {
				var auth struct{ Token string }
				_ = json.Unmarshal(kws.HandshakeAuth(), &auth)
				kws.EmitArgs("early", []byte(`"`+auth.Token+`"`))
				if err := kws.EmitValues("earlybin", []byte{7, 8}); err != nil {
					t.Errorf("EmitValues in a middleware: %v", err)
				}
				if auth.Token != "good" {
					next(errors.New("refused"))
					return
				}
				kws.EmitWithAckTimeout("question", []byte(`1`), 5*time.Second, func(ack []byte, err error) {
					acked <- fmt.Sprintf("%s %v", ack, err)
				})
				next(nil)
			})
			ts := startServer(t, srv, nil)
			res := runNode(t, ts.url, `
const opts = { `+tr.opts+`, forceNew: true };
const bad = io(URL + "/y", { ...opts, auth: { token: "bad" } });
bad.onAny((ev) => out({ badGot: ev }));
bad.on("connect_error", () => {
  bad.close();
  const good = io(URL + "/y", { ...opts, auth: { token: "good" } });
  const got = [];
  good.on("early", (t) => got.push("early:" + t + ":" + good.connected));
  good.on("earlybin", (b) => got.push("bin:" + b.toString("hex")));
  good.on("question", (n, cb) => { got.push("question:" + n); cb("answer"); });
  good.on("connect", () => setTimeout(() => { out({ got }); good.close(); setTimeout(() => process.exit(0), 50); }, 300));
});
`, 20*time.Second)
			if !res.has(`{"got":["early:good:true","bin:0708","question:1"]}`) {
				t.Errorf("client output %q", res.lines)
			}
			for _, l := range res.lines {
				if strings.Contains(l, "badGot") {
					t.Errorf("the refused client got %s", l)
				}
			}
			select {
			case a := <-acked:
				if a != `"answer" <nil>` {
					t.Errorf("ack %s", a)
				}
			case <-time.After(5 * time.Second):
				t.Error("no ack for the middleware's emit")
			}
		})
	}
}
