package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/contrib/v3/websocket"
	"github.com/google/uuid"
)

// Message types of Emit's optional mType argument (RFC 6455 section 11.8).
const (
	// TextMessage sends Emit's data as a JSON value or string.
	TextMessage = 1
	// BinaryMessage sends Emit's data as a binary attachment: the client
	// receives a Buffer / ArrayBuffer.
	BinaryMessage = 2
	// CloseMessage denotes a close control message.
	CloseMessage = 8
	// PingMessage denotes a ping control message.
	PingMessage = 9
	// PongMessage denotes a pong control message.
	PongMessage = 10
)

// Lifecycle events for On.
const (
	// EventMessage fires for socket.emit("message", ...) from the client.
	EventMessage = "message"
	// EventPing fires when a WebSocket PING control frame arrives.
	EventPing = "ping"
	// EventPong fires when an Engine.IO PONG answers the server's PING.
	EventPong = "pong"
	// EventDisconnecting fires once when a socket disconnects, for whatever
	// reason, just before it leaves its rooms: EventPayload.Kws.Rooms()
	// still lists them (its own id included), as with socket.rooms in a
	// Node "disconnecting" listener. EventPayload.Error holds the cause, as
	// for EventDisconnect, which fires after it with the rooms left. The
	// socket is no longer connected (IsAlive is false; packets to it are
	// dropped, or kept for the recovered socket when its connection state
	// is persisted) but it can still address others, e.g. kws.To(room).Emit
	// to tell the members of its rooms; rooms it joins or leaves here are
	// left with the others (or persisted with the session). A client
	// cannot fire it: the name is reserved, and a client emitting it is
	// disconnected.
	EventDisconnecting = "disconnecting"
	// EventDisconnect fires once when a socket disconnects, for whatever
	// reason, after EventDisconnecting and after the socket left its rooms
	// (Rooms returns nil); EventPayload.Error holds the cause (nil for a
	// clean close by either side).
	EventDisconnect = "disconnect"
	// EventConnect fires once after the handshake and the New callback;
	// EventPayload.HandshakeAuth holds the client's auth payload.
	EventConnect = "connect"
	// EventClose fires when the server closes the socket with Close.
	EventClose = "close"
	// EventError fires for errors on a socket: a dropped packet, a panic in
	// a listener, a refused emit.
	EventError = "error"
	// EventUpgrade fires on every socket of a session once the session has
	// moved from HTTP long-polling to WebSocket (Node's
	// socket.conn.on("upgrade")); IsPolling is false from then on.
	EventUpgrade = "upgrade"
)

// Errors of the socket API.
var (
	// ErrorInvalidConnection is returned when the addressed socket is gone.
	ErrorInvalidConnection = errors.New("message cannot be delivered invalid/gone connection")
	// ErrorUUIDDuplication is returned by SetUUID when the id is taken.
	ErrorUUIDDuplication = errors.New("UUID already exists in the available connections pool")
	// ErrReservedEventName is reported through EventError when code emits an
	// event name the client reserves (connect, disconnect, ...).
	ErrReservedEventName = errors.New("socketio: reserved event name cannot be emitted")
)

// reservedEvent reports whether the client's Socket.IO layer reserves
// name: it can be neither emitted to nor received from a client. A switch,
// not a map: every inbound event is checked.
func reservedEvent(name string) bool {
	switch name {
	case "connect", "connect_error", "disconnect",
		"disconnecting", "newListener", "removeListener":
		return true
	}
	return false
}

