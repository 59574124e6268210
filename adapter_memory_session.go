package socketio

import (
	"sort"
	"time"
)

// This file makes the in-memory adapter a SessionAwareAdapter: it keeps the
// sessions of lost sockets, indexed by room like the live sockets, so that
// a stored broadcast (one with an Offset) reaches them too; the packets go
// into each session's own bounded buffer.

// heldSessions is the index of the persisted sessions, guarded by the
// adapter's mutex.
type heldSessions struct {
	rooms map[string]map[string]struct{} // room -> ids
	sids  map[string]map[string]struct{} // id -> rooms
	byID  map[string]*heldSession
	byPID map[string]string // pid -> id
}

type heldSession struct {
	s     *Session
	timer *time.Timer
}

var _ SessionAwareAdapter = (*memoryAdapter)(nil)

// PersistSession moves the socket s.ID from the live rooms to the held
// sessions, atomically for broadcasts, until s.Deadline.
func (a *memoryAdapter) PersistSession(s *Session) {
	ev := a.roomEvents()
	defer a.fire(ev) // after the unlock
	a.mu.Lock()
	defer a.mu.Unlock()
	if rooms := a.socketRoomsLocked(s.ID); rooms != nil {
		s.Rooms = rooms
		sort.Strings(s.Rooms)
		if ev != nil {
			for _, r := range rooms {
				a.delLocked(s.ID, r, ev)
			}
		}
		a.delAllLocked(s.ID)
	}
	if a.held == nil {
		a.held = &heldSessions{
			rooms: map[string]map[string]struct{}{},
			sids:  map[string]map[string]struct{}{},
			byID:  map[string]*heldSession{},
			byPID: map[string]string{},
		}
	}
	a.dropHeldLocked(s.ID)
	h := &heldSession{s: s}
	rooms := make(map[string]struct{}, len(s.Rooms))
	for _, r := range s.Rooms {
		rooms[r] = struct{}{}
		members := a.held.rooms[r]
		if members == nil {
			members = map[string]struct{}{}
			a.held.rooms[r] = members
		}
		members[s.ID] = struct{}{}
	}
	a.held.sids[s.ID] = rooms
	a.held.byID[s.ID] = h
	a.held.byPID[s.PID] = s.ID
	h.timer = time.AfterFunc(time.Until(s.Deadline), func() {
		a.mu.Lock()
		if a.held != nil && a.held.byID[s.ID] == h {
			a.dropHeldLocked(s.ID)
		}
		a.mu.Unlock()
	})
}

// RestoreSession takes out the session pid and puts its socket back into
// its rooms (the offset is checked against the session's buffer by the
// caller).
func (a *memoryAdapter) RestoreSession(pid, _ string) (*Session, error) {
	ev := a.roomEvents()
	defer a.fire(ev) // after the unlock
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.held == nil {
		return nil, ErrSessionNotFound
	}
	id, ok := a.held.byPID[pid]
	if !ok {
		return nil, ErrSessionNotFound
	}
	h := a.held.byID[id]
	a.dropHeldLocked(id)
	if time.Now().After(h.s.Deadline) {
		return nil, ErrSessionNotFound
	}
	a.addLocked(id, append([]string{id}, h.s.Rooms...), ev)
	return h.s, nil
}

// dropHeldLocked forgets the held session of id. Called with a.mu held.
func (a *memoryAdapter) dropHeldLocked(id string) {
	h := a.held.byID[id]
	if h == nil {
		return
	}
	if h.timer != nil {
		h.timer.Stop()
	}
	for r := range a.held.sids[id] {
		if members := a.held.rooms[r]; members != nil {
			delete(members, id)
			if len(members) == 0 {
				delete(a.held.rooms, r)
			}
		}
	}
	delete(a.held.sids, id)
	delete(a.held.byID, id)
	if a.held.byPID[h.s.PID] == id {
		delete(a.held.byPID, h.s.PID)
	}
}

// broadcastStored delivers a packet with an offset to the selected live
// sockets and keeps it for the selected held sessions; one selection under
// one lock sees each socket either live or held, never both nor neither.
func (a *memoryAdapter) broadcastStored(enc *EncodedPacket, opts *BroadcastOptions) error {
	ids := idSlices.Get().(*[]string)
	var logs []*recoveryLog
	a.mu.RLock()
	a.selectLocked(opts, func(id string) { *ids = append(*ids, id) })
	if a.held != nil && len(a.held.byID) > 0 {
		selectIn(a.held.rooms, a.held.sids, nil, opts, func(id string) {
			if h := a.held.byID[id]; h != nil && h.s.buf != nil {
				logs = append(logs, h.s.buf)
			}
		})
	}
	a.mu.RUnlock()
	for _, id := range *ids {
		a.host.Deliver(id, enc, opts.Flags, nil)
	}
	releaseIDs(ids)
	for _, l := range logs {
		// push, not keep: the session may have been restored since it
		// was selected, and its buffer then queues as well.
		_ = l.push(enc.off, enc.Text, enc.Attachments, opts.Flags.NoCompress)
	}
	return nil
}

// closeHeld forgets every held session (Close).
func (a *memoryAdapter) closeHeld() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.held == nil {
		return
	}
	for id := range a.held.byID {
		a.dropHeldLocked(id)
	}
}
