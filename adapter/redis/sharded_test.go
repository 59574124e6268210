package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	socketio "github.com/fiber-socketio/socketio"
	"github.com/redis/go-redis/v9"
)

// startShardedGoNode starts a Go node with the sharded adapter (see
// startNodeWith).
func startShardedGoNode(t *testing.T, r *redisServer, name string, opts ShardedOptions) *goNode {
	t.Helper()
	return startNodeWith(t, r, name, func(client redis.UniversalClient, logger func(level, msg string, fields ...any)) socketio.AdapterFactory {
		opts.Logger = logger
		return NewSharded(client, opts)
	})
}

// startShardedPeer runs testdata/node/sharded_harness.js.
func startShardedPeer(t *testing.T) *peer {
	t.Helper()
	return startHarness(t, "sharded_harness.js")
}

// probe is a plain Redis client of the test, to look at the sharded
// channels.
func probe(t *testing.T, r *redisServer) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.addr()})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// numSub is PUBSUB SHARDNUMSUB of channel.
func numSub(t *testing.T, c *redis.Client, channel string) int64 {
	t.Helper()
	res, err := c.PubSubShardNumSub(t.Context(), channel).Result()
	if err != nil {
		t.Fatal(err)
	}
	return res[channel]
}

// waitNumSub waits until channel has n subscribers.
func waitNumSub(t *testing.T, c *redis.Client, channel string, n int64) {
	t.Helper()
	waitFor(t, channel+" with "+strconv.FormatInt(n, 10)+" subscribers", func() bool { return numSub(t, c, channel) == n })
}

// shardChannels lists the active sharded channels matching pattern.
func shardChannels(t *testing.T, c *redis.Client, pattern string) []string {
	t.Helper()
	chs, err := c.PubSubShardChannels(t.Context(), pattern).Result()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(chs)
	return chs
}

// expectCounts checks how many times each client received each event.
func expectCounts(t *testing.T, p *peer, want map[string]map[string]int) {
	t.Helper()
	quiet()
	for ev, clients := range want {
		for cl, n := range clients {
			if got := p.count(cl, ev); got != n {
				t.Errorf("%s received %s %d times, want %d", cl, ev, got, n)
			}
		}
	}
}

// sseLogged reports whether a Go node's "sse" listener ran with arg.
func sseLogged(g *goNode, arg string) bool { return g.logs.count("sse "+arg) > 0 }

var shardedModes = []SubscriptionMode{SubscriptionStatic, SubscriptionDynamic, SubscriptionDynamicPrivate}

// forEachMode runs test as a subtest for each subscription mode.
func forEachMode(t *testing.T, test func(t *testing.T, mode SubscriptionMode)) {
	for _, mode := range shardedModes {
		t.Run(string(mode), func(t *testing.T) { test(t, mode) })
	}
}

// mainChannel is the channel of the main namespace (default prefix).
const mainChannel = "socket.io#/#"

// roomChannel is the channel of a room of the main namespace.
func roomChannel(room string) string { return mainChannel + room + "#" }

// startShardedPair starts redis-server, a probe client of it, two Go
// nodes (A and B) with the sharded adapter in mode and RequestsTimeout
// timeout, and the sharded Node harness.
func startShardedPair(t *testing.T, mode SubscriptionMode, timeout time.Duration) (r *redisServer, pr *redis.Client, a, b *goNode, p *peer) {
	t.Helper()
	r = startRedis(t)
	pr = probe(t, r)
	opts := ShardedOptions{SubscriptionMode: mode, RequestsTimeout: timeout}
	a = startShardedGoNode(t, r, "A", opts)
	b = startShardedGoNode(t, r, "B", opts)
	return r, pr, a, b, startShardedPeer(t)
}

