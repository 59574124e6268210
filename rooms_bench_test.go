package socketio

import "testing"

// BenchmarkRoomBroadcast sends one event to a room of 1,000 sockets. The
// sockets are in-process fakes (see newFakeSocket): real sessions and send
// queues, no transport and no worker, so the figure is the server's side of
// a broadcast (select the room, encode once, queue the same bytes 1,000
// times) without the network. The queues are emptied every 64 iterations
// with the timer stopped.
//
//	go test -run '^$' -bench RoomBroadcast -benchmem
func BenchmarkRoomBroadcast(b *testing.B) {
	const members = 1000
	srv := NewServer(testConfig())
	nsp := srv.Of("/")
	socks := make([]*Websocket, members)
	for i := range socks {
		socks[i] = newFakeSocket(b, nsp, 128, "room")
	}
	newFakeSocket(b, nsp, 128) // not a member
	arg := []byte(`{"user":"ann","text":"hello, room"}`)
	drainAll := func() {
		for _, kws := range socks {
			kws.sess.q.recycle(drain(kws))
		}
	}
	run := func(b *testing.B, emit func()) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i%64 == 63 {
				b.StopTimer()
				drainAll()
				b.StartTimer()
			}
			emit()
		}
		b.StopTimer()
		drainAll()
	}
	b.Run("To(room).Emit", func(b *testing.B) {
		op := srv.To("room")
		run(b, func() { _ = op.Emit("chat", arg) })
	})
	b.Run("Volatile", func(b *testing.B) {
		op := srv.To("room").Volatile()
		run(b, func() { _ = op.Emit("chat", arg) })
	})
	b.Run("baseline-EmitArgs-per-socket", func(b *testing.B) {
		run(b, func() {
			for _, kws := range socks {
				kws.EmitArgs("chat", arg)
			}
		})
	})
}
