package redisadapter

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestShardedResilience kills redis-server under two Go nodes with the
// sharded adapter, in each subscription mode, and starts it again on the
// same port (empty: every subscription is gone with it).
//
// While it is down: local delivery goes on; ServerCount, FetchSockets,
// ServerSideEmitWithAck and EmitWithAck fail at once with ErrUnavailable
// (NewSharded's promise); the loss is logged; sockets join and leave rooms
// and connect, and a namespace is created without waiting for Redis. Once
// it is back: each subscriber reconnects and
// resubscribes exactly the channels it should have (the namespace's, the
// response channels and, in the dynamic modes, the rooms' and sockets'
// channels, those of the rooms joined and sockets connected during the
// outage included, and not those of the rooms left), and broadcasts to
// all, to a room and to a socket id cross the nodes again, as do the
// requests; the new namespace's channel is subscribed too.
func TestShardedResilience(t *testing.T) { forEachMode(t, testShardedResilience) }

func testShardedResilience(t *testing.T, mode SubscriptionMode) {
	r, pr, a, b, p := startShardedPair(t, mode, time.Second)
	dynamic := mode != SubscriptionStatic
	ids := map[string]string{
		"a1": p.connect("a1", a.url, "/"),
		"b1": p.connect("b1", b.url, "/"),
		"b2": p.connect("b2", b.url, "/"),
	}
	p.call("join", map[string]any{"name": "b1", "room": "before"})
	p.call("join", map[string]any{"name": "b2", "room": "gone"})
	// channels lists the channels the two nodes should be subscribed to.
	channels := func(rooms ...string) []string {
		chs := []string{mainChannel}
		for _, g := range []*goNode{a, b} {
			chs = append(chs, g.srv.Of("/").Adapter().(*shardedAdapter).resChannel)
		}
		if dynamic {
			for _, room := range rooms {
				chs = append(chs, roomChannel(room))
			}
			for _, id := range ids {
				chs = append(chs, roomChannel(id))
			}
		}
		sort.Strings(chs)
		return chs
	}
	waitChannels := func(want []string) {
		t.Helper()
		var got []string
		ok := false
		defer func() {
			if !ok {
				t.Logf("subscribed: %s", strings.Join(got, " "))
			}
		}()
		waitFor(t, "the channels "+strings.Join(want, " "), func() bool {
			got = shardChannels(t, pr, mainChannel+"*")
			return slices.Equal(got, want)
		})
		ok = true
	}
	waitChannels(channels("before", "gone"))
	if err := a.srv.Emit("before", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	p.waitEvent("b1", "before")

	killRedis(t, r, a, b)
	emitWhileDown(t, a, p, "a1")
	// A broadcast to a room, and one to a socket id, are delivered
	// locally too.
	if err := b.srv.To("before").Emit("downToBefore", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	if err := b.srv.To(ids["b2"]).Emit("downToB2", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	p.waitEvent("b1", "downToBefore")
	p.waitEvent("b2", "downToB2")
	waitFor(t, "the failed publish to be logged", func() bool { return a.logs.count("publish failed") > 0 })
	expectUnavailable(t, a, 1)
	expectUnavailable(t, b, 2)

	// Room changes and a new socket while Redis is down; the subscriber
	// applies them (and fails to send them) before Redis is back.
	p.call("join", map[string]any{"name": "b2", "room": "during"})
	p.call("leave", map[string]any{"name": "b2", "room": "gone"})
	ids["b3"] = p.connect("b3", b.url, "/")
	// A namespace created while Redis is down does not wait for it.
	for _, g := range []*goNode{a, b} {
		start := time.Now()
		g.srv.Of("/late")
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("%s created a namespace in %v while Redis was down", g.name, d)
		}
	}
	b.srv.Of("/").Adapter().(*shardedAdapter).node.sync(5 * time.Second)
	if dynamic && b.logs.count("subscribe failed, retrying on reconnect") == 0 {
		t.Error("B did not log the subscriptions it could not send")
	}

	restartRedis(t, r, p, a, "b1", a, b)
	waitChannels(channels("before", "during"))
	waitNumSub(t, pr, "socket.io#/late#", 2)
	for _, g := range []*goNode{a, b} {
		for _, nsp := range []string{"/", "/late"} {
			if n, err := g.srv.Of(nsp).Adapter().ServerCount(t.Context()); err != nil || n != 2 {
				t.Errorf("%s counts %d servers of %s (%v) after the restart, want 2", g.name, n, nsp, err)
			}
		}
	}

	// Cross-node broadcasts: to all, to rooms (joined before and during
	// the outage), to socket ids (of sockets connected before and during
	// it), both ways.
	emit := func(g *goNode, to, event string) {
		t.Helper()
		op := g.srv.Of("/").Operator()
		if to != "" {
			op = op.To(to)
		}
		if err := op.Emit(event, []byte(`1`)); err != nil {
			t.Fatal(err)
		}
	}
	emit(a, "", "afterAll")
	emit(a, "before", "afterBefore")
	emit(a, "during", "afterDuring")
	emit(a, "gone", "afterGone")
	emit(a, ids["b1"], "afterB1")
	emit(a, ids["b3"], "afterB3")
	emit(b, ids["a1"], "afterA1")
	want := map[string]map[string]int{
		"afterAll":    {"a1": 1, "b1": 1, "b2": 1, "b3": 1},
		"afterBefore": {"a1": 0, "b1": 1, "b2": 0, "b3": 0},
		"afterDuring": {"a1": 0, "b1": 0, "b2": 1, "b3": 0},
		"afterGone":   {"a1": 0, "b1": 0, "b2": 0, "b3": 0},
		"afterB1":     {"a1": 0, "b1": 1, "b2": 0, "b3": 0},
		"afterB3":     {"a1": 0, "b1": 0, "b2": 0, "b3": 1},
		"afterA1":     {"a1": 1, "b1": 0, "b2": 0, "b3": 0},
	}
	for ev, clients := range want {
		for cl, n := range clients {
			if n > 0 {
				p.waitEvent(cl, ev)
			}
		}
	}
	expectCounts(t, p, want)
	expectOutageLoggedOnce(t, a)
	expectNoDuplicateDownEvents(t, p, "b1")

	// The requests work again.
	if socks, err := a.srv.FetchSockets(); err != nil || len(socks) != 4 {
		t.Errorf("FetchSockets after the restart: %d sockets, %v", len(socks), err)
	}
	responses, err := answers(t, func(cb func([][]byte, error)) error {
		return a.srv.ServerSideEmitWithAck("sse", nil, cb)
	})
	if err != nil || len(responses) != 1 || !strings.Contains(string(responses[0]), `"node":"B"`) {
		t.Errorf("ServerSideEmitWithAck after the restart: %s, %v", responses, err)
	}
	responses, err = answers(t, func(cb func([][]byte, error)) error {
		return b.srv.Timeout(5*time.Second).EmitWithAck("ask", nil, cb)
	})
	if clients := ackClients(responses); err != nil || !slices.Equal(clients, []string{"a1", "b1", "b2", "b3"}) {
		t.Errorf("EmitWithAck after the restart: acks from %v, %v", clients, err)
	}
}
