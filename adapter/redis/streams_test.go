package redisadapter

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	socketio "github.com/fiber-socketio/socketio"
	"github.com/redis/go-redis/v9"
)

// startStreamsGoNode starts a Go node with the streams adapter (see
// startNodeWith), with connection-state recovery on when recovery is set.
func startStreamsGoNode(t testing.TB, r *redisServer, name string, opts StreamsOptions, recovery bool) *goNode {
	t.Helper()
	cfg := socketio.DefaultConfig()
	cfg.Logger = nil
	if recovery {
		cfg.ConnectionStateRecovery = &socketio.RecoveryConfig{MaxDisconnectionDuration: time.Minute}
	}
	return startNodeConfig(t, redis.NewClient(&redis.Options{Addr: r.addr()}), name,
		func(client redis.UniversalClient, logger func(level, msg string, fields ...any)) socketio.AdapterFactory {
			opts.Logger = logger
			return NewStreams(client, opts)
		}, cfg)
}

// pubNumSub is PUBSUB NUMSUB of channel.
func pubNumSub(t *testing.T, c *redis.Client, channel string) int64 {
	t.Helper()
	res, err := c.PubSubNumSub(t.Context(), channel).Result()
	if err != nil {
		t.Fatal(err)
	}
	return res[channel]
}

// TestStreamsInterop runs the interop test of the sharded adapter on the
// streams adapters: a Go node with NewStreams and a Node server with
// @socket.io/redis-streams-adapter share one Redis (with three streams,
// "/" and "/admin" are on different ones).
func TestStreamsInterop(t *testing.T) {
	t.Run("default", func(t *testing.T) { testShardedInterop(t, interopCase{streams: true}) })
	t.Run("prefix", func(t *testing.T) { testShardedInterop(t, interopCase{streams: true, prefix: "myapp"}) })
	t.Run("three-streams", func(t *testing.T) { testShardedInterop(t, interopCase{streams: true, streamCount: 3}) })
}

// lbProxy is a TCP load balancer without sticky sessions: each new
// connection goes to the backend set last; cut closes the connections it
// carries, and while held it refuses new ones.
type lbProxy struct {
	ln      net.Listener
	mu      sync.Mutex
	backend string
	held    bool
	conns   []net.Conn
}

func startProxy(t *testing.T, backend string) *lbProxy {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &lbProxy{ln: ln, backend: backend}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go l.serve(c)
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); l.cut() })
	return l
}

func (l *lbProxy) url() string { return "http://" + l.ln.Addr().String() }

func (l *lbProxy) serve(c net.Conn) {
	l.mu.Lock()
	backend, held := l.backend, l.held
	l.mu.Unlock()
	if held {
		_ = c.Close()
		return
	}
	b, err := net.Dial("tcp4", backend)
	if err != nil {
		_ = c.Close()
		return
	}
	l.mu.Lock()
	l.conns = append(l.conns, c, b)
	l.mu.Unlock()
	go func() { _, _ = io.Copy(b, c); _ = b.Close() }()
	_, _ = io.Copy(c, b)
	_ = c.Close()
}

// route sends new connections to backend, or refuses them while held.
func (l *lbProxy) route(backend string, held bool) {
	l.mu.Lock()
	l.backend, l.held = backend, held
	l.mu.Unlock()
}

// cut closes every connection carried, as a network failure would.
func (l *lbProxy) cut() {
	l.mu.Lock()
	conns := l.conns
	l.conns = nil
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

func hostOf(url string) string { return strings.TrimPrefix(url, "http://") }

// events returns the arguments of every event named event that client
// received, in order.
func (p *peer) eventsOf(client, event string) [][]json.RawMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out [][]json.RawMessage
	for _, e := range p.events {
		if e.Client == client && e.Event == event {
			out = append(out, e.Args)
		}
	}
	return out
}

var streamID = regexp.MustCompile(`^"([0-9]+)-([0-9]+)"$`)

