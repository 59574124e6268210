package socketio

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// clientCounts parses the lines {"name":..., "counts":{event:n}} a script
// prints, by client name.
func clientCounts(t *testing.T, res nodeResult) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	for _, l := range res.lines {
		var v struct {
			Name   string
			Counts map[string]int
		}
		if json.Unmarshal([]byte(l), &v) == nil && v.Name != "" && v.Counts != nil {
			out[v.Name] = v.Counts
		}
	}
	return out
}

// nameOf returns the "name" of a socket's handshake auth.
func nameOf(kws *Websocket) string {
	var a struct{ Name string }
	_ = json.Unmarshal(kws.HandshakeAuth(), &a)
	return a.Name
}

// countingClients is a script fragment: clients named by names connect with
// auth {name}, emit "join" with their rooms (and wait for the ack), count
// every event they receive, and on "end" print their counts; the script
// exits when all have ended.
func countingClients(opts string, rooms map[string][]string) string {
	b, _ := json.Marshal(rooms)
	return `
const rooms = ` + string(b) + `;
let ended = 0;
const names = Object.keys(rooms);
for (const name of names) {
  const s = io(URL, { ` + opts + `, forceNew: true, auth: { name } });
  const counts = {};
  s.onAny((ev) => { if (ev !== "end") counts[ev] = (counts[ev] || 0) + 1; });
  s.on("connect_error", (e) => fail(name + " connect_error " + e.message));
  s.on("connect", () => s.emit("join", rooms[name], () => {}));
  s.on("end", () => {
    out({ name, counts });
    s.close();
    if (++ended === names.length) setTimeout(() => process.exit(0), 50);
  });
}
`
}

// TestRoomBroadcast counts every message each client receives: room
// broadcasts reach exactly the members (a socket in two targeted rooms gets
// one copy), Except removes members, socket-level operators exclude the
// sender, Leave and disconnect take effect.
func TestRoomBroadcast(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(quickConfig())
			var (
				mu      sync.Mutex
				byName  = map[string]*Websocket{}
				c3Rooms []string
				errs    []error
			)
			run := func() {
				mu.Lock()
				c0, c3 := byName["c0"], byName["c3"]
				mu.Unlock()
				check := func(err error) {
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}
				check(srv.To("red").Emit("r", []byte(`1`)))
				check(srv.To("red", "blue").Emit("rb"))
				check(srv.In("red").Except("blue").Emit("re"))
				check(c0.To("red").Emit("fromc0"))
				check(c0.Broadcaster().Emit("bc"))
				check(c0.Except("blue").Emit("ex0"))
				check(srv.Emit("all", []byte(`{"x":1}`), []byte(`"two"`)))
				mu.Lock()
				c3Rooms = c3.Rooms()
				mu.Unlock()
				c3.Leave("blue")
				check(srv.To("blue").Emit("b2"))
				check(srv.To("nobody").Emit("none"))
				if err := srv.To("red").Emit("connect"); !errors.Is(err, ErrReservedEventName) {
					check(errors.New("reserved name not refused"))
				}
				check(srv.Emit("end"))
			}
			srv.On("join", func(ep *EventPayload) {
				var rooms []string
				_ = json.Unmarshal(ep.Data, &rooms)
				ep.Kws.Join(rooms...)
				mu.Lock()
				byName[nameOf(ep.Kws)] = ep.Kws
				n := len(byName)
				mu.Unlock()
				_ = ep.Ack()
				if n == 4 {
					go run()
				}
			})
			ts := startServer(t, srv, nil)
			res := runNode(t, ts.url, countingClients(tr.opts, map[string][]string{
				"c0": {"red"}, "c1": {"red"}, "c2": {"blue"}, "c3": {"red", "blue"},
			}), 20*time.Second)
			got := clientCounts(t, res)
			want := map[string]map[string]int{
				"c0": {"r": 1, "rb": 1, "re": 1, "all": 1},
				"c1": {"r": 1, "rb": 1, "re": 1, "fromc0": 1, "bc": 1, "ex0": 1, "all": 1},
				"c2": {"rb": 1, "bc": 1, "all": 1, "b2": 1},
				"c3": {"r": 1, "rb": 1, "fromc0": 1, "bc": 1, "all": 1},
			}
			for name, w := range want {
				if !equalCounts(got[name], w) {
					t.Errorf("%s received %v, want %v", name, got[name], w)
				}
			}
			mu.Lock()
			for _, err := range errs {
				t.Errorf("emit: %v", err)
			}
			c3 := byName["c3"]
			mu.Unlock()
			if want := sortedStrings(c3.id, "blue", "red"); !equalStrings(c3Rooms, want) {
				t.Errorf("c3.Rooms() = %q, want %q", c3Rooms, want)
			}
			adp := srv.Of("/").Adapter()
			waitFor(t, "every room to empty after the clients left", func() bool { return len(adp.Rooms()) == 0 })
			if r := c3.Rooms(); r != nil {
				t.Errorf("Rooms after disconnect = %q, want nil", r)
			}
		})
	}
}

