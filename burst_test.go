package socketio

import (
	"testing"
	"time"
)

// notified reports whether q has a pending wake-up, consuming it.
func notified(q *sendQueue) bool {
	select {
	case <-q.notify:
		return true
	default:
		return false
	}
}

// closedWithin reports whether ch is closed within d.
func closedWithin(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

func TestQueueLingerRules(t *testing.T) {
	b := &burst{}
	b.begin()
	q := newSendQueue(1000)
	shared := func(s string) {
		t.Helper()
		if err := q.pushShared(outPacket{data: []byte(s)}, b); err != nil {
			t.Fatal(err)
		}
	}

	shared("a")
	if !notified(q) {
		t.Fatal("the first broadcast packet did not wake the consumer")
	}
	end := q.linger()
	if end == nil {
		t.Fatal("a queue of broadcast packets during a burst does not linger")
	}
	shared("b")
	if notified(q) {
		t.Fatal("a broadcast packet woke a lingering consumer")
	}
	// A packet of the socket's own (here an ack) ends the wait at once.
	if err := q.push(outPacket{data: []byte("ack")}); err != nil {
		t.Fatal(err)
	}
	if !notified(q) {
		t.Fatal("a direct packet did not wake a lingering consumer")
	}
	if q.linger() != nil {
		t.Fatal("a queue holding a direct packet lingers")
	}
	items := q.take()
	if len(items) != 3 || string(items[0].data) != "a" || string(items[2].data) != "ack" {
		t.Fatalf("take = %v, want a, b, ack in order", items)
	}

	// A control packet (a PING) is never delayed either.
	shared("c")
	notified(q)
	if q.linger() == nil {
		t.Fatal("no linger after take")
	}
	q.pushControl(outPacket{data: pingPacket})
	if !notified(q) || q.linger() != nil {
		t.Fatal("a PING did not end the wait")
	}
	q.take()

	// A lingering consumer is woken when burstMaxPackets are queued.
	shared("0")
	notified(q)
	if q.linger() == nil {
		t.Fatal("no linger")
	}
	for i := 1; i < burstMaxPackets; i++ {
		if notified(q) {
			t.Fatalf("woken after %d packets, want %d", i, burstMaxPackets)
		}
		shared("x")
	}
	if !notified(q) || q.linger() != nil {
		t.Fatalf("not woken at %d packets", burstMaxPackets)
	}
	q.take()

	// A small queue is drained at half its limit, before it overflows.
	small := newSendQueue(8)
	for i := 0; i < 4; i++ {
		if i == 1 && small.linger() == nil {
			t.Fatal("no linger")
		}
		notified(small)
		if err := small.pushShared(outPacket{data: []byte("s")}, b); err != nil {
			t.Fatal(err)
		}
	}
	if !notified(small) || small.linger() != nil {
		t.Fatal("a lingering consumer of a queue of 8 was not woken at 4 packets")
	}

	// Held (a CONNECT reply not yet readable): no linger, the hold rules.
	q.hold()
	shared("h")
	if q.linger() != nil {
		t.Fatal("a held queue lingers")
	}
	q.release()

	b.end()
	if !closedWithin(end, 5*time.Second) {
		t.Fatal("the burst did not end after its last broadcast")
	}
	if q.linger() != nil {
		t.Fatal("linger after the burst ended")
	}
}

func TestBurstEndsAtMax(t *testing.T) {
	b := &burst{}
	b.begin() // never ends: a broadcast that keeps going
	defer b.end()
	start := time.Now()
	if !closedWithin(b.current(), burstMax+5*time.Second) {
		t.Fatal("a burst outlived burstMax")
	}
	if d := time.Since(start); d < burstMax/2 {
		t.Fatalf("the burst ended after %v, before burstMax (%v) with a broadcast running", d, burstMax)
	}
	// The next broadcast starts a new burst.
	b.begin()
	if b.current() == nil {
		t.Fatal("no new burst")
	}
	b.end()
}

// TestBroadcastBurstDelivery broadcasts to burstMinReceivers sockets, one
// of them a real client: during a burst its worker waits, an ack to it
// goes out at once with what was queued before it, in order, and the rest
// arrives when the burst ends.
func TestBroadcastBurstDelivery(t *testing.T) {
	srv := NewServer(testConfig())
	srv.On("hello", func(ep *EventPayload) { _ = ep.Ack([]byte(`"pong"`)) })
	ts := startServer(t, srv, nil)
	w, _ := connectWS(t, ts)
	w.autoPong = true
	nsp := srv.main()
	for i := 1; i < burstMinReceivers; i++ {
		newFakeSocket(t, nsp, 1<<10)
	}

	// Keep a burst open, as a broadcaster in a loop would.
	srv.burst.begin()
	if err := srv.Emit("msg", []byte("1")); err != nil {
		t.Fatal(err)
	}
	w.send(`421["hello"]`)
	w.expect(`42["msg",1]`)
	w.expect(`431["pong"]`)

	if err := srv.Emit("msg", []byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := srv.Emit("msg", []byte("3")); err != nil {
		t.Fatal(err)
	}
	srv.burst.end()
	w.expect(`42["msg",2]`)
	w.expect(`42["msg",3]`)
}

// TestInlineAckOrder: an ack written by the reader (sendInline) goes out
// after what the listener queued before it, and an ack from another
// goroutine after the listener returned goes through the worker.
func TestInlineAckOrder(t *testing.T) {
	srv := NewServer(testConfig())
	later := make(chan *EventPayload, 1)
	srv.On("now", func(ep *EventPayload) {
		for i := 0; i < 3; i++ {
			ep.Kws.EmitArgs("before", []byte(itoa(i)))
		}
		_ = ep.Ack([]byte(`"acked"`))
		ep.Kws.EmitArgs("after")
	})
	srv.On("later", func(ep *EventPayload) { later <- ep })
	ts := startServer(t, srv, nil)
	w, _ := connectWS(t, ts)
	w.autoPong = true
	for round := 0; round < 20; round++ {
		w.send(`421["now"]`)
		for i := 0; i < 3; i++ {
			w.expect(`42["before",` + itoa(i) + `]`)
		}
		w.expect(`431["acked"]`)
		w.expect(`42["after"]`)
	}
	w.send(`422["later"]`)
	ep := <-later
	go func() { _ = ep.Ack([]byte(`"late"`)) }()
	w.expect(`432["late"]`)
}