// EventPayload is what a listener receives.
type EventPayload struct {
	// Kws is the socket the event concerns.
	Kws *Websocket
	// Name is the event name.
	Name string
	// SocketUUID is the socket's id at dispatch time.
	SocketUUID string
	// SocketAttributes is a snapshot of the socket's attributes at dispatch
	// time (nil when it has none).
	SocketAttributes map[string]any
	// Error is the cause of EventDisconnect and EventError.
	Error error
	// Data is the first argument (raw JSON), nil without arguments.
	Data []byte
	// Args are all the arguments, one raw JSON value each. In a packet
	// with binary attachments, each attachment appears here as its
	// placeholder, {"_placeholder":true,"num":N}; Decode and Bind resolve
	// them.
	Args [][]byte
	// Attachments are the binary attachments of the packet, in the order
	// their placeholders number them (nil without attachments).
	Attachments [][]byte
	// AckID is the client's ack id, meaningful when HasAck is true.
	AckID uint64
	// HasAck reports that the client emitted with a callback; answer it
	// with Ack.
	HasAck bool
	// HandshakeAuth is the client's auth payload, on EventConnect.
	HandshakeAuth json.RawMessage
	// fromReader marks a payload the session's reader dispatches (set
	// before any listener sees it), and dispatched is set once the
	// listeners returned: until then an Ack runs on the reader and may
	// write from it (Websocket.sendInline). One atomic store per event
	// instead of two.
	fromReader bool
	dispatched atomic.Bool
	// ackSent makes Ack answer once: every listener of an event gets the
	// same payload.
	ackSent atomic.Bool
	// argv backs Args (and the event name before it) for an event with
	// one argument, the usual case: one allocation per event instead of
	// two. It stays valid as long as the payload does. Every byte here is
	// allocated for every event, and the garbage collector runs once per
	// few megabytes allocated: the payload is kept to a size class of 240
	// bytes (the ack is built in a pooled buffer, see Ack).
	argv [2][]byte
}

// Websocket is one Socket.IO socket: a client connected to one namespace.
// Several sockets (one per namespace) share one Engine.IO session and its
// transport, which may be HTTP long-polling or WebSocket and may change
// from the first to the second during the socket's life.
type Websocket struct {
	// UUID is the socket id, sent to the client in the CONNECT reply
	// (socket.id on the client) and the key of EmitTo.
	UUID string

	// What every inbound event reads (and the read lock it takes) comes
	// first, in two cache lines (see session).
	srv    *Server
	nsp    *Namespace
	sess   *session
	hooks  atomic.Pointer[socketHooks]
	alive  atomic.Bool
	nspRef atomic.Bool // the socket holds a reference on its (ephemeral) namespace
	client *client
	// mu guards UUID, attributes and the changes of hooks (the socket's
	// own listeners and middlewares: On, OnAny, Use;
	// socket_listeners.go, nil until one is added).
	mu         sync.RWMutex
	attributes map[string]any

	// Conn is the WebSocket the session started on; nil when the session
	// started on polling. Its request accessors (Locals, Params, Query,
	// Cookies, Headers, IP) and addresses stay valid for the connection's
	// life. Do not read from it or write to it: the session's reader and
	// worker own both directions.
	Conn *websocket.Conn
	// Locals returns a local of the request that opened the session.
	Locals func(key string) interface{}
	// Params returns a route parameter of the request that opened the
	// session.
	Params func(key string, defaultValue ...string) string
	// Query returns a query-string value of the request that opened the
	// session.
	Query func(key string, defaultValue ...string) string
	// Cookies returns a cookie of the request that opened the session.
	Cookies func(key string, defaultValue ...string) string

	auth json.RawMessage
	// created is when the socket was created, for Handshake.Time.
	created time.Time
	// id is the socket id sent to the client, the name of the socket's own
	// room and its key in the namespace and the adapter; SetUUID does not
	// change it.
	id string

	// rooms state: rooms joined before the socket is connected (in a
	// middleware) wait in pending; after disconnect joins are ignored.
	roomMu  sync.Mutex
	joined  bool
	left    bool
	pending []string
	// early holds what is emitted to the socket before it is connected
	// (in a middleware), sent ahead of the CONNECT reply, as the Node
	// server sends it (the client fires it once connected); under roomMu,
	// and flushed is set once it went.
	early   []earlyPacket
	flushed bool

	acks ackTable
	once sync.Once
	// why is Node's reason for the disconnect, set inside once.
	why string

	// connection-state recovery (recovery.go): the private session id,
	// the buffer of stored packets (nil when recovery is off, or when the
	// adapter is a PacketStore), and whether this socket restored a lost
	// session.
	pid       string
	rlog      *recoveryLog
	recovered bool
	held      *heldLog // the index entry of the restored buffer
}

