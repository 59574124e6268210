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

	r.kill()
	waitFor(t, "both nodes to log the lost subscription", func() bool {
		return a.logs.count("subscription lost") > 0 && b.logs.count("subscription lost") > 0
	})
	// Local delivery never stops: several emits while Redis is down.
	for i := range 3 {
		ev := fmt.Sprintf("down%d", i)
		start := time.Now()
		if err := a.srv.Emit(ev, []byte(`1`)); err != nil {
			t.Fatalf("emit while Redis is down: %v", err)
		}
		p.waitEvent("a1", ev)
		// Emit does not wait on Redis (go-redis retries for a while).
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("local delivery took %v while Redis was down", d)
		}
	}
	waitFor(t, "the failed publish to be logged", func() bool { return a.logs.count("publish failed") > 0 })
	// Requests that need the other nodes fail at once, keeping what is
	// local.
	start := time.Now()
	socks, err := a.srv.FetchSockets()
	if !errors.Is(err, ErrUnavailable) || len(socks) != 1 || time.Since(start) > 500*time.Millisecond {
		t.Errorf("FetchSockets without Redis: %d sockets, %v, after %v", len(socks), err, time.Since(start))
	}
	if err := a.srv.EmitWithAck("ask", nil, nil); !errors.Is(err, ErrUnavailable) {
		t.Errorf("EmitWithAck without Redis: %v", err)
	}

	restart := time.Now()
	r.start()
	up := time.Since(restart)
	// The gap: A emits a probe every 20 ms from the restart on, until b1
	// (on B) receives one.
	var gap time.Duration
	for i := 0; ; i++ {
		if err := a.srv.Emit("probe", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		if p.wait(20*time.Millisecond, func() bool { return p.countLocked("b1", "probe") > 0 }) {
			gap = time.Since(restart)
			break
		}
		if time.Since(restart) > 15*time.Second {
			t.Fatal("cross-node broadcasts did not resume within 15s of the restart")
		}
	}
	t.Logf("redis-server accepted connections %v after the restart began; cross-node broadcasts resumed after %v", up, gap)
	waitFor(t, "both nodes to log the restored subscription", func() bool {
		return a.logs.count("subscription restored") > 0 && b.logs.count("subscription restored") > 0
	})
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
	if a.logs.count("publish restored") != 1 || a.logs.count("publish failed") != 1 {
		t.Errorf("the outage was logged %d times, its end %d times; want once each",
			a.logs.count("publish failed"), a.logs.count("publish restored"))
	}
	p.waitEvent("a1", "afterB")
	socks, err = a.srv.FetchSockets()
	if err != nil || len(socks) != 2 {
		t.Errorf("FetchSockets after the restart: %d sockets, %v", len(socks), err)
	}
	// What was emitted during the outage may be lost, never duplicated.
	for i := range 3 {
		if n := p.count("b1", fmt.Sprintf("down%d", i)); n > 1 {
			t.Errorf("b1 received down%d %d times", i, n)
		}
	}
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
