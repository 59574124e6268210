package socketio

// Listeners and middlewares of one socket, and catch-all listeners: what
// Node's socket.on, socket.off, socket.onAny, socket.offAny and socket.use
// do. A socket holds a nil pointer until one is added, so sockets that use
// none pay one atomic load per event.

// EventMiddleware runs on every event a client emits to a socket, before
// its listeners (see Websocket.Use). A non-nil error stops the event: no
// listener sees it, and EventError fires on the socket with the error (as
// Node's socket.use, whose error reaches socket.on("error")).
type EventMiddleware func(ep *EventPayload) error

// socketHooks is an immutable snapshot of a socket's own listeners and
// middlewares; adding one replaces the snapshot.
type socketHooks struct {
	events map[string][]EventCallback
	any    []EventCallback
	mws    []EventMiddleware
	// out are the OnAnyOutgoing listeners.
	out []EventCallback
}

// updateHooks replaces the socket's snapshot with what change makes of a
// copy of it.
func (kws *Websocket) updateHooks(change func(h *socketHooks)) {
	kws.mu.Lock()
	defer kws.mu.Unlock()
	next := &socketHooks{events: map[string][]EventCallback{}}
	if old := kws.hooks.Load(); old != nil {
		for k, v := range old.events {
			next.events[k] = v
		}
		next.any = old.any
		next.mws = old.mws
		next.out = old.out
	}
	change(next)
	kws.hooks.Store(next)
}

// On adds a listener for event on this socket alone, as Node's socket.on:
// it runs after the server's, the namespace's and the parent namespace's
// listeners of event, for the events the client emits and for the
// lifecycle events of this socket (EventDisconnecting, EventDisconnect,
// EventError, ...). Add listeners in the New callback or an EventConnect
// listener: both run before the socket's first event is read (unless a
// namespace middleware called next from another goroutine).
func (kws *Websocket) On(event string, callback EventCallback) {
	kws.updateHooks(func(h *socketHooks) {
		list := h.events[event]
		h.events[event] = append(list[:len(list):len(list)], callback)
	})
}

// Off removes every listener added with On for event on this socket (Go
// functions cannot be compared, so there is no removing one of them).
func (kws *Websocket) Off(event string) {
	kws.updateHooks(func(h *socketHooks) { delete(h.events, event) })
}

// OnAny adds a listener for every event the client emits to this socket,
// as Node's socket.onAny; it runs before the listeners of the event's
// name. Lifecycle events do not reach it.
func (kws *Websocket) OnAny(callback EventCallback) {
	kws.updateHooks(func(h *socketHooks) { h.any = append(h.any[:len(h.any):len(h.any)], callback) })
}

// OffAny removes the listeners added with OnAny.
func (kws *Websocket) OffAny() {
	kws.updateHooks(func(h *socketHooks) { h.any = nil })
}

// OnAnyOutgoing adds a listener for every event sent to this socket, as
// Node's socket.onAnyOutgoing: what is emitted to it (Emit, EmitArgs,
// EmitValues, EmitWithAck, ...) and the broadcasts and operator emits that
// reach it. The payload has the event's Name, its Args (raw JSON; binary
// attachments as placeholders, the bytes in Attachments) and Data; acks
// and lifecycle packets do not reach it. It runs on the emitting
// goroutine, before the packet is queued.
func (kws *Websocket) OnAnyOutgoing(callback EventCallback) {
	kws.updateHooks(func(h *socketHooks) { h.out = append(h.out[:len(h.out):len(h.out)], callback) })
}

// OffAnyOutgoing removes the listeners added with OnAnyOutgoing.
func (kws *Websocket) OffAnyOutgoing() {
	kws.updateHooks(func(h *socketHooks) { h.out = nil })
}