func newSocket(c *client, nsp *Namespace, auth []byte) *Websocket {
	req := c.sess.req
	kws := &Websocket{
		UUID:    uuid.NewString(),
		srv:     c.srv,
		nsp:     nsp,
		client:  c,
		sess:    c.sess,
		Locals:  req.Local,
		Params:  req.Param,
		Query:   req.Query,
		Cookies: req.Cookie,
		Conn:    req.conn,
		created: time.Now(),
	}
	kws.id = kws.UUID
	if len(auth) > 0 {
		kws.auth = append(json.RawMessage(nil), auth...)
	}
	return kws
}

// GetUUID returns the socket id.
func (kws *Websocket) GetUUID() string {
	kws.mu.RLock()
	defer kws.mu.RUnlock()
	return kws.UUID
}

// SetUUID changes the key the socket is found by in EmitTo; it returns
// ErrorUUIDDuplication when another socket has that id. The client's
// socket.id stays the one sent at connect.
func (kws *Websocket) SetUUID(id string) error {
	kws.mu.Lock()
	defer kws.mu.Unlock()
	if kws.UUID == id {
		return nil
	}
	if _, loaded := kws.srv.sockets.m.LoadOrStore(id, kws); loaded {
		return ErrorUUIDDuplication
	}
	kws.srv.sockets.remove(kws.UUID, kws)
	kws.UUID = id
	return nil
}

// SetAttribute stores a value on the socket.
func (kws *Websocket) SetAttribute(key string, attribute interface{}) {
	kws.mu.Lock()
	if kws.attributes == nil {
		kws.attributes = map[string]any{}
	}
	kws.attributes[key] = attribute
	kws.mu.Unlock()
	if hooks := kws.srv.attributeHooks.Load(); hooks != nil {
		for _, fn := range *hooks {
			kws.callAttributeHook(fn, key, attribute)
		}
	}
}

func (kws *Websocket) callAttributeHook(fn func(*Websocket, string, any), key string, value any) {
	defer func() {
		if r := recover(); r != nil {
			kws.logError("OnAttributeSet callback panicked", "panic", r)
		}
	}()
	fn(kws, key, value)
}

// Attributes returns a copy of the socket's attributes (Node's
// socket.data, as FetchSockets describes it), nil when it has none.
func (kws *Websocket) Attributes() map[string]any { return kws.attributesSnapshot() }

// GetAttribute returns a stored value, nil when absent.
func (kws *Websocket) GetAttribute(key string) interface{} {
	kws.mu.RLock()
	defer kws.mu.RUnlock()
	return kws.attributes[key]
}

// GetIntAttribute returns a stored int, 0 when absent or not an int.
func (kws *Websocket) GetIntAttribute(key string) int {
	v, _ := kws.GetAttribute(key).(int)
	return v
}

// GetStringAttribute returns a stored string, "" when absent or not a
// string.
func (kws *Websocket) GetStringAttribute(key string) string {
	v, _ := kws.GetAttribute(key).(string)
	return v
}

// attributesSnapshot copies the attributes for an EventPayload.
func (kws *Websocket) attributesSnapshot() map[string]any {
	kws.mu.RLock()
	defer kws.mu.RUnlock()
	return kws.copyAttributes()
}

// idAndAttributes is GetUUID and attributesSnapshot under one read lock
// (an inbound event needs both).
func (kws *Websocket) idAndAttributes() (string, map[string]any) {
	kws.mu.RLock()
	defer kws.mu.RUnlock()
	return kws.UUID, kws.copyAttributes()
}

