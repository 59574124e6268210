package redisadapter

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	socketio "github.com/fiber-socketio/socketio"
)

// cluster is two Go nodes (A, B) and one Node node (N) on one Redis, with
// a client on each: a1 on A, b1 on B, n1 on N.
type cluster struct {
	redis *redisServer
	a, b  *goNode
	peer  *peer
	ids   map[string]string
	// nodeURL is the Node server's URL.
	nodeURL string
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	r := startRedis(t)
	c := &cluster{redis: r, ids: map[string]string{}}
	c.a = startGoNode(t, r, "A", Options{RequestsTimeout: 3 * time.Second})
	c.b = startGoNode(t, r, "B", Options{RequestsTimeout: 3 * time.Second})
	c.peer = startPeer(t)
	reply := c.peer.call("server", map[string]any{"port": 0, "redis": r.url(), "namespaces": []string{"/admin"}})
	c.nodeURL = "http://127.0.0.1:" + string(reply["port"])
	// Every node subscribed: three request-channel subscribers.
	waitFor(t, "three servers", func() bool {
		n, err := c.a.srv.Of("/").Adapter().ServerCount(t.Context())
		return err == nil && n == 3
	})
	r2 := c.peer.call("serverCount", nil)
	if string(r2["count"]) != "3" {
		t.Fatalf("the Node server sees %s servers, want 3", r2["count"])
	}
	return c
}

// quiet waits a little so that a duplicate or misrouted delivery would
// have arrived.
func quiet() { time.Sleep(300 * time.Millisecond) }