// TestStreamsRecovery: a client behind a load balancer without sticky
// sessions loses its connection and comes back through another node. The
// nodes are Go (NewStreams) and Node (@socket.io/redis-streams-adapter)
// servers sharing one Redis, with connection-state recovery on, each way.
// During the gap, both nodes emit to the client's room and to its id (a
// Go node also through the lost socket, with binary data); the client
// must come back with the same id, recovered, and receive every event
// once, in order, each with its stream offset, then events of its room
// through the new node.
func TestStreamsRecovery(t *testing.T) {
	for _, c := range []struct{ first, second string }{{"A", "N"}, {"N", "A"}, {"A", "B"}} {
		t.Run(c.first+"-then-"+c.second, func(t *testing.T) { testStreamsRecovery(t, c.first, c.second) })
	}
}

func testStreamsRecovery(t *testing.T, first, second string) {
	r := startRedis(t)
	pr := probe(t, r)
	nodes := map[string]*goNode{
		"A": startStreamsGoNode(t, r, "A", StreamsOptions{}, true),
		"B": startStreamsGoNode(t, r, "B", StreamsOptions{}, true),
	}
	p := startShardedPeer(t)
	reply := p.call("server", map[string]any{"port": 0, "redis": r.url(), "streams": true, "recovery": true})
	addr := map[string]string{"A": hostOf(nodes["A"].url), "B": hostOf(nodes["B"].url), "N": "127.0.0.1:" + string(reply["port"])}
	waitFor(t, "three servers", func() bool { return pubNumSub(t, pr, "socket.io#/#") == 3 })

	lb := startProxy(t, addr[first])
	var id string
	_ = json.Unmarshal(p.call("connect", map[string]any{"name": "c1", "url": lb.url(), "reconnect": true})["id"], &id)
	p.call("join", map[string]any{"name": "c1", "room": "r"})

	// emit has node emit "ev" n to room (a room or the socket id), and
	// waits for its entry in the stream, so that the entries are in the
	// order of the calls.
	emit := func(node, room string, n int) {
		t.Helper()
		before := pr.XLen(t.Context(), "socket.io").Val()
		if g := nodes[node]; g != nil {
			if err := g.srv.To(room).Emit("ev", []byte(strconv.Itoa(n))); err != nil {
				t.Fatal(err)
			}
		} else {
			p.call("emit", map[string]any{"rooms": []string{room}, "event": "ev", "args": []any{n}})
		}
		waitFor(t, "the entry of ev "+strconv.Itoa(n), func() bool { return pr.XLen(t.Context(), "socket.io").Val() > before })
	}
	// On a Go node, the socket itself emits 1 before the cut and 5 in
	// the gap (an emit to one socket goes through the stream too).
	var kws *socketio.Websocket
	direct := func(n int) {
		t.Helper()
		before := pr.XLen(t.Context(), "socket.io").Val()
		kws.EmitArgs("ev", []byte(strconv.Itoa(n)))
		waitFor(t, "the entry of ev "+strconv.Itoa(n), func() bool { return pr.XLen(t.Context(), "socket.io").Val() > before })
	}
	if g := nodes[first]; g != nil {
		socks, err := g.srv.Local().FetchSockets()
		if err != nil || len(socks) != 1 || socks[0].Local() == nil {
			t.Fatalf("the socket on %s: %+v, %v", first, socks, err)
		}
		kws = socks[0].Local()
		direct(1)
	} else {
		emit(first, "r", 1)
	}
	waitFor(t, "ev 1", func() bool { return len(p.eventsOf("c1", "ev")) == 1 })

	lb.route(addr[second], true)
	lb.cut()
	waitFor(t, "the lost session in Redis", func() bool {
		keys, _ := pr.Keys(t.Context(), "sio:session:*").Result()
		return len(keys) == 1
	})
	emit(first, "r", 2)
	emit(second, "r", 3)
	emit(second, id, 4)
	// Binary data in the gap, from the first node.
	before := pr.XLen(t.Context(), "socket.io").Val()
	if kws != nil {
		if err := kws.EmitValues("bin", []byte{0xca, 0xfe}); err != nil {
			t.Fatal(err)
		}
	} else {
		p.call("emit", map[string]any{"rooms": []string{"r"}, "event": "bin", "args": []any{map[string]string{"$bin": "cafe"}}})
	}
	waitFor(t, "the entry of bin", func() bool { return pr.XLen(t.Context(), "socket.io").Val() > before })
	if kws != nil {
		direct(5) // through the lost socket
	} else {
		emit(first, id, 5)
	}
	emit(second, "elsewhere", 0)
	lb.route(addr[second], false)

	back := p.waitEvent("c1", "reconnected")
	if len(back) != 2 || string(back[0]) != strconv.Quote(id) || string(back[1]) != "true" {
		t.Fatalf("reconnected as %s, want %q recovered", back, id)
	}
	emit(second, "r", 6)
	waitFor(t, "ev 6", func() bool { return len(p.eventsOf("c1", "ev")) >= 6 })
	quiet()
	got := p.eventsOf("c1", "ev")
	var last [2]int64
	for i, args := range got {
		if len(args) != 2 || string(args[0]) != strconv.Itoa(i+1) {
			t.Fatalf("events %s: want 1 to 6, each once, in order", got)
		}
		m := streamID.FindStringSubmatch(string(args[1]))
		if m == nil {
			t.Fatalf("event %d has offset %s, not a stream id", i+1, args[1])
		}
		ms, _ := strconv.ParseInt(m[1], 10, 64)
		seq, _ := strconv.ParseInt(m[2], 10, 64)
		if ms < last[0] || ms == last[0] && seq <= last[1] {
			t.Errorf("offset %s of event %d is not after the one before", args[1], i+1)
		}
		last = [2]int64{ms, seq}
	}
	if bin := p.eventsOf("c1", "bin"); len(bin) != 1 || len(bin[0]) != 2 || string(bin[0][0]) != `{"$bin":"cafe"}` || !streamID.Match(bin[0][1]) {
		t.Errorf("binary events %s, want one with its offset", bin)
	}
	if keys, _ := pr.Keys(t.Context(), "sio:session:*").Result(); len(keys) != 0 {
		t.Errorf("sessions left in Redis: %v", keys)
	}
}

