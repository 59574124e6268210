package socketio

import (
	"sync"
	"sync/atomic"
)

// EventCallback is a listener registered with On.
type EventCallback func(payload *EventPayload)

// registry maps event names to listeners. Reads are lock-free (one atomic
// load of an immutable map); On copies the map under a mutex, which is rare
// next to dispatch.
type registry struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]eventListeners]
	// any holds the catch-all listeners (OnAny).
	any atomic.Pointer[[]EventCallback]
}

// eventListeners are the listeners of one event, with the event's name:
// an inbound event looks its name up here to reuse that string rather than
// allocate its own (intern).
type eventListeners struct {
	name string
	cbs  []EventCallback
}

func (r *registry) onAny(cb EventCallback) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var list []EventCallback
	if old := r.any.Load(); old != nil {
		list = *old
	}
	list = append(list[:len(list):len(list)], cb)
	r.any.Store(&list)
}

func (r *registry) anyListeners() []EventCallback {
	if l := r.any.Load(); l != nil {
		return *l
	}
	return nil
}

func (r *registry) on(event string, cb EventCallback) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := map[string]eventListeners{}
	if old := r.m.Load(); old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	list := next[event].cbs
	next[event] = eventListeners{name: event, cbs: append(list[:len(list):len(list)], cb)}
	r.m.Store(&next)
}

func (r *registry) get(event string) []EventCallback {
	if m := r.m.Load(); m != nil {
		return (*m)[event].cbs
	}
	return nil
}

// intern returns the name of a listened event spelled b, without
// allocating; ok is false when no listener of r has that name.
func (r *registry) intern(b []byte) (name string, ok bool) {
	if m := r.m.Load(); m != nil {
		if e, found := (*m)[string(b)]; found {
			return e.name, true
		}
	}
	return "", false
}

// socketIndex is the live-connection index: socket id to socket, for
// EmitTo, EmitToList and Broadcast.
type socketIndex struct {
	m sync.Map // string -> *Websocket
}

func (x *socketIndex) add(kws *Websocket) bool {
	_, loaded := x.m.LoadOrStore(kws.GetUUID(), kws)
	return !loaded
}

func (x *socketIndex) get(id string) *Websocket {
	if v, ok := x.m.Load(id); ok {
		return v.(*Websocket)
	}
	return nil
}

// remove deletes id only while it still maps to kws.
func (x *socketIndex) remove(id string, kws *Websocket) {
	x.m.CompareAndDelete(id, kws)
}

func (x *socketIndex) each(fn func(*Websocket) bool) {
	x.m.Range(func(_, v any) bool { return fn(v.(*Websocket)) })
}