// copyAttributes copies the attributes, nil when there are none; kws.mu
// is held.
func (kws *Websocket) copyAttributes() map[string]any {
	if len(kws.attributes) == 0 {
		return nil
	}
	m := make(map[string]any, len(kws.attributes))
	for k, v := range kws.attributes {
		m[k] = v
	}
	return m
}

// HandshakeAuth returns the auth payload the client sent at connect (nil
// when none).
func (kws *Websocket) HandshakeAuth() json.RawMessage { return kws.auth }

// IsAlive reports whether the socket is connected.
func (kws *Websocket) IsAlive() bool { return kws.alive.Load() }

// IsPolling reports whether the session currently uses HTTP long-polling.
func (kws *Websocket) IsPolling() bool { return kws.sess.transport.Load() == onPolling }

// Transport returns the transport the socket's connection is on now,
// "polling" or "websocket", as Node's socket.conn.transport.name.
func (kws *Websocket) Transport() string { return kws.sess.transportName() }

// ClientID returns the id of the socket's Engine.IO session (its
// connection, which the client's sockets on every namespace share), as
// Node's socket.conn.id; EngineObserver callbacks name sessions by it.
func (kws *Websocket) ClientID() string { return kws.sess.sid }

// Namespace returns the namespace the socket is connected to ("/" for the
// main namespace).
func (kws *Websocket) Namespace() string { return kws.nsp.name }

// Header returns a header of the request that opened the session.
func (kws *Websocket) Header(key string, defaultValue ...string) string {
	return kws.sess.req.Header(key, defaultValue...)
}

// IP returns the client address of the request that opened the session.
func (kws *Websocket) IP() string { return kws.sess.req.ip }

// send queues an encoded packet. A packet dropped on overflow is reported
// through EventError.
func (kws *Websocket) send(pkt []byte) error {
	if !kws.alive.Load() {
		return kws.keepEarly(pkt, nil)
	}
	return kws.reportOverflow(pkt, kws.sess.send(outPacket{data: pkt}))
}

// keepEarly keeps a packet emitted before the socket is connected (in a
// middleware) for flushEarly; after the socket was connected, or once it
// is refused or gone, it is ErrSendQueueClosed.
func (kws *Websocket) keepEarly(pkt []byte, attachments [][]byte) error {
	kws.roomMu.Lock()
	defer kws.roomMu.Unlock()
	if kws.flushed || kws.joined || kws.left {
		return ErrSendQueueClosed
	}
	kws.early = append(kws.early, earlyPacket{pkt, attachments})
	return nil
}

// earlyPacket is a packet keepEarly kept, with its attachments.
type earlyPacket struct {
	pkt         []byte
	attachments [][]byte
}

// flushEarly queues what keepEarly kept, ahead of the CONNECT reply.
func (kws *Websocket) flushEarly() {
	kws.roomMu.Lock()
	early := kws.early
	kws.early, kws.flushed = nil, true
	kws.roomMu.Unlock()
	for _, e := range early {
		if len(e.attachments) == 0 {
			_ = kws.reportOverflow(e.pkt, kws.sess.send(outPacket{data: e.pkt}))
		} else {
			_ = kws.reportOverflow(e.pkt, kws.sess.sendAll(e.pkt, e.attachments, false))
		}
	}
}

// sendBinary queues a packet with its attachments, all or nothing. A
// packet dropped on overflow is reported through EventError.
func (kws *Websocket) sendBinary(pkt []byte, attachments [][]byte) error {
	if len(attachments) == 0 {
		return kws.send(pkt)
	}
	if !kws.alive.Load() {
		return kws.keepEarly(pkt, attachments)
	}
	return kws.reportOverflow(pkt, kws.sess.sendAll(pkt, attachments, false))
}

