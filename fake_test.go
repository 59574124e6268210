package socketio

import "testing"

// newFakeSocket connects an in-process socket to nsp: its session has no
// transport and no worker, so every packet stays in its send queue (of
// limit packets) for the test to inspect. It stands in for a client where
// the real one would only add noise (benchmarks, selection tables).
func newFakeSocket(tb testing.TB, nsp *Namespace, limit int, rooms ...string) *Websocket {
	tb.Helper()
	cfg := nsp.srv.config()
	sess := &session{
		cfg:      &cfg,
		sid:      newSID(),
		req:      &requestInfo{ip: "127.0.0.1"},
		q:        newSendQueue(limit),
		closeReq: make(chan struct{}),
		done:     make(chan struct{}),
	}
	sess.transport.Store(onWebSocket)
	sess.worker.Store(workerFinished) // no worker: the test reads the queue
	c := &client{srv: nsp.srv, h: &handler{srv: nsp.srv}, sess: sess}
	sess.handler = c
	kws := newSocket(c, nsp, nil)
	kws.Join(rooms...)
	c.join(kws)
	if !kws.IsAlive() {
		tb.Fatal("fake socket did not connect")
	}
	drain(kws)
	return kws
}

// drain empties a fake socket's queue and returns what was queued.
func drain(kws *Websocket) []outPacket {
	return kws.sess.q.take()
}

// benchEmit runs emit b.N times against fake sockets, emptying their
// queues (off the clock) every period emits so they never fill up.
func benchEmit(b *testing.B, socks []*Websocket, period int, emit func()) {
	drainAll := func() {
		for _, kws := range socks {
			kws.sess.q.recycle(drain(kws))
		}
	}
	drainAll()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%period == period-1 {
			b.StopTimer()
			drainAll()
			b.StartTimer()
		}
		emit()
	}
	b.StopTimer()
	drainAll()
}