// notifyOutgoing runs the OnAnyOutgoing listeners for the encoded event
// packet text, an Engine.IO MESSAGE (with a recovery offset as its last
// argument when hasOffset).
func (kws *Websocket) notifyOutgoing(text []byte, attachments [][]byte, hasOffset bool) {
	h := kws.hooks.Load()
	if h == nil || len(h.out) == 0 || len(text) == 0 || text[0] != eioMessage {
		return
	}
	pkt, err := decodeSIOPacket(text[1:])
	if err != nil || (pkt.Type != sioEvent && pkt.Type != sioBinaryEvent) {
		return
	}
	name, args, err := parseEvent(pkt.Data, 0, nil)
	if err != nil {
		return
	}
	if hasOffset && len(args) > 0 {
		args = args[:len(args)-1]
	}
	ep := &EventPayload{
		Kws:              kws,
		Name:             name,
		SocketUUID:       kws.GetUUID(),
		SocketAttributes: kws.attributesSnapshot(),
		Args:             args,
		Attachments:      attachments,
	}
	if len(args) > 0 {
		ep.Data = args[0]
	}
	for _, cb := range h.out {
		kws.call(cb, ep)
	}
}

// Use adds a middleware for the events the client emits to this socket,
// as Node's socket.use: the middlewares run in order, before any
// listener, on the connection's reader; the first error stops the event
// and fires EventError with it. A middleware may change the payload's
// Args and Data for the listeners after it. A panic counts as an error
// (ErrListenerPanic).
func (kws *Websocket) Use(mw EventMiddleware) {
	kws.updateHooks(func(h *socketHooks) { h.mws = append(h.mws[:len(h.mws):len(h.mws)], mw) })
}

// OnAny adds a listener for every event a client emits, in every
// namespace (as the server's On listeners see every namespace), as Node's
// socket.onAny added to every socket. Lifecycle events do not reach it.
func (s *Server) OnAny(callback EventCallback) { s.listeners.onAny(callback) }

// OnAny adds a listener for every event a client emits to a socket of the
// namespace (of every child, for a dynamic parent).
func (n *Namespace) OnAny(callback EventCallback) { n.listeners.onAny(callback) }

// OnAny adds a listener, on the default server, for every event a client
// emits (see Server.OnAny).
func OnAny(callback EventCallback) { defaultServer.OnAny(callback) }

// passesMiddlewares runs the socket's event middlewares on ep and reports
// whether the event goes on to its listeners.
func (kws *Websocket) passesMiddlewares(h *socketHooks, ep *EventPayload) bool {
	for _, mw := range h.mws {
		if err := kws.callMiddleware(mw, ep); err != nil {
			kws.fireEvent(EventError, nil, err)
			return false
		}
	}
	return true
}

// callMiddleware runs mw, turning a panic into ErrListenerPanic.
func (kws *Websocket) callMiddleware(mw EventMiddleware, ep *EventPayload) (err error) {
	defer func() {
		if r := recover(); r != nil {
			kws.logError("event middleware panicked", "event", ep.Name, "panic", r)
			err = ErrListenerPanic
		}
	}()
	return mw(ep)
}

// dispatchEvent hands an event the client emitted to the socket's
// middlewares, then to the catch-all listeners (server, namespace, parent,
// socket), then to the listeners of its name.
func (kws *Websocket) dispatchEvent(ep *EventPayload) {
	h := kws.hooks.Load()
	if h != nil && len(h.mws) > 0 && !kws.passesMiddlewares(h, ep) {
		return
	}
	for _, cb := range kws.srv.listeners.anyListeners() {
		kws.call(cb, ep)
	}
	if kws.nsp.listeners != &kws.srv.listeners {
		for _, cb := range kws.nsp.listeners.anyListeners() {
			kws.call(cb, ep)
		}
	}
	if p := kws.nsp.parent; p != nil {
		for _, cb := range p.listeners.anyListeners() {
			kws.call(cb, ep)
		}
	}
	if h != nil {
		for _, cb := range h.any {
			kws.call(cb, ep)
		}
	}
	kws.dispatch(ep)
}
