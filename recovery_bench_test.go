package socketio

import "testing"

// BenchmarkRecoveryEmit measures what connection-state recovery adds to an
// emit: an offset appended to the packet and an append to the socket's
// ring buffer, under its lock. The sockets are in-process fakes (see
// fakeClient): real sessions and send queues, no transport, emptied every
// 64 iterations with the timer stopped. "room100" is a broadcast to a room
// of 100 sockets (one encoding, 100 queue and ring appends).
//
//	go test -run '^$' -bench RecoveryEmit -benchmem
func BenchmarkRecoveryEmit(b *testing.B) {
	arg := []byte(`{"user":"ann","text":"hello"}`)
	for _, mode := range []struct {
		name string
		cfg  Config
	}{
		{"off", testConfig()},
		{"on", recoveryConfig(RecoveryConfig{})},
	} {
		srv := NewServer(mode.cfg)
		var socks []*Websocket
		for i := 0; i < 100; i++ {
			c := fakeClient(b, srv)
			c.sess.q.setLimit(1 << 20)
			kws := connectWith(c, "")
			kws.Join("room")
			socks = append(socks, kws)
		}
		run := func(b *testing.B, emit func()) { benchEmit(b, socks, 64, emit) }
		kws := socks[0]
		b.Run(mode.name+"/EmitArgs", func(b *testing.B) {
			run(b, func() { kws.EmitArgs("chat", arg) })
		})
		b.Run(mode.name+"/room100", func(b *testing.B) {
			op := srv.To("room")
			run(b, func() { _ = op.Emit("chat", arg) })
		})
	}
}
