package socketio

import (
	"context"
	"sort"
	"sync"
)

// memoryAdapter is the single-process Adapter: two indexes, room to
// members and member to rooms, under one RWMutex. Selections are collected
// under the read lock and delivered after it is released, so a listener run
// by a delivery (EventError on overflow) may join or leave rooms.
//
// A socket's own room (the room named by its id, which every socket joins
// on connect) is not stored in rooms: sids[id] == nil means the socket is
// in its own room and no other, and a non-nil sids[id] lists its own room
// like any other. rooms[r] never lists the socket whose id is r; members
// adds it. That saves two small maps per connection.
type memoryAdapter struct {
	host  AdapterHost
	mu    sync.RWMutex
	rooms map[string]map[string]struct{}
	sids  map[string]map[string]struct{}
	// held are the sessions kept for connection-state recovery
	// (adapter_memory_session.go), nil until the first one.
	held *heldSessions
	// events is the host when it takes room events (OnRoom; nil for a
	// host that does not).
	events roomEventHost
}

// NewMemoryAdapter returns the in-memory adapter of one namespace, the
// default AdapterFactory.
func NewMemoryAdapter(host AdapterHost) Adapter {
	a := &memoryAdapter{
		host:  host,
		rooms: map[string]map[string]struct{}{},
		sids:  map[string]map[string]struct{}{},
	}
	a.events, _ = host.(roomEventHost)
	return a
}

func (a *memoryAdapter) AddAll(id string, rooms []string) {
	ev := a.roomEvents()
	a.mu.Lock()
	a.addLocked(id, rooms, ev)
	a.mu.Unlock()
	a.fire(ev)
}

func (a *memoryAdapter) addLocked(id string, rooms []string, ev *[]roomEvent) {
	mine, known := a.sids[id]
	own := known && mine == nil
	for _, r := range rooms {
		if ev != nil {
			a.noteJoin(id, r, mine, own, ev)
		}
		if r == id {
			if mine != nil {
				mine[id] = struct{}{}
			} else {
				own = true
			}
			continue
		}
		if mine == nil {
			mine = make(map[string]struct{}, len(rooms)+1)
			if own {
				mine[id] = struct{}{}
			}
		}
		mine[r] = struct{}{}
		members := a.rooms[r]
		if members == nil {
			members = map[string]struct{}{}
			a.rooms[r] = members
		}
		members[id] = struct{}{}
	}
	switch {
	case mine != nil:
		a.sids[id] = mine
	case own:
		a.sids[id] = nil
	case !known:
		a.sids[id] = map[string]struct{}{}
	}
}

// inOwnRoom reports whether socket id is a member of the room named by
// its id. The caller holds a.mu.
func (a *memoryAdapter) inOwnRoom(id string) bool {
	mine, ok := a.sids[id]
	if !ok {
		return false
	}
	if mine == nil {
		return true
	}
	_, in := mine[id]
	return in
}

// socketRoomsLocked returns the rooms of socket id (nil when unknown).
// The caller holds a.mu.
func (a *memoryAdapter) socketRoomsLocked(id string) []string {
	mine, ok := a.sids[id]
	if !ok {
		return nil
	}
	if mine == nil {
		return []string{id}
	}
	out := make([]string, 0, len(mine))
	for r := range mine {
		out = append(out, r)
	}
	return out
}

func (a *memoryAdapter) Del(id, room string) {
	ev := a.roomEvents()
	a.mu.Lock()
	a.delLocked(id, room, ev)
	a.mu.Unlock()
	a.fire(ev)
}

func (a *memoryAdapter) delLocked(id, room string, ev *[]roomEvent) {
	mine, known := a.sids[id]
	if ev != nil {
		defer a.noteLeave(id, room, a.isMember(id, room), ev)
	}
	if room == id {
		if known && mine == nil {
			a.sids[id] = map[string]struct{}{}
		} else if mine != nil {
			delete(mine, id)
		}
		return
	}
	if mine != nil {
		delete(mine, room)
	}
	if members := a.rooms[room]; members != nil {
		delete(members, id)
		if len(members) == 0 {
			delete(a.rooms, room)
		}
	}
}

func (a *memoryAdapter) DelAll(id string) {
	ev := a.roomEvents()
	a.mu.Lock()
	if ev != nil {
		rooms := a.socketRoomsLocked(id)
		sort.Strings(rooms) // the events in a stable order
		for _, r := range rooms {
			a.delLocked(id, r, ev)
		}
	}
	a.delAllLocked(id)
	a.mu.Unlock()
	a.fire(ev)
}

func (a *memoryAdapter) delAllLocked(id string) {
	for r := range a.sids[id] {
		if members := a.rooms[r]; members != nil {
			delete(members, id)
			if len(members) == 0 {
				delete(a.rooms, r)
			}
		}
	}
	delete(a.sids, id)
}

func (a *memoryAdapter) SocketRooms(id string) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.socketRoomsLocked(id)
}

func (a *memoryAdapter) Rooms() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(a.rooms)+len(a.sids))
	for r := range a.rooms {
		out = append(out, r)
	}
	for id := range a.sids {
		if _, listed := a.rooms[id]; !listed && a.inOwnRoom(id) {
			out = append(out, id)
		}
	}
	return out
}

// idSlices recycles the id lists of broadcasts.
var idSlices = sync.Pool{New: func() any { s := make([]string, 0, 64); return &s }}

