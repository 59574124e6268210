package socketio

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// TestVolatileDropsInsteadOfDisconnecting stalls the session's writer (by
// holding the lock its delivery takes) so its send queue of 4 fills: ten
// volatile packets leave four queued and drop six, and the session lives
// on; ten ordinary packets overflow the queue and close the session with
// ErrSendQueueClosed. WebSocket only: the stall relies on the WebSocket
// writer.
func TestVolatileDropsInsteadOfDisconnecting(t *testing.T) {
	cfg := quickConfig()
	cfg.SendQueueSize = 4
	cfg.MaxStalledBytes = -1 // the overflow at the bound
	srv := NewServer(cfg)
	var (
		mu       sync.Mutex
		queued   []int
		reason   = make(chan error, 1)
		stallErr error
	)
	// stall holds the connection's write lock: the worker takes packet 0
	// and blocks writing it, so packets 1.. stay queued while emit runs.
	stall := func(kws *Websocket, emit func(i int)) int {
		if !eventually(func() bool { return kws.sess.q.len() == 0 }) {
			t.Error("the send queue did not empty")
		}
		w := kws.sess.ws.Load()
		w.mu.Lock()
		emit(0)
		if !eventually(func() bool { return kws.sess.q.len() == 0 }) {
			t.Error("the worker did not take the first packet")
		}
		for i := 1; i < 10; i++ {
			emit(i)
		}
		n := kws.sess.q.len()
		w.mu.Unlock()
		return n
	}
	srv.On("go", func(ep *EventPayload) {
		kws := ep.Kws
		go func() {
			n := stall(kws, func(i int) {
				if err := srv.Volatile().Emit("v", []byte(itoa(i))); err != nil {
					mu.Lock()
					stallErr = err
					mu.Unlock()
				}
			})
			mu.Lock()
			queued = append(queued, n)
			mu.Unlock()
			// Let the writer flush the four before the next packet.
			if !eventually(func() bool { return kws.sess.q.len() == 0 }) {
				t.Error("the stalled packets did not go out")
			}
			_ = srv.Emit("mid")
		}()
	})
	srv.On("again", func(ep *EventPayload) {
		kws := ep.Kws
		go func() {
			n := stall(kws, func(i int) { _ = srv.Emit("nv", []byte(itoa(i))) })
			mu.Lock()
			queued = append(queued, n)
			mu.Unlock()
		}()
	})
	srv.On(EventDisconnect, func(ep *EventPayload) { reason <- ep.Error })
	ts := startServer(t, srv, nil)
	res := runNode(t, ts.url, `
const s = io(URL, { transports: ["websocket"] });
const got = [];
s.on("connect", () => s.emit("go"));
s.on("v", (i) => got.push(i));
s.on("mid", () => { out({ volatile: got, connected: s.connected }); s.emit("again"); });
s.on("disconnect", (r) => { out({ disconnect: r }); s.close(); setTimeout(() => process.exit(0), 50); });
`, 20*time.Second)
	if !res.has(`{"volatile":[0,1,2,3,4],"connected":true}`) {
		t.Errorf("client output lacks the packet being written and the four queued; got %q", res.lines)
	}
	select {
	case err := <-reason:
		if !errors.Is(err, ErrSendQueueClosed) {
			t.Errorf("disconnect reason %v, want ErrSendQueueClosed for the ordinary burst", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the ordinary burst did not close the session")
	}
	waitFor(t, "the second stall to end", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(queued) == 2
	})
	mu.Lock()
	defer mu.Unlock()
	if stallErr != nil {
		t.Errorf("volatile emit: %v", stallErr)
	}
	if len(queued) != 2 || queued[0] != 4 {
		t.Errorf("queued during the stalls: %v, want 4 then at most 4", queued)
	}
}

// eventually polls cond for up to 10 s; unlike waitFor it may run off the
// test goroutine.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}
