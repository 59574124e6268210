package socketio

// Shutdown under load: many sockets on both transports with acks pending
// that their clients never answer, and a client that stalls the server's
// writes.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ackRecord counts the calls of one ack callback and keeps the last error.
type ackRecord struct {
	calls atomic.Int32
	mu    sync.Mutex
	err   error
	// nilAck is set by the callbacks of EmitWithAck, which get no error:
	// it records that the ack argument was nil.
	nilAck bool
}

func (r *ackRecord) fired(err error) {
	r.calls.Add(1)
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

// TestShutdownUnderLoad connects 100 WebSocket and 100 polling sockets,
// leaves four acks of each socket pending (one per ack API, with hour-long
// timeouts; the clients never answer) and a broadcast with ack to all of
// them, then calls Shutdown with a deadline. Shutdown must return nil
// before the deadline; by then every per-socket ack callback has fired
// exactly once with ErrAckDisconnected (EmitWithAck's with a nil ack) and
// the broadcast's callback exactly once with no response and an error
// wrapping ErrAckDisconnected and ErrServerShutdown; no session is left;
// a second Shutdown returns nil at once.
func TestShutdownUnderLoad(t *testing.T) {
	t.Parallel()
	const perTransport = 100
	const acksPerSocket = 4
	cfg := testConfig()
	cfg.OutboundAckTimeout = time.Hour
	// Polling clients here never poll again: a graceful close waits
	// CloseTimeout for them to take their last packets.
	cfg.CloseTimeout = time.Second
	srv := NewServer(cfg)
	var mu sync.Mutex
	var sockets []*Websocket
	ts := startServer(t, srv, func(kws *Websocket) {
		mu.Lock()
		sockets = append(sockets, kws)
		mu.Unlock()
	})
	for i := 0; i < perTransport; i++ {
		connectWS(t, ts)
		connectPolling(t, ts)
	}
	// The callback runs after the CONNECT reply is written.
	waitFor(t, "every socket's callback", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(sockets) == 2*perTransport
	})

	records := make([]ackRecord, 2*perTransport*acksPerSocket)
	for i, kws := range sockets {
		r := records[i*acksPerSocket:]
		kws.EmitWithAckTimeout("q", []byte(`1`), time.Hour, func(_ []byte, err error) { r[0].fired(err) })
		kws.EmitWithAck("q", []byte(`2`), func(ack []byte) {
			r[1].mu.Lock()
			r[1].nilAck = ack == nil
			r[1].mu.Unlock()
			r[1].fired(ErrAckDisconnected)
		})
		kws.EmitWithAckArgs("q", [][]byte{[]byte(`3`)}, func(_ [][]byte, err error) { r[2].fired(err) })
		if err := kws.EmitValuesWithAck("q", func(_ *AckReply, err error) { r[3].fired(err) }, 4); err != nil {
			t.Fatalf("EmitValuesWithAck: %v", err)
		}
	}
	var bcast ackRecord
	var bcastResponses atomic.Int32
	if err := srv.Timeout(time.Hour).EmitWithAck("all", [][]byte{[]byte(`"x"`)}, func(responses [][]byte, err error) {
		bcastResponses.Add(int32(len(responses)))
		bcast.fired(err)
	}); err != nil {
		t.Fatalf("broadcast EmitWithAck: %v", err)
	}
	for i := range records {
		if n := records[i].calls.Load(); n != 0 {
			t.Fatalf("ack %d fired %d times before Shutdown", i, n)
		}
	}

	const deadline = 20 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v after %v", err, time.Since(start))
	}
	t.Logf("Shutdown of %d sockets took %v", len(sockets), time.Since(start))

	check := func(when string) {
		t.Helper()
		for i := range records {
			r := &records[i]
			r.mu.Lock()
			err, nilAck := r.err, r.nilAck
			r.mu.Unlock()
			if n := r.calls.Load(); n != 1 {
				t.Errorf("%s: ack %d of socket %d fired %d times, want once", when, i%acksPerSocket, i/acksPerSocket, n)
			} else if !errors.Is(err, ErrAckDisconnected) {
				t.Errorf("%s: ack %d of socket %d got %v, want ErrAckDisconnected", when, i%acksPerSocket, i/acksPerSocket, err)
			} else if i%acksPerSocket == 1 && !nilAck {
				t.Errorf("%s: EmitWithAck of socket %d got an ack", when, i/acksPerSocket)
			}
		}
		bcast.mu.Lock()
		err := bcast.err
		bcast.mu.Unlock()
		if n := bcast.calls.Load(); n != 1 {
			t.Errorf("%s: broadcast ack fired %d times, want once", when, n)
		} else if !errors.Is(err, ErrAckDisconnected) || !errors.Is(err, ErrServerShutdown) {
			t.Errorf("%s: broadcast ack got %v, want ErrAckDisconnected and ErrServerShutdown", when, err)
		}
		if n := bcastResponses.Load(); n != 0 {
			t.Errorf("%s: broadcast ack got %d responses, want none", when, n)
		}
	}
	check("when Shutdown returned")
	if n := ts.engine().count.Load(); n != 0 {
		t.Errorf("%d sessions left after Shutdown", n)
	}
	start = time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("second Shutdown took %v", d)
	}
	// Nothing fires late, or twice.
	time.Sleep(100 * time.Millisecond)
	check("after the second Shutdown")
}