// connectPair checks that Go nodes a and b count two servers, connects
// the harness clients a1 (to a), b1 and b2 (to b) and returns their
// socket ids.
func connectPair(t *testing.T, p *peer, a, b *goNode) map[string]string {
	t.Helper()
	for _, g := range []*goNode{a, b} {
		if n, err := g.srv.Of("/").Adapter().ServerCount(t.Context()); err != nil || n != 2 {
			t.Fatalf("%s counts %d servers (%v), want 2", g.name, n, err)
		}
	}
	return map[string]string{
		"a1": p.connect("a1", a.url, "/"),
		"b1": p.connect("b1", b.url, "/"),
		"b2": p.connect("b2", b.url, "/"),
	}
}

func TestShardedGoNodes(t *testing.T) { forEachMode(t, testShardedGoNodes) }

func testShardedGoNodes(t *testing.T, mode SubscriptionMode) {
	_, pr, a, b, p := startShardedPair(t, mode, 3*time.Second)
	const main = mainChannel
	ch := roomChannel
	dynamic := mode != SubscriptionStatic
	ids := connectPair(t, p, a, b)
	all := []string{"a1", "b1", "b2"}
	// The sockets' own rooms (UUIDs, not 20 characters) have channels of
	// their own in both dynamic modes.
	for _, id := range ids {
		want := int64(0)
		if dynamic {
			want = 1
		}
		waitNumSub(t, pr, ch(id), want)
	}

	t.Run("broadcast to all", func(t *testing.T) {
		if err := a.srv.Emit("all", []byte(`{"n":1}`), []byte(`[1,2.5,"x"]`)); err != nil {
			t.Fatal(err)
		}
		for _, cl := range all {
			args := p.waitEvent(cl, "all")
			if len(args) != 2 || string(args[0]) != `{"n":1}` || string(args[1]) != `[1,2.5,"x"]` {
				t.Errorf("%s got %s", cl, args)
			}
		}
		expectCounts(t, p, map[string]map[string]int{"all": {"a1": 1, "b1": 1, "b2": 1}})
	})

	t.Run("room, except and a socket of the other node", func(t *testing.T) {
		p.call("join", map[string]any{"name": "a1", "room": "r1"})
		p.call("join", map[string]any{"name": "b1", "room": "r1"})
		if dynamic {
			waitNumSub(t, pr, ch("r1"), 2)
		} else if chs := shardChannels(t, pr, main+"*"); len(chs) != 3 {
			// The namespace channel and the two response channels only.
			t.Errorf("static mode subscribed %q", chs)
		}
		if err := a.srv.To("r1").Emit("toR1", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		if err := a.srv.To("r1").Except(ids["b1"]).Emit("toR1butB1", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		if err := a.srv.To("r1", ids["b2"]).Emit("toR1andB2", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		if err := a.srv.To(ids["b2"]).Emit("toB2", []byte(`"direct"`)); err != nil {
			t.Fatal(err)
		}
		if err := b.srv.Except("r1").Emit("notR1", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		p.waitEvent("b1", "toR1")
		p.waitEvent("a1", "toR1butB1")
		p.waitEvent("b2", "toR1andB2")
		p.waitEvent("b2", "toB2")
		p.waitEvent("b2", "notR1")
		expectCounts(t, p, map[string]map[string]int{
			"toR1":      {"a1": 1, "b1": 1, "b2": 0},
			"toR1butB1": {"a1": 1, "b1": 0, "b2": 0},
			"toR1andB2": {"a1": 1, "b1": 1, "b2": 1},
			"toB2":      {"a1": 0, "b1": 0, "b2": 1},
			"notR1":     {"a1": 0, "b1": 0, "b2": 1},
		})
		// Leaving: the room's channel follows its local members.
		p.call("leave", map[string]any{"name": "b1", "room": "r1"})
		if dynamic {
			waitNumSub(t, pr, ch("r1"), 1)
		}
		p.call("leave", map[string]any{"name": "a1", "room": "r1"})
		if dynamic {
			waitNumSub(t, pr, ch("r1"), 0)
		}
	})

	t.Run("ServerCount, FetchSockets", func(t *testing.T) {
		socks, err := a.srv.FetchSockets()
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]socketio.RemoteSocket{}
		for _, s := range socks {
			byID[s.ID] = s
		}
		if len(socks) != 3 || len(byID) != 3 {
			t.Fatalf("fetched %d sockets: %+v", len(socks), socks)
		}
		b1 := byID[ids["b1"]]
		if b1.Local() != nil || !slices.Contains(b1.Rooms, ids["b1"]) || !strings.Contains(string(b1.Data), `"node":"B"`) ||
			!strings.Contains(string(b1.Handshake.Auth), `"b1"`) || b1.Handshake.Query["EIO"] != "4" {
			t.Errorf("b1 fetched as %+v", b1)
		}
		if a1 := byID[ids["a1"]]; a1.Local() == nil {
			t.Errorf("a1 fetched as %+v", a1)
		}
		// A remote socket is addressed through the adapter.
		if err := b1.Emit("remoteEmit", []byte(`"hi"`)); err != nil {
			t.Fatal(err)
		}
		p.waitEvent("b1", "remoteEmit")
		only, err := b.srv.In(ids["a1"]).FetchSockets()
		if err != nil || len(only) != 1 || only[0].ID != ids["a1"] || !strings.Contains(string(only[0].Data), `"node":"A"`) {
			t.Errorf("B fetched a1: %+v, %v", only, err)
		}
	})

	t.Run("remote join, leave and disconnect", func(t *testing.T) {
		if err := a.srv.In(ids["b2"]).SocketsJoin("moved"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "b2 in room moved on B", func() bool {
			socks, _ := b.srv.Local().In("moved").FetchSockets()
			return len(socks) == 1 && socks[0].ID == ids["b2"]
		})
		if dynamic {
			waitNumSub(t, pr, ch("moved"), 1)
		}
		if err := a.srv.To("moved").Emit("toMoved", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		p.waitEvent("b2", "toMoved")
		if err := a.srv.In("moved").SocketsLeave("moved"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "b2 left moved", func() bool {
			socks, _ := b.srv.Local().In("moved").FetchSockets()
			return len(socks) == 0
		})
		if dynamic {
			waitNumSub(t, pr, ch("moved"), 0)
		}
		expectCounts(t, p, map[string]map[string]int{"toMoved": {"a1": 0, "b1": 0, "b2": 1}})
	})

	t.Run("ServerSideEmit with and without ack", func(t *testing.T) {
		responses, err := answers(t, func(cb func([][]byte, error)) error {
			return a.srv.ServerSideEmitWithAck("sse", [][]byte{[]byte(`{"q":1}`)}, cb)
		})
		if err != nil || len(responses) != 1 || !strings.Contains(string(responses[0]), `"node":"B"`) ||
			!strings.Contains(string(responses[0]), `"arg":{"q":1}`) {
			t.Errorf("responses %s, err %v", responses, err)
		}
		if err := b.srv.ServerSideEmit("sse", []byte(`"noack"`)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "A's listener", func() bool { return sseLogged(a, `"noack"`) })
		if sseLogged(b, `"noack"`) {
			t.Error("a server-side event reached its own node")
		}
	})

	t.Run("broadcast with aggregated acks", func(t *testing.T) {
		responses, err := answers(t, func(cb func([][]byte, error)) error {
			return b.srv.Timeout(5*time.Second).EmitWithAck("ask", [][]byte{[]byte(`{"q":2}`)}, cb)
		})
		clients := ackClients(responses)
		if err != nil || !slices.Equal(clients, all) {
			t.Errorf("acks from %v, err %v", clients, err)
		}
		// Binary answers: a1's through A, b1's and b2's on B itself.
		expectBinaryAcks(t, p, b, all, false)
	})

	t.Run("binary", func(t *testing.T) {
		a.srv.Broadcast([]byte{0xde, 0xad, 0x00, 0x01}, socketio.BinaryMessage)
		for _, cl := range all {
			if got := string(p.waitEvent(cl, "message")[0]); got != `{"$bin":"dead0001"}` {
				t.Errorf("%s got %s", cl, got)
			}
		}
	})

	t.Run("remote disconnect drops the socket's channel", func(t *testing.T) {
		if err := a.srv.In(ids["b2"]).DisconnectSockets(false); err != nil {
			t.Fatal(err)
		}
		p.waitEvent("b2", "disconnect")
		waitNumSub(t, pr, ch(ids["b2"]), 0)
		expectCounts(t, p, map[string]map[string]int{"disconnect": {"a1": 0, "b1": 0, "b2": 1}})
	})

	t.Run("Close unsubscribes every channel of the node", func(t *testing.T) {
		p.call("join", map[string]any{"name": "b1", "room": "kept"})
		if dynamic {
			waitNumSub(t, pr, ch("kept"), 1)
		}
		bAdp := b.srv.Of("/").Adapter().(*shardedAdapter)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := b.srv.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		// Close returns once the unsubscriptions (or the closing of the
		// connection) are sent; Redis applies them right after.
		for _, c := range []string{bAdp.resChannel, ch("kept"), ch(ids["b1"])} {
			waitNumSub(t, pr, c, 0)
		}
		waitNumSub(t, pr, main, 1)
		if n, err := a.srv.Of("/").Adapter().ServerCount(t.Context()); err != nil || n != 1 {
			t.Errorf("A counts %d servers (%v)", n, err)
		}
		// A's own channels are left.
		want := []string{main, a.srv.Of("/").Adapter().(*shardedAdapter).resChannel}
		if dynamic {
			want = append(want, ch(ids["a1"]))
		}
		sort.Strings(want)
		if got := shardChannels(t, pr, main+"*"); !slices.Equal(got, want) {
			t.Errorf("channels %q, want %q", got, want)
		}
	})
}

// interopCase is one configuration of the Go and Node sharded adapters.
type interopCase struct {
	mode        SubscriptionMode
	prefix      string
	streams     bool // the streams adapters (NewStreams, Node's redis-streams-adapter) instead
	streamCount int  // of the streams adapters
}

// dynamic reports whether rooms get sharded channels of their own.
func (c interopCase) dynamic() bool {
	return !c.streams && c.mode != SubscriptionStatic
}

func TestShardedInterop(t *testing.T) {
	for _, c := range []interopCase{
		{mode: SubscriptionDynamic},
		{mode: SubscriptionStatic, prefix: "myapp"},
		{mode: SubscriptionDynamicPrivate},
	} {
		t.Run(string(c.mode), func(t *testing.T) { testShardedInterop(t, c) })
	}
}

// connectInterop checks that Go node a and the harness's Node server (at
// nURL) count two servers, connects the harness clients a1 (to a) and n1
// (to the Node server) and returns their socket ids.
func connectInterop(t *testing.T, p *peer, a *goNode, nURL string) map[string]string {
	t.Helper()
	if n, err := a.srv.Of("/").Adapter().ServerCount(t.Context()); err != nil || n != 2 {
		t.Fatalf("A counts %d servers (%v)", n, err)
	}
	if got := string(p.call("serverCount", nil)["count"]); got != "2" {
		t.Fatalf("the Node server counts %s servers", got)
	}
	return map[string]string{
		"a1": p.connect("a1", a.url, "/"),
		"n1": p.connect("n1", nURL, "/"),
	}
}

func testShardedInterop(t *testing.T, c interopCase) {
	r := startRedis(t)
	pr := probe(t, r)
	prefix := c.prefix
	if prefix == "" {
		prefix = "socket.io"
	}
	main := prefix + "#/#"
	ch := func(room string) string { return main + room + "#" }
	var a *goNode
	if c.streams {
		a = startStreamsGoNode(t, r, "A", StreamsOptions{ChannelPrefix: c.prefix, StreamCount: c.streamCount, RequestsTimeout: 3 * time.Second}, false)
	} else {
		a = startShardedGoNode(t, r, "A", ShardedOptions{ChannelPrefix: c.prefix, SubscriptionMode: c.mode, RequestsTimeout: 3 * time.Second})
	}
	p := startShardedPeer(t)
	serverArgs := map[string]any{"port": 0, "redis": r.url(), "namespaces": []string{"/admin"}, "prefix": c.prefix}
	switch {
	case c.streams:
		serverArgs["streams"] = true
		serverArgs["streamCount"] = c.streamCount
	case c.mode != SubscriptionDynamic:
		// The Node server is given its mode explicitly, except the default.
		serverArgs["mode"] = string(c.mode)
	}
	reply := p.call("server", serverArgs)
	nURL := "http://127.0.0.1:" + string(reply["port"])
	if c.streams {
		waitFor(t, "both servers on "+main, func() bool { return pubNumSub(t, pr, main) == 2 })
	} else {
		waitNumSub(t, pr, main, 2)
	}
	ids := connectInterop(t, p, a, nURL)
	all := []string{"a1", "n1"}
	if c.dynamic() {
		// Node publishes to a1 (not 20 characters long) on its channel.
		waitNumSub(t, pr, ch(ids["a1"]), 1)
	}
	if c.mode == SubscriptionDynamicPrivate {
		waitNumSub(t, pr, ch(ids["n1"]), 1)
	}

	t.Run("emit both ways", func(t *testing.T) {
		if err := a.srv.Emit("fromGo", []byte(`{"n":1}`), []byte(`"s"`)); err != nil {
			t.Fatal(err)
		}
		p.call("emit", map[string]any{"event": "fromNode", "args": []any{map[string]any{"x": []int{1, 2}}, 3.5}})
		for _, cl := range all {
			if args := p.waitEvent(cl, "fromGo"); len(args) != 2 || string(args[0]) != `{"n":1}` || string(args[1]) != `"s"` {
				t.Errorf("%s got fromGo %s", cl, args)
			}
			if args := p.waitEvent(cl, "fromNode"); len(args) != 2 || string(args[0]) != `{"x":[1,2]}` || string(args[1]) != `3.5` {
				t.Errorf("%s got fromNode %s", cl, args)
			}
		}
		expectCounts(t, p, map[string]map[string]int{"fromGo": {"a1": 1, "n1": 1}, "fromNode": {"a1": 1, "n1": 1}})
	})

	t.Run("rooms and socket rooms both ways", func(t *testing.T) {
		p.call("join", map[string]any{"name": "a1", "room": "room1"})
		p.call("join", map[string]any{"name": "n1", "room": "room1"})
		if c.dynamic() {
			waitNumSub(t, pr, ch("room1"), 2)
		}
		if err := a.srv.To("room1").Emit("goRoom", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		p.call("emit", map[string]any{"rooms": []string{"room1"}, "event": "nodeRoom"})
		p.call("emit", map[string]any{"rooms": []string{ids["a1"]}, "event": "nodeToA1"})
		p.call("emit", map[string]any{"rooms": []string{"room1"}, "except": []string{ids["a1"]}, "event": "nodeRoomButA1"})
		if err := a.srv.To(ids["n1"]).Emit("goToN1", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		if err := a.srv.To("room1").Except(ids["n1"]).Emit("goRoomButN1", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		p.waitEvent("a1", "goRoom")
		p.waitEvent("n1", "goRoom")
		p.waitEvent("a1", "nodeRoom")
		p.waitEvent("n1", "nodeRoom")
		p.waitEvent("a1", "nodeToA1")
		p.waitEvent("n1", "nodeRoomButA1")
		p.waitEvent("n1", "goToN1")
		p.waitEvent("a1", "goRoomButN1")
		expectCounts(t, p, map[string]map[string]int{
			"goRoom":        {"a1": 1, "n1": 1},
			"nodeRoom":      {"a1": 1, "n1": 1},
			"nodeToA1":      {"a1": 1, "n1": 0},
			"nodeRoomButA1": {"a1": 0, "n1": 1},
			"goToN1":        {"a1": 0, "n1": 1},
			"goRoomButN1":   {"a1": 1, "n1": 0},
		})
	})

	t.Run("FetchSockets both ways", func(t *testing.T) {
		socks, err := a.srv.FetchSockets()
		if err != nil || len(socks) != 2 {
			t.Fatalf("fetched %+v, %v", socks, err)
		}
		for _, s := range socks {
			if s.ID == ids["n1"] && (s.Local() != nil || !slices.Contains(s.Rooms, "room1") ||
				!strings.Contains(string(s.Data), `"node":"node"`) || s.Handshake.Address == "") {
				t.Errorf("n1 fetched as %+v", s)
			}
		}
		inRoom, err := a.srv.In("room1").Except(ids["a1"]).FetchSockets()
		if err != nil || len(inRoom) != 1 || inRoom[0].ID != ids["n1"] {
			t.Errorf("room1 but a1: %+v, %v", inRoom, err)
		}
		r := p.call("fetch", nil)
		var fetched []struct {
			ID    string          `json:"id"`
			Rooms []string        `json:"rooms"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(r["sockets"], &fetched); err != nil || len(fetched) != 2 {
			t.Fatalf("node fetched %s (%v)", r["sockets"], err)
		}
		found := false
		for _, f := range fetched {
			if f.ID == ids["a1"] {
				found = strings.Contains(string(f.Data), `"node":"A"`) && slices.Contains(f.Rooms, "room1")
			}
		}
		if !found {
			t.Errorf("node fetched %s", r["sockets"])
		}
	})

	t.Run("remote join, leave and the room channels", func(t *testing.T) {
		p.call("socketsJoin", map[string]any{"rooms": []string{ids["a1"]}, "join": "fromNode"})
		waitFor(t, "a1 in room fromNode", func() bool {
			socks, _ := a.srv.Local().In("fromNode").FetchSockets()
			return len(socks) == 1
		})
		if c.dynamic() {
			waitNumSub(t, pr, ch("fromNode"), 1)
		}
		p.call("emit", map[string]any{"rooms": []string{"fromNode"}, "event": "toFromNode"})
		p.waitEvent("a1", "toFromNode")
		if err := a.srv.In(ids["n1"]).SocketsJoin("fromGo"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "n1 in room fromGo", func() bool {
			var socks []json.RawMessage
			_ = json.Unmarshal(p.call("fetch", map[string]any{"rooms": []string{"fromGo"}})["sockets"], &socks)
			return len(socks) == 1
		})
		if c.dynamic() {
			waitNumSub(t, pr, ch("fromGo"), 1)
		}
		if err := a.srv.To("fromGo").Emit("toFromGo", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		p.waitEvent("n1", "toFromGo")
		p.call("socketsLeave", map[string]any{"rooms": []string{"fromNode"}, "leave": "fromNode"})
		waitFor(t, "a1 left fromNode", func() bool {
			socks, _ := a.srv.Local().In("fromNode").FetchSockets()
			return len(socks) == 0
		})
		waitNumSub(t, pr, ch("fromNode"), 0)
		expectCounts(t, p, map[string]map[string]int{"toFromNode": {"a1": 1, "n1": 0}, "toFromGo": {"a1": 0, "n1": 1}})
	})

	t.Run("ServerSideEmit both ways", func(t *testing.T) {
		responses, err := answers(t, func(cb func([][]byte, error)) error {
			return a.srv.ServerSideEmitWithAck("sse", [][]byte{[]byte(`{"q":1}`)}, cb)
		})
		if err != nil || len(responses) != 1 || string(responses[0]) != `{"node":"node","arg":{"q":1}}` {
			t.Errorf("responses %s, err %v", responses, err)
		}
		reply := p.call("sse", map[string]any{"event": "sse", "args": []any{"x"}, "ack": true})
		var fromNode []struct {
			Node string `json:"node"`
			Arg  string `json:"arg"`
		}
		if err := json.Unmarshal(reply["responses"], &fromNode); err != nil || len(fromNode) != 1 || fromNode[0].Node != "A" || fromNode[0].Arg != "x" {
			t.Errorf("node's serverSideEmitWithAck: %s %s", reply["responses"], reply["error"])
		}
		p.call("sse", map[string]any{"nsp": "/admin", "event": "sse", "args": []any{"adminNoAck"}})
		waitFor(t, "A's /admin listener", func() bool { return sseLogged(a, `"adminNoAck"`) })
		if err := a.srv.ServerSideEmit("sse", []byte(`"goNoAck"`)); err != nil {
			t.Fatal(err)
		}
		if !p.waitArg(5*time.Second, `"goNoAck"`) {
			t.Error("the Node server did not get the server-side event")
		}
	})

	t.Run("broadcast acks both ways", func(t *testing.T) {
		responses, err := answers(t, func(cb func([][]byte, error)) error {
			return a.srv.Timeout(5*time.Second).EmitWithAck("askGo", [][]byte{[]byte(`1`)}, cb)
		})
		clients := ackClients(responses)
		if err != nil || !slices.Equal(clients, all) {
			t.Errorf("acks from %v, err %v", clients, err)
		}
		expectPeerAcks(t, p, "askNode", 2)
		// Binary answers: n1's through the Node server; a1's through A
		// to the Node server.
		expectBinaryAcks(t, p, a, all, true)
	})

	t.Run("binary both ways", func(t *testing.T) {
		p.call("emit", map[string]any{"event": "binN", "args": []any{map[string]any{"b": map[string]string{"$bin": "00017bff"}, "n": 5}}})
		p.call("emit", map[string]any{"rooms": []string{"room1"}, "event": "binRoomN", "args": []any{map[string]string{"$bin": "cafe"}}})
		a.srv.Broadcast([]byte{0xde, 0xad, 0x00, 0x01}, socketio.BinaryMessage)
		for _, cl := range all {
			if got := string(p.waitEvent(cl, "binN")[0]); got != `{"b":{"$bin":"00017bff"},"n":5}` {
				t.Errorf("%s got %s", cl, got)
			}
			if got := string(p.waitEvent(cl, "binRoomN")[0]); got != `{"$bin":"cafe"}` {
				t.Errorf("%s got %s", cl, got)
			}
			if got := string(p.waitEvent(cl, "message")[0]); got != `{"$bin":"dead0001"}` {
				t.Errorf("%s got %s", cl, got)
			}
		}
	})

	t.Run("other namespace and remote disconnect", func(t *testing.T) {
		p.connect("a2", a.url, "/admin")
		p.connect("n2", nURL, "/admin")
		p.call("emit", map[string]any{"nsp": "/admin", "event": "adminN"})
		if err := a.srv.Of("/admin").Emit("adminGo", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		for _, cl := range []string{"a2", "n2"} {
			p.waitEvent(cl, "adminN")
			p.waitEvent(cl, "adminGo")
		}
		if err := a.srv.Of("/admin").DisconnectSockets(false); err != nil {
			t.Fatal(err)
		}
		p.waitEvent("n2", "disconnect")
		p.waitEvent("a2", "disconnect")
		p.call("disconnectSockets", map[string]any{"rooms": []string{ids["a1"]}})
		p.waitEvent("a1", "disconnect")
		expectCounts(t, p, map[string]map[string]int{"adminN": {"a1": 0, "n1": 0}, "disconnect": {"n1": 0}})
	})
}

// TestShardedRequestsTimeout has a silent subscriber of the namespace
// channel: it counts as a server and never answers.
func TestShardedRequestsTimeout(t *testing.T) {
	r := startRedis(t)
	pr := probe(t, r)
	a := startShardedGoNode(t, r, "A", ShardedOptions{RequestsTimeout: 400 * time.Millisecond})
	silent := pr.SSubscribe(t.Context(), "socket.io#/#")
	defer silent.Close()
	if _, err := silent.Receive(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, err := a.srv.Of("/").Adapter().ServerCount(t.Context()); err != nil || n != 2 {
		t.Fatalf("%d servers, %v", n, err)
	}
	p := startShardedPeer(t)
	id := p.connect("a1", a.url, "/")
	start := time.Now()
	socks, err := a.srv.FetchSockets()
	if !errors.Is(err, socketio.ErrAdapterTimeout) || len(socks) != 1 || socks[0].ID != id {
		t.Errorf("FetchSockets: %+v, %v", socks, err)
	}
	if d := time.Since(start); d < 350*time.Millisecond || d > 3*time.Second {
		t.Errorf("FetchSockets took %v", d)
	}
	_, err = answers(t, func(cb func([][]byte, error)) error {
		return a.srv.ServerSideEmitWithAck("sse", nil, cb)
	})
	if !errors.Is(err, socketio.ErrAdapterTimeout) {
		t.Errorf("ServerSideEmitWithAck: %v", err)
	}
	// The operator's timeout bounds FetchSockets too.
	start = time.Now()
	if _, err := a.srv.Timeout(150 * time.Millisecond).FetchSockets(); err == nil {
		t.Error("FetchSockets with a timeout did not fail")
	}
	if d := time.Since(start); d > 350*time.Millisecond {
		t.Errorf("FetchSockets with a 150ms timeout took %v", d)
	}
}

func TestShardedOptions(t *testing.T) {
	o := ShardedOptions{}.normalized()
	if o.ChannelPrefix != "socket.io" || o.SubscriptionMode != SubscriptionDynamic || o.RequestsTimeout != 5*time.Second || o.Logger == nil {
		t.Errorf("defaults %+v", o)
	}
	func() {
		defer func() {
			err, _ := recover().(error)
			if !errors.Is(err, ErrSubscriptionMode) {
				t.Errorf("recovered %v", err)
			}
		}()
		NewSharded(nil, ShardedOptions{SubscriptionMode: "sometimes"})
	}()
}

// TestShardedChannels checks the channel choices against Node's rules.
func TestShardedChannels(t *testing.T) {
	nodeSid := "abcdefghijklmnopqrst" // 20 characters, as Node's ids
	goSid := "0d9c3b5e-3b1a-4a43-9f5e-2d1b6c1f7e10"
	one := func(r string) socketio.BroadcastOptions { return socketio.BroadcastOptions{Rooms: []string{r}} }
	for _, tc := range []struct {
		mode SubscriptionMode
		opts socketio.BroadcastOptions
		want string
	}{
		{SubscriptionStatic, one("room"), "p#/n#"},
		{SubscriptionDynamic, one("room"), "p#/n#room#"},
		{SubscriptionDynamic, one(nodeSid), "p#/n#"},
		{SubscriptionDynamic, one(goSid), "p#/n#" + goSid + "#"},
		{SubscriptionDynamic, socketio.BroadcastOptions{Rooms: []string{"a", "b"}}, "p#/n#"},
		{SubscriptionDynamic, socketio.BroadcastOptions{}, "p#/n#"},
		{SubscriptionDynamicPrivate, one(nodeSid), "p#/n#" + nodeSid + "#"},
	} {
		a := &shardedAdapter{mode: tc.mode, channel: "p#/n#"}
		if got := a.broadcastChannel(tc.opts); got != tc.want {
			t.Errorf("%s %v: %q, want %q", tc.mode, tc.opts.Rooms, got, tc.want)
		}
	}
	for _, tc := range []struct {
		mode    SubscriptionMode
		room    string
		private bool
		want    bool
	}{
		{SubscriptionStatic, "room", false, false},
		{SubscriptionDynamic, "room", false, true},
		{SubscriptionDynamic, nodeSid, false, true},
		{SubscriptionDynamic, nodeSid, true, false},
		{SubscriptionDynamic, goSid, true, true},
		{SubscriptionDynamicPrivate, nodeSid, true, true},
	} {
		a := &shardedAdapter{mode: tc.mode}
		if got := a.ownChannel(tc.room, tc.private); got != tc.want {
			t.Errorf("%s %q private %v: %v", tc.mode, tc.room, tc.private, got)
		}
	}
}
