package socketio

// Room events, as the events of Node's in-memory adapter: a room is created
// when its first socket joins it and deleted when its last one leaves;
// every join and leave is reported too. A socket's own room (named by its
// id) counts like any other, as in Node.

// Kinds of room events (the names of Node's adapter events).
const (
	// RoomCreated: the room got its first member; socketID is empty.
	RoomCreated = "create-room"
	// RoomDeleted: the room lost its last member; socketID is empty.
	RoomDeleted = "delete-room"
	// RoomJoined: socketID joined the room.
	RoomJoined = "join-room"
	// RoomLeft: socketID left the room (also when it disconnected).
	RoomLeft = "leave-room"
)

// RoomListener receives the room events of a namespace: kind is one of
// RoomCreated, RoomDeleted, RoomJoined and RoomLeft. Listeners run after
// the change, outside the adapter's lock (they may join, leave, emit),
// on the goroutine that made it; events of concurrent changes may
// interleave. With a multi-node adapter they report this node's sockets,
// as Node's adapter events do.
type RoomListener func(kind, room, socketID string)

// OnRoom adds a listener for the namespace's room events (Node's
// nsp.adapter.on("create-room" | "delete-room" | "join-room" |
// "leave-room")). On a dynamic parent it hears every child.
func (n *Namespace) OnRoom(fn RoomListener) {
	n.srv.mu.Lock()
	defer n.srv.mu.Unlock()
	var list []RoomListener
	if old := n.roomListeners.Load(); old != nil {
		list = *old
	}
	list = append(list[:len(list):len(list)], fn)
	n.roomListeners.Store(&list)
}

// OnRoom adds a listener for the room events of the main namespace.
func (s *Server) OnRoom(fn RoomListener) { s.main().OnRoom(fn) }

// OnRoom adds a listener for the room events of the default server's main
// namespace.
func OnRoom(fn RoomListener) { defaultServer.OnRoom(fn) }

// roomEvent is one event, collected under the adapter's lock and fired
// after it.
type roomEvent struct {
	kind, room, id string
}

// roomEventHost is an AdapterHost that takes room events (nspHost).
type roomEventHost interface {
	// roomListened reports whether anyone listens.
	roomListened() bool
	roomEvent(kind, room, id string)
}

func (n *Namespace) roomListened() bool {
	if l := n.roomListeners.Load(); l != nil && len(*l) > 0 {
		return true
	}
	return n.parent != nil && n.parent.roomListened()
}

func (h nspHost) roomListened() bool { return h.n.roomListened() }

func (h nspHost) roomEvent(kind, room, id string) {
	for n := h.n; n != nil; n = n.parent {
		if l := n.roomListeners.Load(); l != nil {
			for _, fn := range *l {
				h.n.callRoomListener(fn, kind, room, id)
			}
		}
	}
}

// callRoomListener runs fn, logging a panic.
func (n *Namespace) callRoomListener(fn RoomListener, kind, room, id string) {
	defer func() {
		if r := recover(); r != nil {
			cfg := n.srv.config()
			cfg.log("error", "room listener panicked", "namespace", n.name, "event", kind, "room", room, "panic", r)
		}
	}()
	fn(kind, room, id)
}

// roomEvents returns a list to collect the events of one change in, or nil
// when nobody listens.
func (a *memoryAdapter) roomEvents() *[]roomEvent {
	if a.events == nil || !a.events.roomListened() {
		return nil
	}
	return new([]roomEvent)
}

// fire reports the events collected in ev, if any.
func (a *memoryAdapter) fire(ev *[]roomEvent) {
	if ev == nil {
		return
	}
	for _, e := range *ev {
		a.events.roomEvent(e.kind, e.room, e.id)
	}
}

// roomExists reports whether room has a member. The caller holds a.mu.
func (a *memoryAdapter) roomExists(room string) bool {
	return len(a.rooms[room]) > 0 || a.inOwnRoom(room)
}

// isMember reports whether socket id is in room. The caller holds a.mu.
func (a *memoryAdapter) isMember(id, room string) bool {
	if room == id {
		return a.inOwnRoom(id)
	}
	_, in := a.rooms[room][id]
	return in
}

// noteJoin collects the events of socket id joining room r, before
// addLocked changes anything for r: mine and own are addLocked's view of
// the socket's rooms so far. The caller holds a.mu.
func (a *memoryAdapter) noteJoin(id, r string, mine map[string]struct{}, own bool, ev *[]roomEvent) {
	if r == id {
		in := own
		if mine != nil {
			_, in = mine[id]
		}
		if in {
			return
		}
		if len(a.rooms[id]) == 0 {
			*ev = append(*ev, roomEvent{RoomCreated, r, ""})
		}
		*ev = append(*ev, roomEvent{RoomJoined, r, id})
		return
	}
	members := a.rooms[r]
	if _, in := members[id]; in {
		return
	}
	if len(members) == 0 && !a.inOwnRoom(r) {
		*ev = append(*ev, roomEvent{RoomCreated, r, ""})
	}
	*ev = append(*ev, roomEvent{RoomJoined, r, id})
}

// noteLeave collects the events of socket id leaving room, after delLocked
// changed it; wasMember is whether it was in the room before. The caller
// holds a.mu.
func (a *memoryAdapter) noteLeave(id, room string, wasMember bool, ev *[]roomEvent) {
	if !wasMember {
		return
	}
	*ev = append(*ev, roomEvent{RoomLeft, room, id})
	if !a.roomExists(room) {
		*ev = append(*ev, roomEvent{RoomDeleted, room, ""})
	}
}