func sortedStrings(s ...string) []string {
	sort.Strings(s)
	return s
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// TestBroadcastAck gathers the acks of several clients: one client never
// answers, so the callback gets the two answers and an error naming the
// one missing; without it every answer arrives well before the timeout;
// an empty selection answers at once.
func TestBroadcastAck(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(quickConfig())
			type result struct {
				responses []string
				err       error
				took      time.Duration
			}
			var (
				mu      sync.Mutex
				byName  = map[string]*Websocket{}
				results []result
				done    = make(chan struct{})
			)
			gather := func(op BroadcastOperator) result {
				start := time.Now()
				ch := make(chan result, 1)
				err := op.EmitWithAck("q", [][]byte{[]byte(`1`)}, func(responses [][]byte, err error) {
					r := result{err: err, took: time.Since(start)}
					for _, b := range responses {
						r.responses = append(r.responses, string(b))
					}
					sort.Strings(r.responses)
					ch <- r
				})
				if err != nil {
					return result{err: err}
				}
				return <-ch
			}
			srv.On("join", func(ep *EventPayload) {
				mu.Lock()
				byName[nameOf(ep.Kws)] = ep.Kws
				n := len(byName)
				silent := byName["silent"]
				mu.Unlock()
				_ = ep.Ack()
				if n != 3 {
					return
				}
				go func() {
					defer close(done)
					rs := []result{
						gather(srv.Timeout(700 * time.Millisecond)),
						gather(srv.Except(silent.id).Timeout(5 * time.Second)),
						gather(srv.To("empty").Timeout(5 * time.Second)),
					}
					if err := srv.EmitWithAck("disconnect", nil, nil); !errors.Is(err, ErrReservedEventName) {
						t.Errorf("reserved name: %v", err)
					}
					mu.Lock()
					results = rs
					mu.Unlock()
					_ = srv.Emit("end")
				}()
			})
			ts := startServer(t, srv, nil)
			runNode(t, ts.url, `
const names = ["a", "b", "silent"];
let ended = 0;
for (const name of names) {
  const s = io(URL, { `+tr.opts+`, forceNew: true, auth: { name } });
  s.on("connect", () => s.emit("join", [], () => {}));
  s.on("q", (n, cb) => { if (name !== "silent") cb({ from: name, n }); });
  s.on("end", () => { s.close(); if (++ended === 3) setTimeout(() => process.exit(0), 50); });
}
`, 20*time.Second)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("gathering did not finish")
			}
			mu.Lock()
			defer mu.Unlock()
			answers := []string{`{"from":"a","n":1}`, `{"from":"b","n":1}`}
			timedOut := results[0]
			if !errors.Is(timedOut.err, ErrBroadcastAckTimeout) || !strings.Contains(timedOut.err.Error(), "1 of 3 clients") {
				t.Errorf("with a silent client: err = %v, want ErrBroadcastAckTimeout naming 1 of 3", timedOut.err)
			}
			if !equalStrings(timedOut.responses, answers) {
				t.Errorf("with a silent client: responses %q, want %q", timedOut.responses, answers)
			}
			if timedOut.took < 600*time.Millisecond {
				t.Errorf("timed out after %v, before the 700ms timeout", timedOut.took)
			}
			all := results[1]
			if all.err != nil || !equalStrings(all.responses, answers) {
				t.Errorf("without the silent client: %q, %v; want %q, nil", all.responses, all.err, answers)
			}
			if all.took > 3*time.Second {
				t.Errorf("complete gathering took %v: it waited for the timeout", all.took)
			}
			if none := results[2]; none.err != nil || len(none.responses) != 0 || none.took > time.Second {
				t.Errorf("empty selection: %q, %v after %v", none.responses, none.err, none.took)
			}
		})
	}
}