// TestStreamsRecoveryAfterShutdown: a rolling restart. Go node A shuts
// down; its client, reconnecting through the balancer, recovers its
// session on the Go node B or on the Node server, with what was sent to
// it meanwhile, as after Node's io.close().
func TestStreamsRecoveryAfterShutdown(t *testing.T) {
	for _, second := range []string{"B", "N"} {
		t.Run("A-then-"+second, func(t *testing.T) {
			r := startRedis(t)
			pr := probe(t, r)
			a := startStreamsGoNode(t, r, "A", StreamsOptions{}, true)
			b := startStreamsGoNode(t, r, "B", StreamsOptions{}, true)
			p := startShardedPeer(t)
			reply := p.call("server", map[string]any{"port": 0, "redis": r.url(), "streams": true, "recovery": true})
			addr := map[string]string{"B": hostOf(b.url), "N": "127.0.0.1:" + string(reply["port"])}
			waitFor(t, "three servers", func() bool { return pubNumSub(t, pr, "socket.io#/#") == 3 })

			lb := startProxy(t, hostOf(a.url))
			var id string
			_ = json.Unmarshal(p.call("connect", map[string]any{"name": "c1", "url": lb.url(), "reconnect": true})["id"], &id)
			p.call("join", map[string]any{"name": "c1", "room": "r"})
			emit := func(srv *socketio.Server, room string, n int) {
				t.Helper()
				before := pr.XLen(t.Context(), "socket.io").Val()
				if srv != nil {
					if err := srv.To(room).Emit("ev", []byte(strconv.Itoa(n))); err != nil {
						t.Fatal(err)
					}
				} else {
					p.call("emit", map[string]any{"rooms": []string{room}, "event": "ev", "args": []any{n}})
				}
				waitFor(t, "the entry of ev "+strconv.Itoa(n), func() bool { return pr.XLen(t.Context(), "socket.io").Val() > before })
			}
			emit(a.srv, "r", 1)
			waitFor(t, "ev 1", func() bool { return len(p.eventsOf("c1", "ev")) == 1 })

			lb.route(addr[second], true) // new connections wait for the restart
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			if err := a.srv.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			waitFor(t, "the session of the shut down node in Redis", func() bool {
				keys, _ := pr.Keys(t.Context(), "sio:session:*").Result()
				return len(keys) == 1
			})
			var on *socketio.Server
			if second == "B" {
				on = b.srv
			}
			emit(on, "r", 2)
			emit(on, id, 3)
			lb.route(addr[second], false)

			back := p.waitEvent("c1", "reconnected")
			if len(back) != 2 || string(back[0]) != strconv.Quote(id) || string(back[1]) != "true" {
				t.Fatalf("reconnected as %s, want %q recovered", back, id)
			}
			waitFor(t, "ev 3", func() bool { return len(p.eventsOf("c1", "ev")) >= 3 })
			quiet()
			got := p.eventsOf("c1", "ev")
			for i, args := range got {
				if len(args) != 2 || string(args[0]) != strconv.Itoa(i+1) {
					t.Fatalf("events %s: want 1 to 3, each once, in order", got)
				}
			}
		})
	}
}

