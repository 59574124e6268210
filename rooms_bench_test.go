package socketio

import (
	"encoding/json"
	"testing"
)

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
	run := func(b *testing.B, emit func()) { benchEmit(b, socks, 64, emit) }
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

// BenchmarkRoomBroadcastScale sends one event to a room of 10,000 fake
// sockets while the namespace holds 0, then 10,000 other sockets (20,000 in
// all): the cost of a room broadcast must follow the room, not the
// namespace, so the two figures should be about the same. The queues are
// emptied (and their buffers recycled) every 8 iterations with the timer
// stopped, so memory does not grow.
//
//	go test -run '^$' -bench RoomBroadcastScale -benchmem
func BenchmarkRoomBroadcastScale(b *testing.B) {
	const members, others = 10000, 10000
	srv := NewServer(testConfig())
	nsp := srv.Of("/")
	socks := make([]*Websocket, members)
	for i := range socks {
		socks[i] = newFakeSocket(b, nsp, 64, "room")
	}
	arg := []byte(`{"user":"ann","text":"hello, room"}`)
	op := srv.To("room")
	run := func(b *testing.B) { benchEmit(b, socks, 8, func() { _ = op.Emit("chat", arg) }) }
	b.Run("room=10k/others=0", run)
	for i := 0; i < others; i++ {
		newFakeSocket(b, nsp, 64, "elsewhere")
	}
	b.Run("room=10k/others=10k", run)
}

// BenchmarkRoomBroadcastAdapter is the in-memory adapter's share of the
// broadcast above, on a host that only counts deliveries: the selection
// walks the room's members, never the namespace, so the figure does not
// move with the 10,000 sockets added outside the room.
//
//	go test -run '^$' -bench RoomBroadcastAdapter -benchmem
func BenchmarkRoomBroadcastAdapter(b *testing.B) {
	const members, others = 10000, 10000
	host := &countHost{}
	a := NewMemoryAdapter(host)
	for i := 0; i < members; i++ {
		a.AddAll(newSID(), []string{"room"})
	}
	pkt := &Packet{Nsp: "/", Event: "chat", Args: [][]byte{[]byte(`{"user":"ann","text":"hello, room"}`)}}
	opts := BroadcastOptions{Rooms: []string{"room"}}
	run := func(b *testing.B) {
		b.ReportAllocs()
		host.n = 0
		for i := 0; i < b.N; i++ {
			_ = a.Broadcast(pkt, opts)
		}
		if host.n != b.N*members {
			b.Fatalf("%d deliveries, want %d", host.n, b.N*members)
		}
	}
	b.Run("room=10k/others=0", run)
	for i := 0; i < others; i++ {
		a.AddAll(newSID(), []string{"elsewhere"})
	}
	b.Run("room=10k/others=10k", run)
}

// countHost is an AdapterHost that counts deliveries and does nothing else.
type countHost struct{ n int }

func (h *countHost) Name() string { return "/" }
func (h *countHost) Deliver(string, *EncodedPacket, BroadcastFlags, func([]byte)) bool {
	h.n++
	return true
}
func (h *countHost) DisconnectSocket(string, bool) {}
func (h *countHost) NextAckID() uint64             { return 0 }
func (h *countHost) Recovery() bool                { return false }
func (h *countHost) Describe(string) (Handshake, json.RawMessage, bool) {
	return Handshake{}, nil, false
}
func (h *countHost) ServerSideEvent(string, [][]byte, func([]byte)) {}

// BenchmarkJoinLeave measures one Join followed by one Leave of a connected
// socket: into a room of 1,000 other members, and into a room it creates
// (and removes by leaving).
//
//	go test -run '^$' -bench JoinLeave -benchmem
func BenchmarkJoinLeave(b *testing.B) {
	srv := NewServer(testConfig())
	nsp := srv.Of("/")
	for i := 0; i < 1000; i++ {
		newFakeSocket(b, nsp, 8, "busy")
	}
	kws := newFakeSocket(b, nsp, 8)
	b.Run("existing-room", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			kws.Join("busy")
			kws.Leave("busy")
		}
	})
	b.Run("new-room", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			kws.Join("fresh")
			kws.Leave("fresh")
		}
	})
}

// BenchmarkDispatch decodes an inbound EVENT for the namespace "/x" through
// client.onMessage and runs the listener registered with Of("/x").On: the
// server's side of receiving one event, without the transport.
//
//	go test -run '^$' -bench Dispatch -benchmem
func BenchmarkDispatch(b *testing.B) {
	srv := NewServer(testConfig())
	nsp := srv.Of("/x")
	var got int
	nsp.On("chat", func(ep *EventPayload) { got += len(ep.Data) })
	kws := newFakeSocket(b, nsp, 8)
	msg := []byte(`2/x,["chat",{"user":"ann","text":"hello, room"}]`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := kws.client.onMessage(kws.sess, msg, false); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if got == 0 {
		b.Fatal("listener not called")
	}
}