// sendInline is send for an ack written by the reader while its listener
// runs (session.sendInline). pkt is the caller's scratch buffer: it is
// copied if it has to stay queued.
func (kws *Websocket) sendInline(pkt []byte) error {
	if !kws.alive.Load() {
		return ErrSendQueueClosed
	}
	err := kws.sess.sendInline(outPacket{data: pkt})
	if err == ErrSendQueueOverflow {
		pkt = bytes.Clone(pkt) // for the listeners of EventError
	}
	return kws.reportOverflow(pkt, err)
}

// sendShared queues a broadcast packet p (its text packet, see deliver)
// with its attachments, with the rules of sendBinary.
func (kws *Websocket) sendShared(p outPacket, attachments [][]byte) error {
	if !kws.alive.Load() {
		return ErrSendQueueClosed
	}
	return kws.reportOverflow(p.data, kws.sess.sendShared(p, attachments, &kws.nsp.srv.burst))
}

// reportOverflow passes on the result of queueing pkt, reporting a packet
// dropped on overflow through EventError.
func (kws *Websocket) reportOverflow(pkt []byte, err error) error {
	if err == ErrSendQueueOverflow {
		kws.fireEvent(EventError, pkt, err)
	}
	return err
}

// Emit sends data as a "message" event. Valid JSON is sent as is, other
// text as a JSON string; with mType BinaryMessage the bytes arrive as a
// Buffer / ArrayBuffer.
func (kws *Websocket) Emit(message []byte, mType ...int) {
	if len(mType) > 0 && mType[0] == BinaryMessage {
		_ = kws.sendStored(appendBinaryEvent(nil, kws.nsp.name, EventMessage), [][]byte{message})
		return
	}
	_ = kws.sendStored(appendEvent(nil, kws.nsp.name, 0, false, EventMessage, [][]byte{message}), nil)
}

// EmitEvent sends a named event with one argument.
func (kws *Websocket) EmitEvent(event string, data []byte) {
	kws.EmitArgs(event, data)
}

// EmitArgs sends a named event with any number of arguments.
func (kws *Websocket) EmitArgs(event string, args ...[]byte) {
	if kws.refuseReserved(event) {
		return
	}
	_ = kws.sendStored(appendEvent(kws.eventBuf(event, args), kws.nsp.name, 0, false, event, args), nil)
}

func (kws *Websocket) refuseReserved(event string) bool {
	if reservedEvent(event) {
		kws.fireEvent(EventError, []byte(event), ErrReservedEventName)
		return true
	}
	return false
}

// EmitWithAck sends an event and calls cb with the client's first ack
// argument, or with nil after OutboundAckTimeout or a disconnect.
func (kws *Websocket) EmitWithAck(event string, data []byte, cb func(ack []byte)) {
	kws.EmitWithAckTimeout(event, data, kws.sess.cfg.OutboundAckTimeout, func(ack []byte, _ error) { cb(ack) })
}

// EmitWithAckTimeout sends an event and calls cb with the client's first
// ack argument, or with ErrAckTimeout / ErrAckDisconnected. A zero timeout
// waits until the client answers or disconnects.
func (kws *Websocket) EmitWithAckTimeout(event string, data []byte, timeout time.Duration, cb AckCallback) {
	kws.emitWithAck(event, [][]byte{data}, timeout, func(args [][]byte, err error) {
		var first []byte
		if len(args) > 0 {
			first = args[0]
		}
		cb(first, err)
	})
}

// EmitWithAckArgs sends an event with several arguments and calls cb with
// every ack argument, or with an error after OutboundAckTimeout or a
// disconnect.
func (kws *Websocket) EmitWithAckArgs(event string, args [][]byte, cb func([][]byte, error)) {
	kws.emitWithAck(event, args, kws.sess.cfg.OutboundAckTimeout, cb)
}

