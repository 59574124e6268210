package socketio

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestMemoryAdapterSelection checks who receives what for each kind of
// selection, one packet each, and that every receiver queues the same
// encoded bytes.
func TestMemoryAdapterSelection(t *testing.T) {
	srv := NewServer(testConfig())
	nsp := srv.Of("/")
	s := []*Websocket{
		newFakeSocket(t, nsp, 16, "a"),
		newFakeSocket(t, nsp, 16, "a", "b"),
		newFakeSocket(t, nsp, 16, "b"),
		newFakeSocket(t, nsp, 16, "c"),
		newFakeSocket(t, nsp, 16),
	}
	cases := []struct {
		name string
		op   BroadcastOperator
		want []int
	}{
		{"to a", srv.To("a"), []int{0, 1}},
		{"to a and b, once each", srv.To("a", "b"), []int{0, 1, 2}},
		{"to a and b except b", srv.To("a", "b").Except("b"), []int{0}},
		{"except a and c", srv.Except("a", "c"), []int{2, 4}},
		{"everyone", nsp.Operator(), []int{0, 1, 2, 3, 4}},
		{"to a except a socket id", srv.To("a").Except(s[0].id), []int{1}},
		{"socket-level to a", s[0].To("a"), []int{1}},
		{"socket-level broadcaster", s[4].Broadcaster(), []int{0, 1, 2, 3}},
		{"socket-level except", s[1].Except("c"), []int{0, 2, 4}},
		{"to a socket id room", srv.To(s[3].id), []int{3}},
		{"unknown room", srv.To("nope"), nil},
	}
	for _, tc := range cases {
		if err := tc.op.Emit("ev", []byte(`{"k":1}`)); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []int
		var first []byte
		for i, kws := range s {
			items := drain(kws)
			if len(items) > 1 {
				t.Errorf("%s: socket %d got %d packets", tc.name, i, len(items))
			}
			if len(items) == 0 {
				continue
			}
			got = append(got, i)
			if want := `42["ev",{"k":1}]`; string(items[0].data) != want {
				t.Errorf("%s: packet %q, want %q", tc.name, items[0].data, want)
			}
			if first == nil {
				first = items[0].data
			} else if &first[0] != &items[0].data[0] {
				t.Errorf("%s: socket %d got its own copy of the packet", tc.name, i)
			}
		}
		if !equalInts(got, tc.want) {
			t.Errorf("%s: receivers %v, want %v", tc.name, got, tc.want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRoomsLifecycle: rooms joined before the socket connects (as in a
// middleware) wait until it does, and are never entered by a socket that
// was refused; membership ends with the socket; SocketsLeave of a room
// deletes the room.
func TestRoomsLifecycle(t *testing.T) {
	srv := NewServer(testConfig())
	nsp := srv.Of("/")
	adp := nsp.Adapter()
	kws := newFakeSocket(t, nsp, 16, "early")
	if got, want := kws.Rooms(), sortedStrings(kws.id, "early"); !equalStrings(got, want) {
		t.Errorf("rooms %q, want %q", got, want)
	}
	c := kws.client
	refused := newSocket(c, nsp, nil)
	refused.Join("ghost")
	if got := refused.Rooms(); !equalStrings(got, []string{"ghost"}) {
		t.Errorf("rooms before connect %q", got)
	}
	refused.Leave("ghost")
	refused.Join("ghost2")
	refused.leaveAll() // what a refusal or an early close amounts to
	refused.Join("ghost3")
	for _, r := range adp.Rooms() {
		if strings.HasPrefix(r, "ghost") || r == refused.id {
			t.Errorf("room %q of a socket that never connected", r)
		}
	}
	kws.Leave("early")
	if got := adp.Rooms(); !equalStrings(got, []string{kws.id}) {
		t.Errorf("rooms after Leave: %q", got)
	}
	_ = srv.SocketsJoin("x", "y")
	_ = srv.SocketsLeave("x")
	if got := sortedStrings(adp.Rooms()...); !equalStrings(got, sortedStrings(kws.id, "y")) {
		t.Errorf("rooms after SocketsJoin/SocketsLeave: %q", got)
	}
	kws.disconnect(nil, false)
	if got := adp.Rooms(); len(got) != 0 {
		t.Errorf("rooms after disconnect: %q", got)
	}
	kws.Join("late")
	if got := adp.Rooms(); len(got) != 0 {
		t.Errorf("a disconnected socket joined %q", got)
	}
}

// TestVolatileOnPolling: a volatile packet goes to a polling session only
// while a GET is waiting; an ordinary one is always queued.
func TestVolatileOnPolling(t *testing.T) {
	srv := NewServer(testConfig())
	nsp := srv.Of("/")
	kws := newFakeSocket(t, nsp, 16)
	kws.sess.transport.Store(onPolling)
	_ = srv.Volatile().Emit("v")
	_ = srv.Emit("n")
	kws.sess.getActive.Store(true)
	_ = srv.Volatile().Emit("v2")
	var got []string
	for _, p := range drain(kws) {
		got = append(got, string(p.data))
	}
	if want := []string{`42["n"]`, `42["v2"]`}; !equalStrings(got, want) {
		t.Errorf("queued %q, want %q", got, want)
	}
}

// TestBinaryBroadcast: Broadcast with BinaryMessage queues one
// BINARY_EVENT and its attachment, shared by every receiver, in every
// namespace.
func TestBinaryBroadcast(t *testing.T) {
	srv := NewServer(testConfig())
	a := newFakeSocket(t, srv.Of("/"), 16)
	b := newFakeSocket(t, srv.Of("/admin"), 16)
	payload := []byte{0, 1, 2, 0xff}
	srv.Broadcast(payload, BinaryMessage)
	for _, tc := range []struct {
		kws  *Websocket
		text string
	}{
		{a, `451-["message",{"_placeholder":true,"num":0}]`},
		{b, `451-/admin,["message",{"_placeholder":true,"num":0}]`},
	} {
		items := drain(tc.kws)
		if len(items) != 2 || string(items[0].data) != tc.text || !items[1].binary || !bytes.Equal(items[1].data, payload) {
			t.Errorf("%s queued %v", tc.kws.Namespace(), items)
		}
	}
}

// TestOperatorImmutable: modifiers return new operators and never change
// (or share the arrays of) the one they start from.
func TestOperatorImmutable(t *testing.T) {
	srv := NewServer(testConfig())
	base := srv.To("a", "b").Except("x")
	c1 := base.To("c")
	c2 := base.To("d").Except("y").Volatile().Timeout(5).Compress(false).Local()
	if !equalStrings(base.rooms, []string{"a", "b"}) || !equalStrings(base.except, []string{"x"}) || base.flags != (BroadcastFlags{}) {
		t.Errorf("base changed: %+v", base)
	}
	if !equalStrings(c1.rooms, []string{"a", "b", "c"}) || !equalStrings(c2.rooms, []string{"a", "b", "d"}) {
		t.Errorf("derived rooms %q, %q", c1.rooms, c2.rooms)
	}
	if !equalStrings(c2.except, []string{"x", "y"}) || !c2.flags.Volatile || !c2.flags.NoCompress || !c2.flags.Local || c2.flags.Timeout != 5 {
		t.Errorf("derived options %+v", c2)
	}
	var zero BroadcastOperator
	if err := zero.Emit("ev"); err != ErrNoAdapter {
		t.Errorf("zero operator: %v", err)
	}
}

// countingAdapter wraps the in-memory adapter to see what the server asks
// of a pluggable one.
type countingAdapter struct {
	Adapter
	host       AdapterHost
	broadcasts *[]string
	closed     *int
}

func (c countingAdapter) Broadcast(pkt *Packet, opts BroadcastOptions) error {
	*c.broadcasts = append(*c.broadcasts, c.host.Name()+" "+pkt.Event+" "+strings.Join(opts.Rooms, ","))
	return c.Adapter.Broadcast(pkt, opts)
}

func (c countingAdapter) Close() error {
	*c.closed++
	return c.Adapter.Close()
}

// TestSetAdapter plugs an adapter in one line: every namespace, existing
// or created later, gets one from the factory, broadcasts go through it,
// and Shutdown closes it.
func TestSetAdapter(t *testing.T) {
	srv := NewServer(testConfig())
	var broadcasts []string
	closed := 0
	srv.SetAdapter(func(h AdapterHost) Adapter {
		return countingAdapter{Adapter: NewMemoryAdapter(h), host: h, broadcasts: &broadcasts, closed: &closed}
	})
	root := newFakeSocket(t, srv.Of("/"), 16, "r")
	other := newFakeSocket(t, srv.Of("/later"), 16, "r")
	_ = srv.To("r").Emit("one")
	_ = srv.Of("/later").To("r").Emit("two")
	if want := []string{"/ one r", "/later two r"}; !equalStrings(broadcasts, want) {
		t.Errorf("adapter saw %q, want %q", broadcasts, want)
	}
	if len(drain(root)) != 1 || len(drain(other)) != 1 {
		t.Errorf("the plugged adapter did not deliver")
	}
	root.disconnect(nil, false)
	other.disconnect(nil, false)
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if closed != 2 {
		t.Errorf("Shutdown closed %d adapters, want 2", closed)
	}
}

// TestSocketSelfOperators: kws.Volatile and kws.Timeout address the socket
// alone; a broadcast ack is answered through the socket's ack table with
// the id the packet carried.
func TestSocketSelfOperators(t *testing.T) {
	srv := NewServer(testConfig())
	nsp := srv.Of("/")
	a := newFakeSocket(t, nsp, 16)
	b := newFakeSocket(t, nsp, 16)
	_ = a.Volatile().Emit("v")
	if len(drain(a)) != 1 || len(drain(b)) != 0 {
		t.Fatal("kws.Volatile did not address the socket alone")
	}
	got := make(chan string, 1)
	err := a.Timeout(5*time.Second).EmitWithAck("ask", nil, func(responses [][]byte, err error) {
		got <- fmt.Sprintf("%q %v", responses, err)
	})
	if err != nil {
		t.Fatal(err)
	}
	items := drain(a)
	if len(items) != 1 || len(drain(b)) != 0 {
		t.Fatalf("queued %d packets", len(items))
	}
	id := nsp.ackIDs.Load() - 1
	if want := `42` + itoa(int(id)) + `["ask"]`; string(items[0].data) != want {
		t.Fatalf("packet %q, want %q", items[0].data, want)
	}
	if err := a.onAck(sioPacket{Type: sioAck, ID: id, HasID: true, Data: []byte(`["yes",2]`)}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r != `["\"yes\""] <nil>` {
			t.Errorf("callback got %s", r)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no callback")
	}
}

// idsHost is a countHost (rooms_bench_test.go) that records the ids a
// broadcast reaches.
type idsHost struct {
	countHost
	got []string
}

func (h *idsHost) Deliver(id string, _ *EncodedPacket, _ BroadcastFlags, _ func([]byte)) bool {
	h.got = append(h.got, id)
	return true
}

// TestMemoryAdapterOwnRooms: the adapter keeps a socket's own room without
// storing it in its room index; every way of reaching, listing, leaving
// and sharing such a room still behaves as with any other room.
func TestMemoryAdapterOwnRooms(t *testing.T) {
	h := &idsHost{}
	a := NewMemoryAdapter(h)
	a.AddAll("A", []string{"A"})
	a.AddAll("B", []string{"B", "r"})
	a.AddAll("C", []string{"r", "C"})
	a.AddAll("D", nil) // known, in no room
	reach := func(opts BroadcastOptions) []string {
		h.got = nil
		if err := a.Broadcast(&Packet{Nsp: "/", Event: "x"}, opts); err != nil {
			t.Fatal(err)
		}
		return sortedStrings(h.got...)
	}
	check := func(what string, got, want []string) {
		t.Helper()
		if !equalStrings(got, sortedStrings(want...)) {
			t.Errorf("%s: %q, want %q", what, got, sortedStrings(want...))
		}
	}
	check("to A", reach(BroadcastOptions{Rooms: []string{"A"}}), []string{"A"})
	check("to B", reach(BroadcastOptions{Rooms: []string{"B"}}), []string{"B"})
	check("to A and r", reach(BroadcastOptions{Rooms: []string{"A", "r"}}), []string{"A", "B", "C"})
	check("to r except B", reach(BroadcastOptions{Rooms: []string{"r"}, Except: []string{"B"}}), []string{"C"})
	check("all except A and C", reach(BroadcastOptions{Except: []string{"A", "C"}}), []string{"B", "D"})
	check("rooms of A", sortedStrings(a.SocketRooms("A")...), []string{"A"})
	check("rooms of C", sortedStrings(a.SocketRooms("C")...), []string{"C", "r"})
	check("rooms of D", a.SocketRooms("D"), nil)
	check("all rooms", sortedStrings(a.Rooms()...), []string{"A", "B", "C", "r"})

	// Another socket joins the room named by A's id: both are in it, once.
	a.AddAll("B", []string{"A"})
	check("to A after B joined it", reach(BroadcastOptions{Rooms: []string{"A"}}), []string{"A", "B"})
	check("to A and B", reach(BroadcastOptions{Rooms: []string{"A", "B"}}), []string{"A", "B"})
	check("all rooms, A shared", sortedStrings(a.Rooms()...), []string{"A", "B", "C", "r"})
	check("everyone except A", reach(BroadcastOptions{Except: []string{"A"}}), []string{"C", "D"})

	// A socket may leave its own room (Node's socket.leave(socket.id)).
	a.Del("A", "A")
	check("to A after A left it", reach(BroadcastOptions{Rooms: []string{"A"}}), []string{"B"})
	check("rooms of A after leaving", a.SocketRooms("A"), nil)
	check("everyone, A still connected", reach(BroadcastOptions{}), []string{"A", "B", "C", "D"})
	a.AddAll("A", []string{"A"})
	check("to A after rejoining", reach(BroadcastOptions{Rooms: []string{"A"}}), []string{"A", "B"})
	a.Del("C", "C")
	check("to C after C left it", reach(BroadcastOptions{Rooms: []string{"C"}}), nil)
	check("rooms of C after leaving", a.SocketRooms("C"), []string{"r"})

	socks, err := a.FetchSockets(context.Background(), BroadcastOptions{Rooms: []string{"A"}})
	if err != nil || len(socks) != 2 {
		t.Fatalf("FetchSockets: %v %v", socks, err)
	}
	for _, s := range socks {
		want := map[string][]string{"A": {"A"}, "B": {"A", "B", "r"}}[s.ID]
		check("FetchSockets rooms of "+s.ID, s.Rooms, want)
	}

	for _, id := range []string{"A", "B", "C", "D"} {
		a.DelAll(id)
	}
	check("rooms after everyone left", a.Rooms(), nil)
	check("to A after everyone left", reach(BroadcastOptions{Rooms: []string{"A"}}), nil)
}
