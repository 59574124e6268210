package socketio

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSocketListeners drives per-socket listeners, catch-all listeners and
// event middlewares with the real client: each socket's listeners keep
// their own state (Node's socket.on in the connection handler), OnAny
// sees every event a client emits but no lifecycle event, Use can refuse
// an event (EventError on the socket) or rewrite it, a panicking
// middleware does not end the connection, and Off removes listeners.
func TestSocketListeners(t *testing.T) {
	t.Parallel()
	srv := NewServer(quickConfig())
	admin := srv.Of("/admin")
	var (
		mu          sync.Mutex
		serverAny   []string
		adminAny    []string
		socketAny   = map[string][]string{}
		socketErrs  = map[string][]string{}
		disconnects = map[string]bool{}
	)
	record := func(list *[]string, ep *EventPayload) {
		mu.Lock()
		*list = append(*list, ep.Kws.Namespace()+" "+ep.Name)
		mu.Unlock()
	}
	srv.OnAny(func(ep *EventPayload) { record(&serverAny, ep) })
	admin.OnAny(func(ep *EventPayload) { record(&adminAny, ep) })
	ts := startServer(t, srv, func(kws *Websocket) {
		if kws.Namespace() != "/" {
			return
		}
		id := kws.Query("name")
		count := 0 // this connection's own state
		kws.On("count", func(ep *EventPayload) {
			count++
			_ = ep.Ack([]byte(strconv.Itoa(count)))
		})
		kws.On("stop", func(ep *EventPayload) {
			kws.Off("count")
			_ = ep.Ack()
		})
		kws.OnAny(func(ep *EventPayload) {
			mu.Lock()
			socketAny[id] = append(socketAny[id], ep.Name)
			mu.Unlock()
		})
		kws.Use(func(ep *EventPayload) error {
			switch ep.Name {
			case "forbidden":
				return errors.New("not allowed")
			case "boom":
				panic("middleware panic")
			case "count":
				if len(ep.Args) > 0 && string(ep.Args[0]) == `"skip"` {
					return errors.New("skipped")
				}
			}
			return nil
		})
		kws.Use(func(ep *EventPayload) error {
			if ep.Name == "rewrite" {
				ep.Args = [][]byte{[]byte(`"rewritten"`)}
			}
			return nil
		})
		kws.On("rewrite", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
		kws.On(EventError, func(ep *EventPayload) {
			mu.Lock()
			socketErrs[id] = append(socketErrs[id], ep.Error.Error())
			mu.Unlock()
		})
		kws.On(EventDisconnect, func(ep *EventPayload) {
			mu.Lock()
			disconnects[id] = true
			mu.Unlock()
		})
	})
	res := runNode(t, ts.url, `
const opts = { transports: ["websocket"], forceNew: true };
const a = io(URL, { ...opts, query: { name: "a" } });
const b = io(URL, { ...opts, query: { name: "b" } });
const adm = io(URL + "/admin", opts);
const connected = (s) => new Promise((r) => s.on("connect", r));
const ack = (s, ...args) => s.timeout(700).emitWithAck(...args).catch((e) => "timeout");
(async () => {
  await Promise.all([connected(a), connected(b), connected(adm)]);
  out({ a1: await ack(a, "count"), a2: await ack(a, "count"), b1: await ack(b, "count") });
  a.emit("forbidden", 1);
  a.emit("boom");
  out({ skipped: await ack(a, "count", "skip") === "timeout" });
  out({ rewrite: await ack(a, "rewrite", "original") });
  adm.emit("hello", 1);
  await ack(a, "stop");
  out({ afterOff: await ack(a, "count") === "timeout", b2: await ack(b, "count") });
  a.close(); b.close(); adm.close();
})();
`, 20*time.Second)
	for _, want := range []string{
		`{"a1":1,"a2":2,"b1":1}`,
		`{"skipped":true}`,
		`{"rewrite":"rewritten"}`,
		`{"afterOff":true,"b2":2}`,
	} {
		if !res.has(want) {
			t.Errorf("client output lacks %s; got %q", want, res.lines)
		}
	}
	waitFor(t, "both disconnects", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(disconnects) == 2
	})
	mu.Lock()
	defer mu.Unlock()
	// The socket's catch-all sees what passed its middlewares.
	if got, want := strings.Join(socketAny["a"], ","), "count,count,rewrite,stop,count"; got != want {
		t.Errorf("socket a's OnAny saw %s, want %s", got, want)
	}
	if got, want := strings.Join(socketAny["b"], ","), "count,count"; got != want {
		t.Errorf("socket b's OnAny saw %s, want %s", got, want)
	}
	if got, want := strings.Join(socketErrs["a"], ","), "not allowed,"+ErrListenerPanic.Error()+",skipped"; got != want {
		t.Errorf("socket a's EventError saw %s, want %s", got, want)
	}
	if len(socketErrs["b"]) != 0 {
		t.Errorf("socket b's EventError saw %q", socketErrs["b"])
	}
	if got := strings.Join(adminAny, ","); got != "/admin hello" {
		t.Errorf("namespace OnAny saw %s, want /admin hello", got)
	}
	// The server's catch-all sees every namespace, and no lifecycle event.
	seen := map[string]int{}
	for _, e := range serverAny {
		seen[e]++
	}
	if want := map[string]int{"/ count": 5, "/ rewrite": 1, "/ stop": 1, "/admin hello": 1}; len(serverAny) != 8 || !equalCounts(seen, want) {
		t.Errorf("server OnAny saw %q, want %v", serverAny, want)
	}
}