func (kws *Websocket) emitWithAck(event string, args [][]byte, timeout time.Duration, cb func([][]byte, error)) {
	if kws.refuseReserved(event) {
		cb(nil, ErrReservedEventName)
		return
	}
	id := kws.nsp.ackIDs.Add(1) - 1
	if !kws.acks.register(id, cb, timeout, kws.logError) {
		return
	}
	pkt := appendEvent(nil, kws.nsp.name, id, true, event, args)
	kws.notifyOutgoing(pkt, nil, false)
	if err := kws.send(pkt); err != nil {
		kws.acks.cancel(id, ErrAckDisconnected, kws.logError)
	}
}

// EmitTo sends a "message" to the socket with id uuid.
func (kws *Websocket) EmitTo(uuid string, message []byte, mType ...int) error {
	err := kws.srv.EmitTo(uuid, message, mType...)
	if err != nil {
		kws.fireEvent(EventError, []byte(uuid), err)
	}
	return err
}

// EmitToList sends a "message" to each listed socket; failures are
// reported through EventError.
func (kws *Websocket) EmitToList(uuids []string, message []byte, mType ...int) {
	for _, id := range uuids {
		_ = kws.EmitTo(id, message, mType...)
	}
}

// Broadcast sends a "message" to every socket of this socket's namespace,
// this one excepted when except is true. The packet is encoded once.
func (kws *Websocket) Broadcast(message []byte, except bool, mType ...int) {
	skip := ""
	if except {
		skip = kws.id
	}
	kws.srv.broadcast(kws.nsp, skip, message, mType...)
}

// Fire runs the listeners of event for this socket, as if it had happened.
func (kws *Websocket) Fire(event string, data []byte) {
	kws.fireEvent(event, data, nil)
}

// Close disconnects the socket from the server side: EventClose fires, the
// client receives a DISCONNECT (its socket sees "io server disconnect"),
// then EventDisconnecting and EventDisconnect fire with a nil error. When
// no other namespace of the client is connected, the connection closes:
// the client closes it on the DISCONNECT (the official client does), else
// the server does after CloseTimeout.
func (kws *Websocket) Close() {
	if !kws.alive.Load() {
		return
	}
	kws.fireEvent(EventClose, nil, nil)
	kws.disconnect(nil, true)
	kws.client.closeIfIdle()
}

// Disconnect disconnects the socket as Node's socket.disconnect(close):
// Close when closeConn is false; when true, every socket of the client's
// connection is disconnected and the connection closed (the client sees
// "io server disconnect" on each).
func (kws *Websocket) Disconnect(closeConn bool) {
	if closeConn {
		kws.client.closeAll()
		return
	}
	kws.Close()
}

// Handshake describes the request that opened the socket's connection, as
// Node's socket.handshake: headers, query, address, time, URL, whether it
// was cross-origin or TLS, and the auth payload of the socket's CONNECT.
// It is built on each call (idle sockets keep no copy of it).
func (kws *Websocket) Handshake() Handshake { return kws.handshake() }

// disconnect ends the socket once: the client is told when notify is set,
// EventDisconnecting fires while the socket is still in its rooms, then it
// leaves them, pending acks fail, and EventDisconnect fires. The listeners
// run after alive is cleared, so one calling Close does not re-enter once.
func (kws *Websocket) disconnect(reason error, notify bool) {
	why := reasonServerNspDisconnect
	switch {
	case reason != nil:
		why = engineCloseReason(reason)
	case !notify:
		why = reasonClientNspDisconnect
	}
	kws.disconnectWhy(reason, why, notify)
}