// TestSocketOperations drives FetchSockets, SocketsJoin, SocketsLeave,
// RemoteSocket.Emit and DisconnectSockets on selections. Clients y and z
// hold "/" and "/other" on one connection: DisconnectSockets(false) on y's
// "/" socket leaves its "/other" socket connected, DisconnectSockets(true)
// on z's closes z's whole connection.
func TestSocketOperations(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(quickConfig())
			srv.Of("/other")
			var (
				mu       sync.Mutex
				byName   = map[string]*Websocket{}
				failures []string
				joined   int
			)
			fail := func(format string, args ...any) {
				mu.Lock()
				failures = append(failures, fmt.Sprintf(format, args...))
				mu.Unlock()
			}
			run := func() {
				mu.Lock()
				x, y, z := byName["x"], byName["y"], byName["z"]
				mu.Unlock()
				socks, err := srv.FetchSockets()
				if err != nil || len(socks) != 3 {
					fail("FetchSockets: %d sockets, %v", len(socks), err)
				}
				for _, s := range socks {
					if s.Local() == nil || s.Local().id != s.ID || s.Namespace() != "/" {
						fail("fetched socket %q: local %v, namespace %q", s.ID, s.Local(), s.Namespace())
					}
					if !equalStrings(s.Rooms, []string{s.ID}) {
						fail("fetched socket rooms %q", s.Rooms)
					}
				}
				if err := srv.In(x.id).SocketsJoin("vip", "gold"); err != nil {
					fail("SocketsJoin: %v", err)
				}
				if got, want := x.Rooms(), sortedStrings(x.id, "vip", "gold"); !equalStrings(got, want) {
					fail("x rooms %q, want %q", got, want)
				}
				if err := srv.SocketsJoin("everyone"); err != nil {
					fail("SocketsJoin all: %v", err)
				}
				vip, _ := srv.To("vip").FetchSockets()
				if len(vip) != 1 || vip[0].ID != x.id {
					fail("vip members %v", vip)
				}
				if every, _ := srv.To("everyone").Except("vip").FetchSockets(); len(every) != 2 {
					fail("everyone but vip: %d sockets", len(every))
				}
				_ = srv.To("vip").Emit("vip")
				if err := srv.SocketsLeave("vip"); err != nil {
					fail("SocketsLeave: %v", err)
				}
				if vip, _ := srv.To("vip").FetchSockets(); len(vip) != 0 {
					fail("vip still has %d members", len(vip))
				}
				_ = srv.To("vip").Emit("vip")
				for _, s := range socks {
					if s.ID == y.id {
						_ = s.Emit("direct", []byte(`"to y"`))
						_ = s.Join("remote-joined")
					}
				}
				if got := y.Rooms(); !equalStrings(got, sortedStrings(y.id, "everyone", "remote-joined")) {
					fail("y rooms after RemoteSocket.Join: %q", got)
				}
				_ = srv.In(y.id).DisconnectSockets(false)
				_ = srv.In(z.id).DisconnectSockets(true)
			}
			srv.On("join", func(ep *EventPayload) {
				_ = ep.Ack()
				if ep.Kws.Namespace() != "/" {
					return
				}
				mu.Lock()
				byName[nameOf(ep.Kws)] = ep.Kws
				mu.Unlock()
			})
			srv.On("ready", func(ep *EventPayload) {
				mu.Lock()
				joined++
				n := joined
				mu.Unlock()
				if n == 3 {
					go run()
				}
			})
			ts := startServer(t, srv, nil)
			res := runNode(t, ts.url, `
const reasons = {};
const m = {};
let ready = 0;
const countsOf = {};
function report() {
  if (Object.keys(reasons).length !== 3) return;
  setTimeout(() => {
    const sorted = Object.fromEntries(Object.keys(reasons).sort().map((k) => [k, reasons[k]]));
    out({ reasons: sorted, yOther: m.yo.connected, zOther: m.zo.connected, x: m.x.connected });
    out({ name: "x", counts: countsOf.x });
    for (const s of Object.values(m)) s.close();
    setTimeout(() => process.exit(0), 50);
  }, 300);
}
function client(name, withOther) {
  const man = new Manager(URL, { `+tr.opts+` });
  const s = man.socket("/", { auth: { name } });
  const counts = countsOf[name] = {};
  s.onAny((ev) => { counts[ev] = (counts[ev] || 0) + 1; });
  let parts = withOther ? 2 : 1;
  const joined = () => { if (--parts === 0) s.emit("ready"); };
  s.on("connect", () => s.emit("join", [], joined));
  s.on("disconnect", (reason) => { reasons[name + "/"] = reason; out({ name, counts }); report(); });
  m[name] = s;
  if (withOther) {
    const o = man.socket("/other", { auth: { name } });
    o.on("connect", () => o.emit("join", [], joined));
    o.on("disconnect", (reason) => { reasons[name + "/other"] = reason; report(); });
    m[name[0] + "o"] = o;
  }
}
client("x", false); client("y", true); client("z", true);
`, 20*time.Second)
			mu.Lock()
			for _, f := range failures {
				t.Error(f)
			}
			mu.Unlock()
			got := clientCounts(t, res)
			if !equalCounts(got["y"], map[string]int{"direct": 1}) {
				t.Errorf("y received %v, want one direct", got["y"])
			}
			if !equalCounts(got["x"], map[string]int{"vip": 1}) {
				t.Errorf("x received %v, want one vip", got["x"])
			}
			if !equalCounts(got["z"], map[string]int{}) {
				t.Errorf("z received %v, want nothing", got["z"])
			}
			want := `{"reasons":{"y/":"io server disconnect","z/":"io server disconnect","z/other":"io server disconnect"},"yOther":true,"zOther":false,"x":true}`
			if !res.has(want) {
				t.Errorf("client output lacks %s; got %q", want, res.lines)
			}
		})
	}
}