// TestOutgoingListeners: OnAnyOutgoing sees what is emitted to the socket
// (direct emits, values with binary, emits with ack, broadcasts, with a
// recovery offset left out) but not acks, and OffAnyOutgoing stops it.
func TestOutgoingListeners(t *testing.T) {
	t.Parallel()
	cfg := quickConfig()
	cfg.ConnectionStateRecovery = &RecoveryConfig{}
	srv := NewServer(cfg)
	var (
		mu  sync.Mutex
		out []string
	)
	srv.On("go", func(ep *EventPayload) {
		kws := ep.Kws
		kws.EmitArgs("a", []byte(`1`), []byte(`"x"`))
		_ = kws.EmitValues("b", []byte{1, 2})
		kws.EmitWithAck("c", []byte(`"q"`), func([]byte) {})
		_ = srv.Emit("d", []byte(`"all"`))
		_ = ep.Ack([]byte(`"acked"`))
	})
	srv.On("stop", func(ep *EventPayload) {
		ep.Kws.OffAnyOutgoing()
		ep.Kws.EmitArgs("e")
		_ = ep.Ack()
	})
	ts := startServer(t, srv, func(kws *Websocket) {
		kws.OnAnyOutgoing(func(ep *EventPayload) {
			mu.Lock()
			out = append(out, ep.Name+" "+string(bytesJoin(ep.Args))+" "+strconv.Itoa(len(ep.Attachments)))
			mu.Unlock()
		})
	})
	res := runNode(t, ts.url, `
const s = io(URL, { transports: ["websocket"], forceNew: true });
let got = 0;
s.onAny(() => got++);
s.on("c", (q, cb) => cb("ok"));
s.on("connect", async () => {
  out({ ack: await s.emitWithAck("go") });
  while (got < 4) await new Promise((r) => setTimeout(r, 10));
  await s.emitWithAck("stop");
  s.close();
});
`, 15*time.Second)
	if !res.has(`{"ack":"acked"}`) {
		t.Fatalf("client output %q", res.lines)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{`a 1,"x" 0`, `b {"_placeholder":true,"num":0} 1`, `c "q" 0`, `d "all" 0`}
	if !equalStrings(out, want) {
		t.Errorf("outgoing listener saw %q, want %q", out, want)
	}
}

// bytesJoin joins raw JSON values with commas.
func bytesJoin(args [][]byte) []byte {
	var b []byte
	for i, a := range args {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, a...)
	}
	return b
}
