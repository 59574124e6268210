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
type memoryAdapter struct {
	host  AdapterHost
	mu    sync.RWMutex
	rooms map[string]map[string]struct{}
	sids  map[string]map[string]struct{}
	// held are the sessions kept for connection-state recovery
	// (adapter_memory_session.go), nil until the first one.
	held *heldSessions
}

// NewMemoryAdapter returns the in-memory adapter of one namespace, the
// default AdapterFactory.
func NewMemoryAdapter(host AdapterHost) Adapter {
	return &memoryAdapter{
		host:  host,
		rooms: map[string]map[string]struct{}{},
		sids:  map[string]map[string]struct{}{},
	}
}

func (a *memoryAdapter) AddAll(id string, rooms []string) {
	a.mu.Lock()
	a.addLocked(id, rooms)
	a.mu.Unlock()
}

func (a *memoryAdapter) addLocked(id string, rooms []string) {
	mine := a.sids[id]
	if mine == nil {
		mine = make(map[string]struct{}, len(rooms))
		a.sids[id] = mine
	}
	for _, r := range rooms {
		mine[r] = struct{}{}
		members := a.rooms[r]
		if members == nil {
			members = map[string]struct{}{}
			a.rooms[r] = members
		}
		members[id] = struct{}{}
	}
}

func (a *memoryAdapter) Del(id, room string) {
	a.mu.Lock()
	a.delLocked(id, room)
	a.mu.Unlock()
}

func (a *memoryAdapter) delLocked(id, room string) {
	if mine := a.sids[id]; mine != nil {
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
	a.mu.Lock()
	a.delAllLocked(id)
	a.mu.Unlock()
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
	mine, ok := a.sids[id]
	if !ok {
		return nil
	}
	out := make([]string, 0, len(mine))
	for r := range mine {
		out = append(out, r)
	}
	return out
}

func (a *memoryAdapter) Rooms() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(a.rooms))
	for r := range a.rooms {
		out = append(out, r)
	}
	return out
}

// idSlices recycles the id lists of broadcasts.
var idSlices = sync.Pool{New: func() any { s := make([]string, 0, 64); return &s }}

// selectLocked calls fn for every selected socket id, once each. The
// caller holds a.mu (read or write).
func (a *memoryAdapter) selectLocked(opts *BroadcastOptions, fn func(id string)) {
	selectIn(a.rooms, a.sids, opts, fn)
}

// selectIn calls fn for every id of the index (room to members, member to
// rooms) that opts selects, once each.
func selectIn(rooms, sids map[string]map[string]struct{}, opts *BroadcastOptions, fn func(id string)) {
	var except map[string]struct{}
	if len(opts.Except) == 1 {
		except = rooms[opts.Except[0]]
	} else if len(opts.Except) > 1 {
		except = map[string]struct{}{}
		for _, r := range opts.Except {
			for id := range rooms[r] {
				except[id] = struct{}{}
			}
		}
	}
	skip := func(id string) bool {
		_, ok := except[id]
		return ok
	}
	switch len(opts.Rooms) {
	case 0:
		for id := range sids {
			if !skip(id) {
				fn(id)
			}
		}
	case 1:
		for id := range rooms[opts.Rooms[0]] {
			if !skip(id) {
				fn(id)
			}
		}
	default:
		seen := map[string]struct{}{}
		for _, r := range opts.Rooms {
			for id := range rooms[r] {
				if _, dup := seen[id]; dup || skip(id) {
					continue
				}
				seen[id] = struct{}{}
				fn(id)
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
		rs := RemoteSocket{ID: id, Rooms: make([]string, 0, len(a.sids[id]))}
		for r := range a.sids[id] {
			rs.Rooms = append(rs.Rooms, r)
		}
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
	for _, id := range ids {
		a.addLocked(id, rooms)
	}
	a.mu.Unlock()
	return nil
}

func (a *memoryAdapter) DelSockets(opts BroadcastOptions, rooms []string) error {
	a.mu.Lock()
	var ids []string
	a.selectLocked(&opts, func(id string) { ids = append(ids, id) })
	for _, id := range ids {
		for _, r := range rooms {
			a.delLocked(id, r)
		}
	}
	a.mu.Unlock()
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