// selectLocked calls fn for every selected socket id, once each. The
// caller holds a.mu (read or write).
func (a *memoryAdapter) selectLocked(opts *BroadcastOptions, fn func(id string)) {
	selectIn(a.rooms, a.sids, a.inOwnRoom, opts, fn)
}

// selectIn calls fn for every id of the index (room to members, member to
// rooms) that opts selects, once each. own, when not nil, reports the
// members of own rooms that rooms does not list (see memoryAdapter).
func selectIn(rooms, sids map[string]map[string]struct{}, own func(id string) bool, opts *BroadcastOptions, fn func(id string)) {
	// in reports whether id is a member of room r.
	in := func(id, r string) bool {
		if _, ok := rooms[r][id]; ok {
			return true
		}
		return id == r && own != nil && own(id)
	}
	skip := func(id string) bool {
		for _, r := range opts.Except {
			if in(id, r) {
				return true
			}
		}
		return false
	}
	switch len(opts.Rooms) {
	case 0:
		for id := range sids {
			if !skip(id) {
				fn(id)
			}
		}
	case 1:
		r := opts.Rooms[0]
		for id := range rooms[r] {
			if !skip(id) {
				fn(id)
			}
		}
		if own != nil && own(r) && !skip(r) {
			fn(r)
		}
	default:
		seen := map[string]struct{}{}
		visit := func(id string) {
			if _, dup := seen[id]; dup || skip(id) {
				return
			}
			seen[id] = struct{}{}
			fn(id)
		}
		for _, r := range opts.Rooms {
			for id := range rooms[r] {
				visit(id)
			}
			if own != nil && own(r) {
				visit(r)
			}
		}
	}
}

// collect returns the selected ids in a pooled slice; give it back with
// releaseIDs.
func (a *memoryAdapter) collect(opts *BroadcastOptions) *[]string {
	ids := idSlices.Get().(*[]string)
	a.mu.RLock()
	a.selectLocked(opts, func(id string) { *ids = append(*ids, id) })
	a.mu.RUnlock()
	return ids
}

func releaseIDs(ids *[]string) {
	if cap(*ids) > 1<<16 {
		return
	}
	clear(*ids)
	*ids = (*ids)[:0]
	idSlices.Put(ids)
}

func (a *memoryAdapter) Broadcast(pkt *Packet, opts BroadcastOptions) error {
	enc := pkt.Encode()
	if enc.off != 0 && !opts.Flags.Volatile {
		return a.broadcastStored(enc, &opts)
	}
	ids := a.collect(&opts)
	if bh, ok := a.host.(burstHost); ok && len(*ids) >= burstMinReceivers {
		b := bh.broadcastBurst()
		b.begin()
		defer b.end()
	}
	for _, id := range *ids {
		a.host.Deliver(id, enc, opts.Flags, nil)
	}
	releaseIDs(ids)
	return nil
}

// burstHost is an AdapterHost that batches big broadcasts (burst.go).
type burstHost interface{ broadcastBurst() *burst }

func (a *memoryAdapter) BroadcastWithAck(pkt *Packet, opts BroadcastOptions, clientCount func(int), ack func([]byte)) error {
	enc := pkt.Encode()
	ids := a.collect(&opts)
	n := 0
	for _, id := range *ids {
		if a.host.Deliver(id, enc, opts.Flags, ack) {
			n++
		}
	}
	releaseIDs(ids)
	clientCount(n)
	return nil
}

func (a *memoryAdapter) ServerCount(context.Context) (int, error) { return 1, nil }

func (a *memoryAdapter) FetchSockets(_ context.Context, opts BroadcastOptions) ([]RemoteSocket, error) {
	var out []RemoteSocket
	a.mu.RLock()
	a.selectLocked(&opts, func(id string) {
		rs := RemoteSocket{ID: id, Rooms: a.socketRoomsLocked(id)}
		sort.Strings(rs.Rooms)
		out = append(out, rs)
	})
	a.mu.RUnlock()
	return out, nil
}

// AddSockets and DelSockets select and change under one write lock, so a
// socket that disconnects meanwhile is not added back.
func (a *memoryAdapter) AddSockets(opts BroadcastOptions, rooms []string) error {
	a.mu.Lock()
	var ids []string
	a.selectLocked(&opts, func(id string) { ids = append(ids, id) })
	ev := a.roomEvents()
	for _, id := range ids {
		a.addLocked(id, rooms, ev)
	}
	a.mu.Unlock()
	a.fire(ev)
	return nil
}

func (a *memoryAdapter) DelSockets(opts BroadcastOptions, rooms []string) error {
	a.mu.Lock()
	var ids []string
	a.selectLocked(&opts, func(id string) { ids = append(ids, id) })
	ev := a.roomEvents()
	for _, id := range ids {
		for _, r := range rooms {
			a.delLocked(id, r, ev)
		}
	}
	a.mu.Unlock()
	a.fire(ev)
	return nil
}

func (a *memoryAdapter) DisconnectSockets(opts BroadcastOptions, closeConn bool) error {
	ids := a.collect(&opts)
	for _, id := range *ids {
		a.host.DisconnectSocket(id, closeConn)
	}
	releaseIDs(ids)
	return nil
}

func (a *memoryAdapter) Close() error {
	a.closeHeld()
	return nil
}