// TestShutdownStalledClient: a WebSocket client that stops reading while
// the server writes megabytes to it holds its session's worker in a
// write; Shutdown with a short deadline returns context.DeadlineExceeded
// by that deadline instead of waiting for the worker (whose write is
// bounded by the heartbeat, 45 s here, and whose final flush by the
// minute-long CloseTimeout). The socket's pending ack has already failed.
// Once the client goes away the worker ends, and Shutdown completes.
func TestShutdownStalledClient(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.CloseTimeout = time.Minute
	cfg.SendQueueSize = 1000
	srv := NewServer(cfg)
	sockets := make(chan *Websocket, 1)
	ts := startServer(t, srv, func(kws *Websocket) { sockets <- kws })
	connectSmallBufferWS(t, ts) // a client that never reads from now on
	kws := <-sockets
	// 20 MB: more than the kernel buffers of both ends hold (the client's
	// receive buffer is small, the server's send buffer a few MB).
	chunk := []byte(`"` + strings.Repeat("s", 200<<10) + `"`)
	for i := 0; i < 100; i++ {
		kws.EmitArgs("big", chunk)
	}
	ackErr := make(chan error, 2)
	kws.EmitWithAckTimeout("q", []byte(`1`), time.Hour, func(_ []byte, err error) { ackErr <- err })
	// Whether the worker is blocked in a write already or only in its
	// final flush once Shutdown closed the session, it cannot be done
	// before the client reads or goes away.

	const deadline = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want context.DeadlineExceeded (the worker cannot be done)", err)
		}
		// Generous slack for a loaded machine; the point is that it is
		// nowhere near the 45 s write bound or the minute of CloseTimeout.
		if d := time.Since(start); d > deadline+3*time.Second {
			t.Errorf("Shutdown returned %v after its deadline", d-deadline)
		}
	case <-time.After(deadline + 10*time.Second):
		t.Fatal("Shutdown did not return at its deadline")
	}
	select {
	case err := <-ackErr:
		if !errors.Is(err, ErrAckDisconnected) {
			t.Errorf("pending ack got %v, want ErrAckDisconnected", err)
		}
	default:
		t.Error("pending ack did not fire by the time Shutdown returned")
	}
	// Past its deadline Shutdown cut the connection: the blocked write
	// failed and the worker ended without the client doing anything.
	waitFor(t, "the session to end", func() bool { return ts.engine().count.Load() == 0 })
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if err := srv.Shutdown(ctx2); err != nil {
		t.Errorf("Shutdown once the session ended: %v", err)
	}
	if n := len(ackErr); n != 0 {
		t.Errorf("pending ack fired %d more times", n)
	}
}