// TestSelfAfterLeavingOwnRoom: a socket that left the room of its id
// still gets what its own operators send (Volatile, Compress, Timeout
// with an ack), as Node's socket.volatile.emit and socket.timeout().emit
// reach it; io.To(its id) no longer does, as in Node.
func TestSelfAfterLeavingOwnRoom(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(quickConfig())
			acks := make(chan string, 1)
			srv.On("go", func(ep *EventPayload) {
				kws := ep.Kws
				kws.Leave(kws.UUID)
				_ = srv.To(kws.UUID).Emit("byRoom")
				_ = kws.Volatile().Emit("volatile", []byte(`1`))
				_ = kws.Compress(false).Emit("plain", []byte(`2`))
				err := kws.Timeout(5*time.Second).EmitWithAck("ask", nil, func(responses [][]byte, err error) {
					acks <- fmt.Sprintf("%q %v", responses, err)
				})
				if err != nil {
					t.Errorf("EmitWithAck: %v", err)
				}
			})
			ts := startServer(t, srv, nil)
			res := runNode(t, ts.url, `
const socket = io(URL, { `+tr.opts+` });
const got = [];
socket.onAny((ev, ...args) => { if (typeof args[args.length - 1] !== "function") got.push(ev); });
socket.on("ask", (cb) => { got.push("ask"); cb("answer"); });
socket.on("connect", () => {
  socket.emit("go");
  setTimeout(() => { out({ got }); socket.disconnect(); setTimeout(() => process.exit(0), 50); }, 500);
});
`, 15*time.Second)
			// A volatile packet may be dropped on polling when no GET
			// waits (as from Node); on WebSocket it goes.
			want := []string{`{"got":["volatile","plain","ask"]}`}
			if tr.name != "websocket" {
				want = append(want, `{"got":["plain","ask"]}`)
			}
			if !slices.ContainsFunc(want, res.has) {
				t.Errorf("client output %q, want one of %q", res.lines, want)
			}
			select {
			case a := <-acks:
				if a != `["\"answer\""] <nil>` {
					t.Errorf("ack %s", a)
				}
			case <-time.After(5 * time.Second):
				t.Error("no ack callback")
			}
		})
	}
}
