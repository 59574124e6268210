package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	socketio "github.com/fiber-socketio/socketio"
	"github.com/redis/go-redis/v9"
)

// TestRedisRestart kills redis-server under two Go nodes: local delivery
// goes on while it is down, the adapters log the loss, reconnect and
// resubscribe when it is back, and cross-node delivery resumes.
func TestRedisRestart(t *testing.T) {
	r := startRedis(t)
	a := startGoNode(t, r, "A", Options{RequestsTimeout: time.Second})
	b := startGoNode(t, r, "B", Options{RequestsTimeout: time.Second})
	p := startPeer(t)
	p.connect("a1", a.url, "/")
	p.connect("b1", b.url, "/")
	if err := a.srv.Emit("before", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	p.waitEvent("b1", "before")

	killRedis(t, r, a, b)
	emitWhileDown(t, a, p, "a1")
	waitFor(t, "the failed publish to be logged", func() bool { return a.logs.count("publish failed") > 0 })
	expectUnavailable(t, a, 1)

	restartRedis(t, r, p, a, "b1", a, b)
	waitFor(t, "two servers again", func() bool {
		n, err := a.srv.Of("/").Adapter().ServerCount(context.Background())
		return err == nil && n == 2
	})
	// Cross-node delivery resumes, both ways.
	if err := a.srv.Emit("afterA", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	if err := b.srv.Emit("afterB", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	p.waitEvent("b1", "afterA")
	expectOutageLoggedOnce(t, a)
	p.waitEvent("a1", "afterB")
	socks, err := a.srv.FetchSockets()
	if err != nil || len(socks) != 2 {
		t.Errorf("FetchSockets after the restart: %d sockets, %v", len(socks), err)
	}
	expectNoDuplicateDownEvents(t, p, "b1")
}

// TestSilentNode: a node that counts in PUBSUB NUMSUB but never answers
// (it left, or hangs) makes requests end with ErrAdapterTimeout after
// RequestsTimeout, keeping what the others answered; it never blocks.
func TestSilentNode(t *testing.T) {
	r := startRedis(t)
	a := startGoNode(t, r, "A", Options{RequestsTimeout: 500 * time.Millisecond})
	b := startGoNode(t, r, "B", Options{RequestsTimeout: 500 * time.Millisecond})
	p := startPeer(t)
	p.connect("a1", a.url, "/")
	p.connect("b1", b.url, "/")

	silent := redis.NewClient(&redis.Options{Addr: r.addr()})
	defer func() { _ = silent.Close() }()
	sub := silent.Subscribe(context.Background(), "socket.io-request#/#")
	defer func() { _ = sub.Close() }()
	if _, err := sub.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three subscribers", func() bool {
		n, err := a.srv.Of("/").Adapter().ServerCount(context.Background())
		return err == nil && n == 3
	})

	start := time.Now()
	socks, err := a.srv.FetchSockets()
	if !errors.Is(err, socketio.ErrAdapterTimeout) {
		t.Errorf("FetchSockets: %v", err)
	}
	if len(socks) != 2 {
		t.Errorf("FetchSockets kept %d sockets, want a1 and b1", len(socks))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("FetchSockets took %v", d)
	}

	got, err := answers(t, func(cb func([][]byte, error)) error {
		return a.srv.ServerSideEmitWithAck("sse", [][]byte{[]byte(`1`)}, cb)
	})
	if !errors.Is(err, socketio.ErrAdapterTimeout) || len(got) != 1 {
		t.Errorf("ServerSideEmitWithAck: %d responses, %v", len(got), err)
	}

	// A broadcast with acks completes with the answers of the live nodes
	// and reports the missing node's count as unknown.
	responses, err := answers(t, func(cb func([][]byte, error)) error {
		return a.srv.Timeout(time.Second).EmitWithAck("ask", nil, socketio.BroadcastAckCallback(cb))
	})
	if !errors.Is(err, socketio.ErrBroadcastAckTimeout) || len(responses) != 2 {
		t.Errorf("EmitWithAck: %d responses, %v", len(responses), err)
	}
}

// TestNodeKilledDuringFetch: three Go nodes; node C is counted by A's
// FetchSockets (PUBSUB NUMSUB says 3) and dies on receiving the request,
// before it answers: its Redis connections are closed and its Fiber app
// torn down. A's FetchSockets ends after RequestsTimeout with the sockets
// of A and B and an error wrapping socketio.ErrAdapterTimeout; once Redis
// has dropped C's subscription the cluster answers completely again.
func TestNodeKilledDuringFetch(t *testing.T) {
	const timeout = time.Second
	r := startRedis(t)
	a := startGoNode(t, r, "A", Options{RequestsTimeout: timeout})
	b := startGoNode(t, r, "B", Options{RequestsTimeout: timeout})
	c := startGoNode(t, r, "C", Options{RequestsTimeout: timeout})
	p := startPeer(t)
	idA := p.connect("a1", a.url, "/")
	idB := p.connect("b1", b.url, "/")
	idC := p.connect("c1", c.url, "/")
	waitFor(t, "three servers", func() bool {
		n, err := a.srv.Of("/").Adapter().ServerCount(context.Background())
		return err == nil && n == 3
	})
	// Everyone answers while C is alive.
	if socks, err := a.srv.FetchSockets(); err != nil || len(socks) != 3 {
		t.Fatalf("FetchSockets with three live nodes: %d sockets, %v", len(socks), err)
	}

	ca, ok := c.srv.Of("/").Adapter().(*adapter)
	if !ok {
		t.Fatalf("node C's adapter is a %T", c.srv.Of("/").Adapter())
	}
	killed := make(chan struct{})
	var once sync.Once
	hook := func(typ int) bool {
		if typ != typeRemoteFetch {
			return false
		}
		once.Do(func() {
			// C dies here: it was counted, it got the request, it
			// never answers.
			_ = ca.node.ps.Close()
			_ = c.client.Close()
			close(killed)
		})
		return true
	}
	ca.node.requestHook.Store(&hook)
	appDown := make(chan struct{})
	go func() {
		<-killed
		_ = c.app.ShutdownWithTimeout(time.Second)
		close(appDown)
	}()

	start := time.Now()
	socks, err := a.srv.FetchSockets()
	elapsed := time.Since(start)
	select {
	case <-killed:
	default:
		t.Fatal("node C never received the request")
	}
	if !errors.Is(err, socketio.ErrAdapterTimeout) {
		t.Errorf("FetchSockets: %v, want an error wrapping ErrAdapterTimeout", err)
	} else if !strings.Contains(err.Error(), "1 of 2") {
		t.Errorf("FetchSockets error %q does not say 1 of 2 nodes answered", err)
	}
	got := map[string]bool{}
	for _, s := range socks {
		got[s.ID] = true
	}
	if len(socks) != 2 || !got[idA] || !got[idB] || got[idC] {
		t.Errorf("FetchSockets returned %d sockets %v; want a1 %s and b1 %s", len(socks), got, idA, idB)
	}
	if elapsed < timeout-50*time.Millisecond || elapsed > timeout+time.Second {
		t.Errorf("FetchSockets returned after %v; want RequestsTimeout (%v) plus at most 1s", elapsed, timeout)
	}
	t.Logf("FetchSockets with a dead node returned after %v", elapsed)
	<-appDown

	// Redis drops the dead node's subscription; requests complete again.
	waitFor(t, "two servers", func() bool {
		n, err := a.srv.Of("/").Adapter().ServerCount(context.Background())
		return err == nil && n == 2
	})
	start = time.Now()
	socks, err = a.srv.FetchSockets()
	if err != nil || len(socks) != 2 || time.Since(start) > timeout/2 {
		t.Errorf("FetchSockets after C left: %d sockets, %v, after %v", len(socks), err, time.Since(start))
	}
	if err := a.srv.Emit("afterC", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	p.waitEvent("b1", "afterC")
}

// emitWhileDown emits down0, down1 and down2 from g while Redis is down:
// client, a client of g, receives each at once (Emit never waits on
// Redis, though go-redis retries for a while).
func emitWhileDown(t *testing.T, g *goNode, p *peer, client string) {
	t.Helper()
	for i := range 3 {
		ev := fmt.Sprintf("down%d", i)
		start := time.Now()
		if err := g.srv.Emit(ev, []byte(`1`)); err != nil {
			t.Fatalf("emit while Redis is down: %v", err)
		}
		p.waitEvent(client, ev)
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("local delivery took %v while Redis was down", d)
		}
	}
}

// expectNoDuplicateDownEvents checks that client, on another node than
// the one that emitted them, received each of emitWhileDown's events at
// most once: what was emitted during the outage may be lost, never
// duplicated.
func expectNoDuplicateDownEvents(t *testing.T, p *peer, client string) {
	t.Helper()
	for i := range 3 {
		if n := p.count(client, fmt.Sprintf("down%d", i)); n > 1 {
			t.Errorf("%s received down%d %d times", client, i, n)
		}
	}
}

// expectUnavailable checks, while g's subscription is lost, that the
// operations of g's main namespace needing the other nodes' answers fail
// at once with ErrUnavailable: ServerCount, FetchSockets (which returns
// g's local sockets, local of them), ServerSideEmitWithAck and
// EmitWithAck.
func expectUnavailable(t *testing.T, g *goNode, local int) {
	t.Helper()
	check := func(what string, start time.Time, err error) {
		t.Helper()
		if d := time.Since(start); !errors.Is(err, ErrUnavailable) || d > 500*time.Millisecond {
			t.Errorf("%s of %s without Redis: %v after %v; want ErrUnavailable at once", what, g.name, err, d)
		}
	}
	start := time.Now()
	_, err := g.srv.Of("/").Adapter().ServerCount(t.Context())
	check("ServerCount", start, err)
	start = time.Now()
	socks, err := g.srv.FetchSockets()
	check("FetchSockets", start, err)
	if len(socks) != local {
		t.Errorf("FetchSockets of %s without Redis kept %d sockets, want its %d local ones", g.name, len(socks), local)
	}
	start = time.Now()
	err = g.srv.ServerSideEmitWithAck("sse", nil, func([][]byte, error) {})
	check("ServerSideEmitWithAck", start, err)
	start = time.Now()
	err = g.srv.EmitWithAck("ask", nil, nil)
	check("EmitWithAck", start, err)
}

// killRedis kills redis-server and waits until each of nodes logged its
// lost subscription.
func killRedis(t *testing.T, r *redisServer, nodes ...*goNode) {
	t.Helper()
	r.kill()
	waitFor(t, "every node to log the lost subscription", func() bool { return allLogged(nodes, "subscription lost") })
}

// restartRedis starts redis-server again on its port, then emits "probe"
// from from every 20 ms until client, a client of another node, receives
// one (the test fails after 15 s), and waits until each of nodes logged
// its restored subscription.
func restartRedis(t *testing.T, r *redisServer, p *peer, from *goNode, client string, nodes ...*goNode) {
	t.Helper()
	restart := time.Now()
	r.start()
	up := time.Since(restart)
	for i := 0; ; i++ {
		if err := from.srv.Emit("probe", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		if p.wait(20*time.Millisecond, func() bool { return p.countLocked(client, "probe") > 0 }) {
			break
		}
		if time.Since(restart) > 15*time.Second {
			t.Fatal("cross-node broadcasts did not resume within 15s of the restart")
		}
	}
	t.Logf("redis-server accepted connections %v after the restart began; cross-node broadcasts resumed after %v", up, time.Since(restart))
	waitFor(t, "every node to log the restored subscription", func() bool { return allLogged(nodes, "subscription restored") })
}

// allLogged reports whether each of nodes logged a line containing sub.
func allLogged(nodes []*goNode, sub string) bool {
	for _, g := range nodes {
		if g.logs.count(sub) == 0 {
			return false
		}
	}
	return true
}

// expectOutageLoggedOnce checks that g's outbox logged the outage's
// failed publishes once and their end once.
func expectOutageLoggedOnce(t *testing.T, g *goNode) {
	t.Helper()
	if g.logs.count("publish restored") != 1 || g.logs.count("publish failed") != 1 {
		t.Errorf("%s logged the outage %d times, its end %d times; want once each",
			g.name, g.logs.count("publish failed"), g.logs.count("publish restored"))
	}
}