func TestCluster(t *testing.T) {
	c := startCluster(t)
	p := c.peer
	nURL := c.nodeURL
	c.ids["a1"] = p.connect("a1", c.a.url, "/")
	c.ids["b1"] = p.connect("b1", c.b.url, "/")
	c.ids["n1"] = p.connect("n1", nURL, "/")
	all := []string{"a1", "b1", "n1"}

	t.Run("broadcast from every node reaches every client once", func(t *testing.T) {
		if err := c.a.srv.Emit("fromA", []byte(`{"n":1}`)); err != nil {
			t.Fatal(err)
		}
		if err := c.b.srv.Emit("fromB", []byte(`"b"`), []byte(`[1,2.5,-3]`)); err != nil {
			t.Fatal(err)
		}
		p.call("emit", map[string]any{"event": "fromN", "args": []any{map[string]any{"x": "y"}}})
		for _, cl := range all {
			if got := string(p.waitEvent(cl, "fromB")[1]); got != `[1,2.5,-3]` {
				t.Errorf("%s got fromB arg %s", cl, got)
			}
			if got := string(p.waitEvent(cl, "fromA")[0]); got != `{"n":1}` {
				t.Errorf("%s got fromA arg %s", cl, got)
			}
			p.waitEvent(cl, "fromN")
		}
		quiet()
		for _, cl := range all {
			for _, ev := range []string{"fromA", "fromB", "fromN"} {
				if n := p.count(cl, ev); n != 1 {
					t.Errorf("%s received %s %d times", cl, ev, n)
				}
			}
		}
	})

	t.Run("room broadcast reaches only the room on every node", func(t *testing.T) {
		p.call("join", map[string]any{"name": "a1", "room": "r1"})
		p.call("join", map[string]any{"name": "n1", "room": "r1"})
		if err := c.b.srv.To("r1").Emit("toR1", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		p.call("emit", map[string]any{"rooms": []string{"r1"}, "event": "toR1fromN"})
		for _, cl := range []string{"a1", "n1"} {
			p.waitEvent(cl, "toR1")
			p.waitEvent(cl, "toR1fromN")
		}
		// Except: r1 minus a1's own room.
		if err := c.b.srv.To("r1").Except(c.ids["a1"]).Emit("toR1butA", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		p.waitEvent("n1", "toR1butA")
		// A socket's own room: from node B to a1, which is on node A.
		if err := c.b.srv.To(c.ids["a1"]).Emit("toA1", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		p.waitEvent("a1", "toA1")
		quiet()
		for ev, want := range map[string]map[string]int{
			"toR1":      {"a1": 1, "b1": 0, "n1": 1},
			"toR1fromN": {"a1": 1, "b1": 0, "n1": 1},
			"toR1butA":  {"a1": 0, "b1": 0, "n1": 1},
			"toA1":      {"a1": 1, "b1": 0, "n1": 0},
		} {
			for cl, n := range want {
				if got := p.count(cl, ev); got != n {
					t.Errorf("%s received %s %d times, want %d", cl, ev, got, n)
				}
			}
		}
	})

	t.Run("local and volatile flags", func(t *testing.T) {
		if err := c.a.srv.Local().Emit("localA", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		if err := c.a.srv.Volatile().Emit("volatileA", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		p.waitEvent("a1", "localA")
		for _, cl := range all {
			p.waitEvent(cl, "volatileA")
		}
		quiet()
		if p.count("b1", "localA")+p.count("n1", "localA") != 0 {
			t.Error("a local broadcast left its node")
		}
	})

	t.Run("SocketsJoin on A moves a socket of B, and Node's of A", func(t *testing.T) {
		if err := c.a.srv.In(c.ids["b1"]).SocketsJoin("moved"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "b1 in room moved on B", func() bool {
			socks, _ := c.b.srv.Local().In("moved").FetchSockets()
			return len(socks) == 1 && socks[0].ID == c.ids["b1"]
		})
		p.call("emit", map[string]any{"rooms": []string{"moved"}, "event": "toMoved"})
		p.waitEvent("b1", "toMoved")
		p.call("socketsJoin", map[string]any{"rooms": []string{c.ids["a1"]}, "join": "fromNode"})
		waitFor(t, "a1 in room fromNode on A", func() bool {
			socks, _ := c.a.srv.Local().In("fromNode").FetchSockets()
			return len(socks) == 1
		})
		if err := c.b.srv.In("moved").SocketsLeave("moved"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "b1 left moved", func() bool {
			socks, _ := c.b.srv.Local().In("moved").FetchSockets()
			return len(socks) == 0
		})
		quiet()
		if n := p.count("a1", "toMoved") + p.count("n1", "toMoved"); n != 0 {
			t.Errorf("toMoved reached %d sockets outside the room", n)
		}
	})

	t.Run("FetchSockets sees the sockets of every node", func(t *testing.T) {
		socks, err := c.a.srv.FetchSockets()
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
		b1 := byID[c.ids["b1"]]
		if b1.Local() != nil || !slices.Contains(b1.Rooms, c.ids["b1"]) {
			t.Errorf("b1 fetched as %+v", b1)
		}
		if !strings.Contains(string(b1.Data), `"node":"B"`) || !strings.Contains(string(b1.Handshake.Auth), `"b1"`) {
			t.Errorf("b1 data %s, auth %s", b1.Data, b1.Handshake.Auth)
		}
		// b1 connected over WebSocket: its upgrade request's headers and
		// query travel with it.
		if b1.Handshake.Headers["host"] == "" || b1.Handshake.Query["EIO"] != "4" || b1.Handshake.Query["transport"] != "websocket" {
			t.Errorf("b1 handshake headers %v, query %v", b1.Handshake.Headers, b1.Handshake.Query)
		}
		n1 := byID[c.ids["n1"]]
		if !slices.Contains(n1.Rooms, "r1") || !strings.Contains(string(n1.Data), `"node":"node"`) || n1.Handshake.Address == "" {
			t.Errorf("n1 fetched as %+v", n1)
		}
		if a1 := byID[c.ids["a1"]]; a1.Local() == nil || !strings.Contains(string(a1.Data), `"node":"A"`) {
			t.Errorf("a1 fetched as %+v", a1)
		}
		room, err := c.b.srv.In("r1").FetchSockets()
		if err != nil || len(room) != 2 {
			t.Errorf("room r1 from B: %d sockets, %v", len(room), err)
		}
		// A remote socket is addressed through the adapter.
		if err := b1.Emit("direct", []byte(`"hi"`)); err != nil {
			t.Fatal(err)
		}
		p.waitEvent("b1", "direct")

		r := p.call("fetch", nil)
		var fetched []struct {
			ID    string          `json:"id"`
			Rooms []string        `json:"rooms"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(r["sockets"], &fetched); err != nil || len(fetched) != 3 {
			t.Fatalf("node fetched %s (%v)", r["sockets"], err)
		}
		for _, f := range fetched {
			if f.ID == c.ids["a1"] && (!strings.Contains(string(f.Data), `"node":"A"`) || !slices.Contains(f.Rooms, "fromNode")) {
				t.Errorf("node fetched a1 as %+v", f)
			}
		}
	})

	t.Run("Node's allRooms includes the rooms of the Go nodes", func(t *testing.T) {
		var rooms []string
		if err := json.Unmarshal(p.call("allRooms", nil)["rooms"], &rooms); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"r1", "fromNode", c.ids["a1"], c.ids["b1"], c.ids["n1"]} {
			if !slices.Contains(rooms, want) {
				t.Errorf("allRooms %q lacks %q", rooms, want)
			}
		}
	})

	t.Run("ServerSideEmit with acks", func(t *testing.T) {
		responses, gotErr := answers(t, func(cb func([][]byte, error)) error {
			return c.a.srv.ServerSideEmitWithAck("sse", [][]byte{[]byte(`{"q":1}`)}, cb)
		})
		var nodes []string
		for _, r := range responses {
			var m struct {
				Node string          `json:"node"`
				Arg  json.RawMessage `json:"arg"`
			}
			_ = json.Unmarshal(r, &m)
			nodes = append(nodes, m.Node)
			if string(m.Arg) != `{"q":1}` {
				t.Errorf("answer %s", r)
			}
		}
		sort.Strings(nodes)
		if gotErr != nil || !slices.Equal(nodes, []string{"B", "node"}) {
			t.Errorf("responses from %v, err %v", nodes, gotErr)
		}
		reply := p.call("sse", map[string]any{"event": "sse", "args": []any{"x"}, "ack": true})
		var fromNode []struct {
			Node string `json:"node"`
		}
		if err := json.Unmarshal(reply["responses"], &fromNode); err != nil || len(fromNode) != 2 {
			t.Errorf("node's serverSideEmitWithAck: %s %s", reply["responses"], reply["error"])
		}
		// Without ack, the Node node's listener runs.
		if err := c.b.srv.ServerSideEmit("sse", []byte(`"noack"`)); err != nil {
			t.Fatal(err)
		}
		if !p.waitArg(5*time.Second, `"noack"`) {
			t.Error("the Node node did not get the server-side event")
		}
	})

	t.Run("broadcast with aggregated acks across nodes", func(t *testing.T) {
		responses, gotErr := answers(t, func(cb func([][]byte, error)) error {
			return c.b.srv.Timeout(5*time.Second).EmitWithAck("ask", [][]byte{[]byte(`{"q":2}`)}, cb)
		})
		clients := ackClients(responses)
		if gotErr != nil || !slices.Equal(clients, all) {
			t.Errorf("acks from %v, err %v", clients, gotErr)
		}
		expectPeerAcks(t, p, "askN", 3)
	})

	t.Run("binary acks across nodes", func(t *testing.T) {
		// a1 answers on A itself, b1 through B (a Go node), n1 through
		// the Node server; the Node server's broadcast gets the Buffers
		// of a1 and b1 through their Go nodes.
		expectBinaryAcks(t, p, c.a, all, true)
	})

	t.Run("binary both ways", func(t *testing.T) {
		p.call("emit", map[string]any{"event": "binN", "args": []any{map[string]any{"b": map[string]string{"$bin": "00017bff"}, "n": 5}}})
		for _, cl := range all {
			if got := string(p.waitEvent(cl, "binN")[0]); got != `{"b":{"$bin":"00017bff"},"n":5}` {
				t.Errorf("%s got %s", cl, got)
			}
		}
		// A "message" with a binary attachment, from a Go node.
		c.a.srv.Broadcast([]byte{0xde, 0xad, 0x00, 0x01}, socketio.BinaryMessage)
		for _, cl := range all {
			if got := string(p.waitEvent(cl, "message")[0]); got != `{"$bin":"dead0001"}` {
				t.Errorf("%s got %s", cl, got)
			}
		}
		// Go values with []byte inside, to a room, from a Go node: the
		// attachments travel to every node, the Node server's included.
		if err := c.b.srv.To("r1").EmitValues("binValues", []byte{0xca, 0xfe}, map[string]any{"inner": []byte{7}, "n": 2}); err != nil {
			t.Fatal(err)
		}
		for _, cl := range []string{"a1", "n1"} {
			args := p.waitEvent(cl, "binValues")
			if len(args) != 2 || string(args[0]) != `{"$bin":"cafe"}` || string(args[1]) != `{"inner":{"$bin":"07"},"n":2}` {
				t.Errorf("%s got binValues %s", cl, args)
			}
		}
		quiet()
		if n := p.count("b1", "binValues"); n != 0 {
			t.Errorf("b1, outside r1, received binValues %d times", n)
		}
	})

	t.Run("emitter into a room reaches Go clients", func(t *testing.T) {
		p.call("emitter", map[string]any{"redis": c.redis.url(), "rooms": []string{"r1"}, "event": "fromEmitter", "args": []any{"e", 7}})
		args := p.waitEvent("a1", "fromEmitter")
		if len(args) != 2 || string(args[1]) != "7" {
			t.Errorf("a1 got %s", args)
		}
		p.waitEvent("n1", "fromEmitter")
		p.call("emitter", map[string]any{"redis": c.redis.url(), "rooms": []string{c.ids["b1"]}, "join": "emitted"})
		waitFor(t, "b1 joined room emitted", func() bool {
			socks, _ := c.b.srv.Local().In("emitted").FetchSockets()
			return len(socks) == 1
		})
		p.call("emitter", map[string]any{"redis": c.redis.url(), "rooms": []string{"emitted"}, "event": "emBin", "args": []any{map[string]string{"$bin": "cafe"}}})
		if got := string(p.waitEvent("b1", "emBin")[0]); got != `{"$bin":"cafe"}` {
			t.Errorf("b1 got %s", got)
		}
		quiet()
		if p.count("b1", "fromEmitter") != 0 || p.count("a1", "emBin") != 0 {
			t.Error("emitter reached sockets outside its room")
		}
	})

	t.Run("other namespaces", func(t *testing.T) {
		p.connect("b2", c.b.url, "/admin")
		p.call("emit", map[string]any{"nsp": "/admin", "event": "adminN"})
		p.waitEvent("b2", "adminN")
		if err := c.a.srv.Of("/admin").Emit("adminA", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		p.waitEvent("b2", "adminA")
		socks, err := c.a.srv.Of("/admin").FetchSockets()
		if err != nil || len(socks) != 1 {
			t.Errorf("fetched %d sockets of /admin: %v", len(socks), err)
		}
		quiet()
		if p.count("b1", "adminN")+p.count("b1", "adminA") != 0 {
			t.Error("an /admin broadcast reached /")
		}
	})

	t.Run("DisconnectSockets reaches the other nodes", func(t *testing.T) {
		if err := c.a.srv.Of("/admin").DisconnectSockets(false); err != nil {
			t.Fatal(err)
		}
		p.waitEvent("b2", "disconnect")
	})
}