// TestStreamNames: with several streams, a namespace goes to the stream
// Node's adapter picks (its hash of the name, which may be negative).
func TestStreamNames(t *testing.T) {
	names := []string{"/", "/admin", "/chat", "/ünïcode", "/😀-emoji", "/a-much-longer-namespace-name"}
	script := `const { hashCode } = require("@socket.io/redis-streams-adapter/dist/util");
for (const n of JSON.parse(process.argv[1])) console.log(n + "\t" + "socket.io-" + (hashCode(n) % 3));`
	arg, _ := json.Marshal(names)
	cmd := exec.Command("node", "-e", script, string(arg))
	cmd.Dir = "testdata/node"
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	opts := StreamsOptions{StreamCount: 3}.normalized()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(names) {
		t.Fatalf("node printed %q", out)
	}
	for i, l := range lines {
		want := strings.SplitN(l, "\t", 2)[1]
		if got := streamName(names[i], opts); got != want {
			t.Errorf("stream of %q = %s, Node's %s", names[i], got, want)
		}
	}
}

// TestStreamsRedisRestart kills redis-server under two Go nodes with the
// streams adapter: local delivery goes on at once while it is down (the
// XADDs fail, the broadcasts are delivered without an offset), requests
// needing the other nodes fail at once, and when it is back the readers
// and subscriptions resume: cross-node delivery works again both ways.
func TestStreamsRedisRestart(t *testing.T) {
	r := startRedis(t)
	a := startStreamsGoNode(t, r, "A", StreamsOptions{RequestsTimeout: time.Second}, false)
	b := startStreamsGoNode(t, r, "B", StreamsOptions{RequestsTimeout: time.Second}, false)
	p := startPeer(t)
	p.connect("a1", a.url, "/")
	p.connect("b1", b.url, "/")
	if err := a.srv.Emit("before", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	p.waitEvent("b1", "before")
	t.Cleanup(func() {
		if t.Failed() {
			for _, g := range []*goNode{a, b} {
				g.logs.mu.Lock()
				t.Logf("%s logged %q", g.name, g.logs.lines)
				g.logs.mu.Unlock()
			}
		}
	})

	killRedis(t, r, a, b)
	emitWhileDown(t, a, p, "a1")
	waitFor(t, "the failed writes to be logged", func() bool { return a.logs.count("redis writes failing") > 0 })
	expectUnavailable(t, a, 1)

	restartRedis(t, r, p, a, "b1", a, b)
	if err := b.srv.Emit("afterB", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	p.waitEvent("a1", "afterB")
	waitFor(t, "two servers again", func() bool {
		n, err := a.srv.Of("/").Adapter().ServerCount(t.Context())
		return err == nil && n == 2
	})
	socks, err := a.srv.FetchSockets()
	if err != nil || len(socks) != 2 {
		t.Errorf("FetchSockets after the restart: %d sockets, %v", len(socks), err)
	}
	if a.logs.count("redis writes succeed again") != 1 {
		t.Errorf("A logged the end of the outage %d times", a.logs.count("redis writes succeed again"))
	}
	expectNoDuplicateDownEvents(t, p, "b1")
}