// disconnectWhy is disconnect with Node's reason for it (EventPayload.Reason).
func (kws *Websocket) disconnectWhy(reason error, why string, notify bool) {
	kws.once.Do(func() {
		kws.why = why
		if notify {
			_ = kws.sess.send(outPacket{data: appendDisconnect(nil, kws.nsp.name)})
		}
		kws.alive.Store(false)
		kws.client.removeSocket(kws)
		kws.nsp.remove(kws)
		kws.fireEvent(EventDisconnecting, nil, reason)
		kws.leaveAll()
		kws.srv.sockets.remove(kws.GetUUID(), kws)
		kws.acks.failAll(ErrAckDisconnected, kws.logError)
		if kws.rlog != nil {
			kws.rlog.discard()
		}
		kws.fireEvent(EventDisconnect, nil, reason)
		kws.releaseNamespace()
	})
}

func (kws *Websocket) logError(msg string, fields ...any) {
	kws.sess.cfg.log("error", msg, append([]any{"socket", kws.UUID, "namespace", kws.nsp.name}, fields...)...)
}

// Reason returns, on EventDisconnecting and EventDisconnect, the reason
// Node's server gives its "disconnect" listeners: "server namespace
// disconnect" (Close, Disconnect, DisconnectSockets), "client namespace
// disconnect" (the client's socket.disconnect()), "transport close" (the
// client closed its connection, or it was cut), "transport error", "ping
// timeout", "parse error" (the client sent what the server could not
// read) or "server shutting down" (Shutdown); "" on other events. (A
// method rather than a field: the payload of every event stays as small.)
func (ep *EventPayload) Reason() string {
	if ep.Kws == nil || (ep.Name != EventDisconnect && ep.Name != EventDisconnecting) {
		return ""
	}
	return ep.Kws.why
}

// fireEvent runs the listeners of a lifecycle or custom event.
func (kws *Websocket) fireEvent(event string, data []byte, err error) {
	if !kws.listened(event) {
		return // no payload to build for nobody
	}
	ep := &EventPayload{
		Kws:              kws,
		Name:             event,
		SocketUUID:       kws.GetUUID(),
		SocketAttributes: kws.attributesSnapshot(),
		Error:            err,
		Data:             data,
	}
	if data != nil {
		ep.Args = [][]byte{data}
	}
	if event == EventConnect {
		ep.HandshakeAuth = kws.auth
	}
	kws.dispatch(ep)
}

// listened reports whether dispatch would find a listener for event.
func (kws *Websocket) listened(event string) bool {
	if len(kws.srv.listeners.get(event)) > 0 || len(kws.nsp.listeners.get(event)) > 0 {
		return true
	}
	if p := kws.nsp.parent; p != nil && len(p.listeners.get(event)) > 0 {
		return true
	}
	h := kws.hooks.Load()
	return h != nil && len(h.events[event]) > 0
}

// dispatch runs the server-wide listeners, then the namespace's, then (for
// a dynamic namespace) its parent's, then the socket's own (On), each with
// its panics recovered and reported.
func (kws *Websocket) dispatch(ep *EventPayload) {
	for _, cb := range kws.srv.listeners.get(ep.Name) {
		kws.call(cb, ep)
	}
	if kws.nsp.listeners != &kws.srv.listeners {
		for _, cb := range kws.nsp.listeners.get(ep.Name) {
			kws.call(cb, ep)
		}
	}
	if p := kws.nsp.parent; p != nil {
		for _, cb := range p.listeners.get(ep.Name) {
			kws.call(cb, ep)
		}
	}
	if h := kws.hooks.Load(); h != nil {
		for _, cb := range h.events[ep.Name] {
			kws.call(cb, ep)
		}
	}
}

// ErrListenerPanic is reported through EventError when a listener or the
// New callback panicked; the connection goes on.
var ErrListenerPanic = errors.New("socketio: listener panicked")

func (kws *Websocket) call(cb EventCallback, ep *EventPayload) {
	defer func() {
		if r := recover(); r != nil {
			kws.logError("listener panicked", "event", ep.Name, "panic", r)
			if ep.Name != EventError {
				kws.fireEvent(EventError, nil, ErrListenerPanic)
			}
		}
	}()
	cb(ep)
}
