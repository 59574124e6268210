package redisadapter

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	socketio "github.com/fiber-socketio/socketio"
	"github.com/redis/go-redis/v9"
)

// redisCluster is a Redis Cluster of three masters (no replicas) on
// loopback ports.
type redisCluster struct {
	nodes []*redisServer
}

// addrs are the addresses of the masters.
func (c *redisCluster) addrs() []string {
	var a []string
	for _, n := range c.nodes {
		a = append(a, n.addr())
	}
	return a
}

// startRedisCluster starts three redis-server processes in cluster mode,
// each in a temporary directory of its own, and joins them with
// redis-cli --cluster create; they stop when the test ends. The test is
// skipped when cluster mode cannot be started here.
func startRedisCluster(t *testing.T) *redisCluster {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skipf("redis-cli is not installed, a Redis Cluster cannot be created: %v", err)
	}
	c := &redisCluster{}
	for range 3 {
		c.nodes = append(c.nodes, startRedisArgs(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000"))
	}
	args := append([]string{"--cluster", "create"}, c.addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Skipf("redis-cli --cluster create failed, cluster mode cannot start here: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range c.nodes {
		cl := redis.NewClient(&redis.Options{Addr: n.addr()})
		for {
			info, err := cl.ClusterInfo(t.Context()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				_ = cl.Close()
				t.Fatalf("cluster node %s not ready: %q %v", n.addr(), info, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = cl.Close()
	}
	return c
}

// client is a cluster client of the test, closed when it ends.
func (c *redisCluster) client(t *testing.T) *redis.ClusterClient {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.addrs()})
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// numSubOn is PUBSUB SHARDNUMSUB of channel, asked of the master owning
// its slot.
func (c *redisCluster) numSub(t *testing.T, cc *redis.ClusterClient, channel string) int64 {
	t.Helper()
	m, err := cc.MasterForKey(t.Context(), channel)
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.PubSubShardNumSub(t.Context(), channel).Result()
	if err != nil {
		t.Fatal(err)
	}
	return res[channel]
}

func (c *redisCluster) waitNumSub(t *testing.T, cc *redis.ClusterClient, channel string, n int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s with %d subscribers", channel, n), func() bool { return c.numSub(t, cc, channel) == n })
}

// spreadRooms returns rooms whose channels (ch of the room) are in as many
// slots and on every master of the cluster.
func spreadRooms(t *testing.T, pr *redis.ClusterClient, ch func(room string) string) []string {
	t.Helper()
	var rooms []string
	masters := map[string]bool{}
	slots := map[int64]bool{}
	for i := range 12 {
		r := fmt.Sprintf("room%d", i)
		rooms = append(rooms, r)
		m, err := pr.MasterForKey(t.Context(), ch(r))
		if err != nil {
			t.Fatal(err)
		}
		masters[m.Options().Addr] = true
		slot, err := pr.ClusterKeySlot(t.Context(), ch(r)).Result()
		if err != nil {
			t.Fatal(err)
		}
		slots[slot] = true
		if hashSlot(ch(r)) != int(slot) {
			t.Errorf("hashSlot(%q) = %d, Redis says %d", ch(r), hashSlot(ch(r)), slot)
		}
	}
	if len(masters) != 3 || len(slots) != len(rooms) {
		t.Fatalf("the rooms' channels are on %d masters and %d slots", len(masters), len(slots))
	}
	return rooms
}

// TestShardedRedisCluster runs two Go nodes with the sharded adapter on a
// *redis.ClusterClient of a three-master Redis Cluster, with rooms whose
// channels are spread over the slots and masters.
func TestShardedRedisCluster(t *testing.T) { forEachClusterMode(t, "cl-", testShardedRedisCluster) }

// clusterCase is one subtest of forEachClusterMode: a subscription mode
// on a Redis Cluster shared by the subtests, with a channel prefix of its
// own.
type clusterCase struct {
	rc     *redisCluster
	pr     *redis.ClusterClient // probe client
	mode   SubscriptionMode
	prefix string
	main   string // the main namespace's channel
}

// ch is the channel of a room of the main namespace.
func (c *clusterCase) ch(room string) string { return c.main + room + "#" }

// startGoNode starts a Go node with the sharded adapter on a cluster
// client.
func (c *clusterCase) startGoNode(t *testing.T, name string) *goNode {
	t.Helper()
	opts := ShardedOptions{SubscriptionMode: c.mode, RequestsTimeout: 3 * time.Second, ChannelPrefix: c.prefix}
	return startNodeOn(t, c.rc.client(t), name, func(client redis.UniversalClient, logger func(level, msg string, fields ...any)) socketio.AdapterFactory {
		opts.Logger = logger
		return NewSharded(client, opts)
	})
}

// forEachClusterMode starts a Redis Cluster and runs test as a subtest
// for each subscription mode, with the channel prefix prefix+mode.
func forEachClusterMode(t *testing.T, prefix string, test func(t *testing.T, c *clusterCase)) {
	rc := startRedisCluster(t)
	pr := rc.client(t)
	for _, mode := range shardedModes {
		t.Run(string(mode), func(t *testing.T) {
			p := prefix + string(mode)
			test(t, &clusterCase{rc: rc, pr: pr, mode: mode, prefix: p, main: p + "#/#"})
		})
	}
}

func testShardedRedisCluster(t *testing.T, c *clusterCase) {
	rc, pr, mode, main, ch := c.rc, c.pr, c.mode, c.main, c.ch
	dynamic := mode != SubscriptionStatic
	a, b := c.startGoNode(t, "A"), c.startGoNode(t, "B")
	p := startShardedPeer(t)

	rooms := spreadRooms(t, pr, ch)

	ids := connectPair(t, p, a, b)
	all := []string{"a1", "b1", "b2"}
	if dynamic {
		for _, id := range ids {
			rc.waitNumSub(t, pr, ch(id), 1)
		}
	}
	for _, r := range rooms {
		p.call("join", map[string]any{"name": "a1", "room": r})
		p.call("join", map[string]any{"name": "b1", "room": r})
	}
	if dynamic {
		for _, r := range rooms {
			rc.waitNumSub(t, pr, ch(r), 2)
		}
	}

	// checks runs the cross-node operations; n numbers the events.
	checks := func(t *testing.T, n int) {
		ev := func(name string) string { return fmt.Sprintf("%s%d", name, n) }
		if err := a.srv.Emit(ev("all"), []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		for _, cl := range all {
			p.waitEvent(cl, ev("all"))
		}
		for _, r := range rooms {
			if err := a.srv.To(r).Emit(ev("to"+r), []byte(`1`)); err != nil {
				t.Fatal(err)
			}
			if err := b.srv.To(r).Emit(ev("fromB"+r), []byte(`1`)); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.srv.To(ids["b2"]).Emit(ev("toB2"), []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		if err := b.srv.To(ids["a1"]).Emit(ev("toA1"), []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		for _, r := range rooms {
			p.waitEvent("b1", ev("to"+r))
			p.waitEvent("a1", ev("fromB"+r))
		}
		p.waitEvent("b2", ev("toB2"))
		p.waitEvent("a1", ev("toA1"))
		want := map[string]map[string]int{
			ev("all"):  {"a1": 1, "b1": 1, "b2": 1},
			ev("toB2"): {"a1": 0, "b1": 0, "b2": 1},
			ev("toA1"): {"a1": 1, "b1": 0, "b2": 0},
		}
		for _, r := range rooms {
			want[ev("to"+r)] = map[string]int{"a1": 1, "b1": 1, "b2": 0}
			want[ev("fromB"+r)] = map[string]int{"a1": 1, "b1": 1, "b2": 0}
		}
		expectCounts(t, p, want)

		for _, g := range []*goNode{a, b} {
			if n, err := g.srv.Of("/").Adapter().ServerCount(t.Context()); err != nil || n != 2 {
				t.Errorf("%s counts %d servers (%v), want 2", g.name, n, err)
			}
		}
		socks, err := a.srv.FetchSockets()
		if err != nil || len(socks) != 3 {
			t.Errorf("A fetched %d sockets (%v)", len(socks), err)
		}
		only, err := b.srv.In(ids["a1"]).FetchSockets()
		if err != nil || len(only) != 1 || only[0].ID != ids["a1"] || !slices.Contains(only[0].Rooms, rooms[0]) {
			t.Errorf("B fetched a1: %+v, %v", only, err)
		}

		moved := ev("moved")
		if err := a.srv.In(ids["b2"]).SocketsJoin(moved); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "b2 in room moved on B", func() bool {
			socks, _ := b.srv.Local().In(moved).FetchSockets()
			return len(socks) == 1 && socks[0].ID == ids["b2"]
		})
		if dynamic {
			rc.waitNumSub(t, pr, ch(moved), 1)
		}
		if err := a.srv.To(moved).Emit(ev("toMoved"), []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		p.waitEvent("b2", ev("toMoved"))
		if err := a.srv.In(moved).SocketsLeave(moved); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "b2 left moved", func() bool {
			socks, _ := b.srv.Local().In(moved).FetchSockets()
			return len(socks) == 0
		})
		if dynamic {
			rc.waitNumSub(t, pr, ch(moved), 0)
		}

		responses, err := answers(t, func(cb func([][]byte, error)) error {
			return a.srv.ServerSideEmitWithAck("sse", [][]byte{[]byte(fmt.Sprintf(`{"q":%d}`, n))}, cb)
		})
		if err != nil || len(responses) != 1 || !strings.Contains(string(responses[0]), `"node":"B"`) {
			t.Errorf("server-side emit: responses %s, err %v", responses, err)
		}
		responses, err = answers(t, func(cb func([][]byte, error)) error {
			return b.srv.Timeout(5*time.Second).EmitWithAck(ev("ask"), [][]byte{[]byte(`1`)}, cb)
		})
		if clients := ackClients(responses); err != nil || !slices.Equal(clients, all) {
			t.Errorf("acks from %v, err %v", clients, err)
		}
	}
	t.Run("across nodes", func(t *testing.T) { checks(t, 1) })

	t.Run("subscriptions restored after the connections are killed", func(t *testing.T) {
		for _, addr := range rc.addrs() {
			c := redis.NewClient(&redis.Options{Addr: addr})
			if err := c.ClientKillByFilter(t.Context(), "TYPE", "pubsub").Err(); err != nil {
				t.Fatal(err)
			}
			_ = c.Close()
		}
		waitFor(t, "every subscription back", func() bool {
			for _, r := range rooms {
				if dynamic && rc.numSub(t, pr, ch(r)) != 2 {
					return false
				}
			}
			return rc.numSub(t, pr, main) == 2
		})
		checks(t, 2)
	})

	t.Run("rooms left", func(t *testing.T) {
		for _, r := range rooms {
			p.call("leave", map[string]any{"name": "b1", "room": r})
		}
		if dynamic {
			for _, r := range rooms {
				rc.waitNumSub(t, pr, ch(r), 1)
			}
		}
	})
	// The only warnings are the killed connections'.
	for _, g := range []*goNode{a, b} {
		if n := g.logs.count("warn"); n != g.logs.count("warn redis subscription lost") {
			t.Errorf("%s logged %d other warnings", g.name, n-g.logs.count("warn redis subscription lost"))
		}
	}
}

// TestShardedRedisClusterInterop runs a Go node and a Node server
// (node-redis's createCluster) with the sharded adapter on a Redis
// Cluster.
func TestShardedRedisClusterInterop(t *testing.T) {
	forEachClusterMode(t, "io-", testShardedRedisClusterInterop)
}

func testShardedRedisClusterInterop(t *testing.T, c *clusterCase) {
	rc, pr, mode, prefix, main, ch := c.rc, c.pr, c.mode, c.prefix, c.main, c.ch
	a := c.startGoNode(t, "A")
	p := startShardedPeer(t)
	var urls []string
	for _, addr := range rc.addrs() {
		urls = append(urls, "redis://"+addr)
	}
	reply := p.call("server", map[string]any{"port": 0, "cluster": urls, "prefix": prefix, "mode": string(mode)})
	nURL := "http://127.0.0.1:" + string(reply["port"])
	rc.waitNumSub(t, pr, main, 2)
	ids := connectInterop(t, p, a, nURL)
	all := []string{"a1", "n1"}
	rooms := spreadRooms(t, pr, ch)
	for _, r := range rooms {
		p.call("join", map[string]any{"name": "a1", "room": r})
		p.call("join", map[string]any{"name": "n1", "room": r})
	}
	if mode != SubscriptionStatic {
		rc.waitNumSub(t, pr, ch(ids["a1"]), 1)
		for _, r := range rooms {
			rc.waitNumSub(t, pr, ch(r), 2)
		}
	}

	for _, r := range rooms {
		if err := a.srv.To(r).Emit("go"+r, []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		p.call("emit", map[string]any{"rooms": []string{r}, "event": "node" + r})
	}
	if err := a.srv.To(ids["n1"]).Emit("goToN1", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	p.call("emit", map[string]any{"rooms": []string{ids["a1"]}, "event": "nodeToA1"})
	want := map[string]map[string]int{"goToN1": {"a1": 0, "n1": 1}, "nodeToA1": {"a1": 1, "n1": 0}}
	for _, r := range rooms {
		p.waitEvent("n1", "go"+r)
		p.waitEvent("a1", "node"+r)
		want["go"+r] = map[string]int{"a1": 1, "n1": 1}
		want["node"+r] = map[string]int{"a1": 1, "n1": 1}
	}
	p.waitEvent("n1", "goToN1")
	p.waitEvent("a1", "nodeToA1")
	expectCounts(t, p, want)

	socks, err := a.srv.FetchSockets()
	if err != nil || len(socks) != 2 {
		t.Errorf("A fetched %d sockets (%v)", len(socks), err)
	}
	var fetched []json.RawMessage
	if err := json.Unmarshal(p.call("fetch", map[string]any{"rooms": []string{rooms[1]}})["sockets"], &fetched); err != nil || len(fetched) != 2 {
		t.Errorf("Node fetched %d sockets (%v)", len(fetched), err)
	}
	responses, err := answers(t, func(cb func([][]byte, error)) error {
		return a.srv.ServerSideEmitWithAck("sse", [][]byte{[]byte(`"fromGo"`)}, cb)
	})
	if err != nil || len(responses) != 1 || !strings.Contains(string(responses[0]), `"node"`) {
		t.Errorf("server-side emit from Go: responses %s, err %v", responses, err)
	}
	r := p.call("sse", map[string]any{"event": "sse", "args": []any{"fromNode"}, "ack": true})
	if !strings.Contains(string(r["responses"]), `"node":"A"`) {
		t.Errorf("server-side emit from Node: %s %s", r["responses"], r["error"])
	}
	responses, err = answers(t, func(cb func([][]byte, error)) error {
		return a.srv.Timeout(5*time.Second).EmitWithAck("ask", [][]byte{[]byte(`1`)}, cb)
	})
	if clients := ackClients(responses); err != nil || !slices.Equal(clients, all) {
		t.Errorf("acks from %v, err %v", clients, err)
	}
	expectPeerAcks(t, p, "askNode", 2)
}
