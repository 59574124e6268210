package socketio

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Socket.IO layer errors, the disconnect reasons of a bad packet.
var (
	// ErrInvalidAuthPayload is the CONNECT_ERROR cause when the auth payload
	// is not a JSON object or exceeds MaxAuthPayload.
	ErrInvalidAuthPayload = errors.New("socketio: invalid auth payload in SIO CONNECT")
	// ErrInvalidNamespace is the CONNECT_ERROR cause for a namespace that is
	// not served.
	ErrInvalidNamespace = errors.New("socketio: invalid namespace")
	// ErrTooManyArgs is the disconnect reason when an EVENT or ACK holds
	// more than MaxEventArgs elements.
	ErrTooManyArgs = errors.New("socketio: packet exceeds MaxEventArgs")
	// ErrBinaryNotSupported was the disconnect reason for binary packets
	// before attachments were supported.
	//
	// Deprecated: binary packets are supported; it is no longer returned.
	ErrBinaryNotSupported = errors.New("socketio: binary packets are not supported")
	// ErrReservedEventReceived is the disconnect reason when a client emits
	// a name the protocol reserves (connect, disconnect, ...).
	ErrReservedEventReceived = errors.New("socketio: client emitted a reserved event name")
)

// client is the Socket.IO side of one Engine.IO session: it holds the
// session's sockets, one per connected namespace, and routes packets.
type client struct {
	srv  *Server
	sess *session
	// only is the client's socket when it has exactly one (the usual
	// case), read without c.mu by the reader for every inbound packet;
	// nil otherwise. Written under c.mu with sockets.
	only atomic.Pointer[Websocket]
	// rxActive mirrors rx.active, so a text packet outside a binary one
	// passes without rxMu. It is here, with the other fields each
	// inbound packet reads, in the first cache line (see session).
	rxActive atomic.Bool
	h        *handler
	mu       sync.Mutex
	// sockets are the connected sockets, one per namespace: a slice, as
	// a client connects few namespaces, backed by first for the first.
	sockets []*Websocket
	first   [1]*Websocket
	// everConnected turns true at the first namespace connect; until then
	// HandshakeTimeout applies.
	everConnected atomic.Bool
	// rx collects the attachments of an inbound binary packet.
	rxMu sync.Mutex
	rx   reassembler
}

func (c *client) connected() bool { return c.everConnected.Load() }

func (c *client) socket(nsp string) *Websocket {
	if kws := c.only.Load(); kws != nil && kws.nsp.name == nsp {
		return kws
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := c.socketIndex(nsp); i >= 0 {
		return c.sockets[i]
	}
	return nil
}

// socketIndex is the index in c.sockets of the socket of namespace nsp,
// or -1. c.mu is held.
func (c *client) socketIndex(nsp string) int {
	for i, kws := range c.sockets {
		if kws.nsp.name == nsp {
			return i
		}
	}
	return -1
}

func (c *client) removeSocket(kws *Websocket) {
	c.mu.Lock()
	if i := c.socketIndex(kws.nsp.name); i >= 0 && c.sockets[i] == kws {
		last := len(c.sockets) - 1
		c.sockets[i] = c.sockets[last]
		c.sockets[last] = nil
		c.sockets = c.sockets[:last]
		c.indexOnly()
	}
	c.mu.Unlock()
}

// indexOnly sets c.only after a change of c.sockets; c.mu is held.
func (c *client) indexOnly() {
	var only *Websocket
	if len(c.sockets) == 1 {
		only = c.sockets[0]
	}
	if c.only.Load() != only {
		c.only.Store(only)
	}
}

// closeIfIdle closes the session gracefully once no namespace is connected
// (after a server-side Close). As in Node, the client is left to close the
// connection itself when it reads the DISCONNECT (the official client does
// at once when no other namespace is connected): closing it first makes a
// client that handles a transport close before the packets read ahead of
// it see "transport close", and reconnect, where it should see "io server
// disconnect". The server closes it after CloseTimeout if the client did
// not, and it still has no namespace; zero closes at once.
func (c *client) closeIfIdle() {
	if !c.idle() {
		return
	}
	grace := c.sess.cfg.CloseTimeout
	if grace <= 0 {
		c.sess.close(nil, true)
		return
	}
	time.AfterFunc(grace, func() {
		if !c.sess.closed() && c.idle() {
			c.sess.close(nil, true)
		}
	})
}

// idle says whether no namespace is connected.
func (c *client) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sockets) == 0
}

// closeAll closes every socket of the session as Websocket.Close does
// (EventClose, a DISCONNECT to the client, EventDisconnecting,
// EventDisconnect), then the session, gracefully.
func (c *client) closeAll() {
	var few [fewSockets]*Websocket
	for _, kws := range c.appendSockets(few[:0]) {
		if kws.alive.Load() {
			kws.fireEvent(EventClose, nil, nil)
			kws.disconnect(nil, true)
		}
	}
	c.sess.close(nil, true)
}

// onMessage handles one Engine.IO message: a Socket.IO packet, or a
// binary attachment of the packet before it.
func (c *client) onMessage(s *session, data []byte, binary bool) error {
	if p := c.sess.cfg.Parser; p != nil {
		return c.onParsed(p, data, binary)
	}
	return c.onDecoded(data, binary)
}

// onDecoded handles a Socket.IO packet, or a binary attachment of the
// packet before it, in the default encoding.
func (c *client) onDecoded(data []byte, binary bool) error {
	if binary {
		c.rxMu.Lock()
		pkt, attachments, done, err := c.rx.attachment(data, c.sess.cfg.MaxPayload)
		c.rxMirror()
		c.rxMu.Unlock()
		if err != nil || !done {
			return err
		}
		return c.route(pkt, attachments)
	}
	pkt, err := decodeSIOPacket(data)
	if err != nil {
		if pkt.Type == sioConnect && errors.Is(err, ErrInvalidJSON) && len(data) > 0 && data[0] == '0' {
			c.refuse(pkt.Nsp, ErrInvalidAuthPayload.Error(), nil)
			return nil
		}
		return fmt.Errorf("%w: %q", err, truncate(data, 64))
	}
	if pkt.Type != sioBinaryEvent && pkt.Type != sioBinaryAck && !c.rxActive.Load() {
		return c.route(pkt, nil) // what rx.packet would pass
	}
	c.rxMu.Lock()
	done, err := c.rx.packet(pkt, len(data), c.sess.cfg.MaxAttachments)
	c.rxMirror()
	c.rxMu.Unlock()
	if err != nil || !done {
		return err
	}
	return c.route(pkt, nil)
}

// rxMirror copies rx.active to rxActive; c.rxMu is held.
func (c *client) rxMirror() {
	if c.rxActive.Load() != c.rx.active {
		c.rxActive.Store(c.rx.active)
	}
}

// route handles a complete packet, with its attachments.
func (c *client) route(pkt sioPacket, attachments [][]byte) error {
	switch pkt.Type {
	case sioConnect:
		c.connect(pkt)
		return nil
	case sioDisconnect:
		if kws := c.socket(pkt.Nsp); kws != nil {
			kws.disconnect(nil, false)
		}
		return nil
	case sioEvent, sioBinaryEvent:
		if kws := c.socket(pkt.Nsp); kws != nil {
			return kws.onEvent(pkt, attachments)
		}
		return nil
	case sioAck, sioBinaryAck:
		if kws := c.socket(pkt.Nsp); kws != nil {
			return kws.onAck(pkt, attachments)
		}
		return nil
	}
	return fmt.Errorf("%w: packet type %d from a client", ErrInvalidPacket, pkt.Type)
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// refuse answers a CONNECT with CONNECT_ERROR.
func (c *client) refuse(nsp, message string, data []byte) {
	c.sess.cfg.log("warn", "namespace connect refused", "namespace", nsp, "reason", message, "remote", c.sess.remoteAddr())
	if c.sess.eio3 {
		_ = c.sess.send(outPacket{data: appendV4ConnectError(nil, nsp, message, data)})
		return
	}
	_ = c.sess.send(outPacket{data: appendConnectError(nil, nsp, message, data)})
}

// connect handles a CONNECT for a namespace: check it, run the middlewares,
// reply, then run the New callback and the EventConnect listeners.
func (c *client) connect(pkt sioPacket) {
	if c.sess.eio3 {
		pkt = v4Connect(pkt)
	}
	if max := c.sess.cfg.MaxAuthPayload; max > 0 && len(pkt.Data) > max {
		// The client's connect_error says why: a big token is no
		// malformed one.
		c.refuse(pkt.Nsp, fmt.Sprintf("%s: %d bytes, over MaxAuthPayload (%d)", ErrInvalidAuthPayload, len(pkt.Data), max), nil)
		return
	}
	nsp, ref := c.srv.connectNamespace(pkt.Nsp, pkt.Data)
	if nsp == nil {
		c.refuse(pkt.Nsp, msgInvalidNamespace, nil)
		return
	}
	if c.socket(pkt.Nsp) != nil {
		if ref {
			nsp.release()
		}
		return // already connected: a duplicate CONNECT changes nothing
	}
	kws := newSocket(c, nsp, pkt.Data)
	kws.nspRef.Store(ref)
	if c.sess.eio3 {
		kws.id = v4SocketID(nsp.name, c.sess.sid)
		kws.UUID = kws.id
	} else if c.prepareRecovery(kws, pkt.Data) && !c.sess.cfg.ConnectionStateRecovery.RunMiddlewares {
		c.joinFrom(kws, true)
		return
	}
	mws := nsp.middlewareChain()
	if len(mws) == 0 {
		c.joinFrom(kws, true)
		return
	}
	// The reply is written from here (the session's reader) when the
	// middlewares call next before they return; an asynchronous one's
	// goroutine leaves it to the worker.
	var onReader atomic.Bool
	onReader.Store(true)
	defer onReader.Store(false)
	runMiddlewares(mws, kws, func(err error) {
		if err != nil {
			kws.abandon()
			var data []byte
			var de interface{ Data() []byte }
			if errors.As(err, &de) {
				data = de.Data()
			}
			c.refuse(pkt.Nsp, err.Error(), data)
			return
		}
		c.joinFrom(kws, onReader.Load())
	})
}

// join makes kws a connected socket.
func (c *client) join(kws *Websocket) { c.joinFrom(kws, false) }

// joinFrom is join; onReader is set when it runs on the session's reader,
// which then writes the CONNECT reply itself (session.flushInline).
func (c *client) joinFrom(kws *Websocket, onReader bool) {
	if c.sess.closed() {
		kws.abandon()
		return
	}
	c.mu.Lock()
	if i := c.socketIndex(kws.nsp.name); i >= 0 {
		c.sockets[i] = kws
	} else {
		if c.sockets == nil {
			c.sockets = c.first[:0]
		}
		c.sockets = append(c.sockets, kws)
	}
	c.indexOnly()
	c.mu.Unlock()
	c.everConnected.Store(true)
	// The client must not read the CONNECT reply before the socket is
	// indexed (an EmitTo or a broadcast it prompts would miss the socket),
	// and nothing sent to the socket may be written before the reply: the
	// reply is queued first, then the socket is indexed, and the worker
	// takes neither until both are done.
	c.sess.q.hold()
	held := true
	defer func() {
		if held {
			c.sess.q.release()
		}
	}()
	kws.alive.Store(true)
	connect := appendConnect(make([]byte, 0, connectReplySize(kws.nsp.name, kws.id, kws.pid)), kws.nsp.name, kws.id, kws.pid)
	if c.sess.eio3 {
		connect = appendV4Connect(connect[:0], kws.nsp.name)
	}
	if kws.rlog != nil {
		// The CONNECT reply, then the packets a recovered socket missed,
		// then what is emitted from now on, in this order.
		if err := kws.rlog.attach(c.sess, connect); err != nil {
			c.sess.cfg.log("warn", "connection state not recovered", "namespace", kws.nsp.name, "reason", err.Error(), "remote", c.sess.remoteAddr())
			c.removeSocket(kws)
			kws.alive.Store(false)
			kws.abandon()
			c.sess.close(err, false)
			return
		}
		if kws.nsp.storesPackets() {
			// The replay is queued; the adapter keeps what comes next.
			kws.rlog = nil
		}
	} else {
		kws.flushEarly()
		_ = kws.send(connect)
	}
	c.srv.sockets.add(kws)
	kws.enterRooms()
	kws.nsp.add(kws)
	if kws.recovered {
		// Indexed live now: the held buffer's entry is no longer needed.
		kws.nsp.unhold(kws.id, kws.held)
	}
	if !kws.alive.Load() {
		// The session closed meanwhile and disconnect may have run before
		// the socket was indexed: undo what it could not.
		kws.nsp.remove(kws)
		kws.srv.sockets.remove(kws.GetUUID(), kws)
		kws.leaveAll()
		kws.releaseNamespace()
		return
	}
	held = false
	if onReader {
		c.sess.q.releaseQuiet()
		c.sess.flushInline()
	} else {
		c.sess.q.release()
	}
	if c.h.callback != nil {
		func() {
			defer func() {
				if r := recover(); r != nil {
					kws.logError("New callback panicked", "panic", r)
					kws.fireEvent(EventError, nil, ErrListenerPanic)
				}
			}()
			c.h.callback(kws)
		}()
	}
	kws.fireEvent(EventConnect, nil, nil)
}

// onClose disconnects every socket of the session.
func (c *client) onClose(s *session, reason error) {
	var few [fewSockets]*Websocket
	socks := c.appendSockets(few[:0])
	// Every session ends here: the log's arguments (boxed, and the
	// remote address formatted) cost only a server that has a Logger.
	// Not for Shutdown's own closes: one line per client on every
	// restart tells the operator nothing.
	if reason != nil && c.sess.cfg.Logger != nil && !errors.Is(reason, ErrServerShutdown) {
		c.sess.cfg.log("warn", "session closed", "sid", s.sid, "remote", s.remoteAddr(), "reason", reason.Error())
	}
	for _, kws := range socks {
		kws.lose(reason)
	}
}

// onWSPing reports a WebSocket PING control frame through EventPing.
func (c *client) onWSPing(data []byte) { c.fireAll(EventPing, data) }

// onPong reports the Engine.IO PONG answering the heartbeat through
// EventPong.
func (c *client) onPong() { c.fireAll(EventPong, nil) }

// onUpgrade reports the move to WebSocket through EventUpgrade.
func (c *client) onUpgrade() { c.fireAll(EventUpgrade, nil) }

// fireAll fires a lifecycle event on every socket of the session.
func (c *client) fireAll(event string, data []byte) {
	var few [fewSockets]*Websocket
	for _, kws := range c.appendSockets(few[:0]) {
		kws.fireEvent(event, data, nil)
	}
}

// appendSockets appends the session's sockets to dst. Callers pass an
// array on their stack, which holds the usual one or two namespaces
// without an allocation.
func (c *client) appendSockets(dst []*Websocket) []*Websocket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(dst, c.sockets...)
}

// fewSockets is the size of the arrays passed to appendSockets.
const fewSockets = 4

// onEvent dispatches an inbound EVENT or BINARY_EVENT to the listeners.
func (kws *Websocket) onEvent(pkt sioPacket, attachments [][]byte) error {
	cfg := kws.sess.cfg
	var ep *EventPayload
	if cfg.ReuseEventPayloads {
		ep = eventPayloads.Get().(*EventPayload)
	} else {
		ep = &EventPayload{}
	}
	name, args, err := parseEventNamed(pkt.Data, cfg.MaxEventNameLength, ep.argv[:0], &kws.srv.listeners, kws.nsp.listeners)
	if err != nil {
		return err
	}
	if cfg.MaxEventArgs > 0 && len(args)+1 > cfg.MaxEventArgs {
		return ErrTooManyArgs
	}
	if reservedEvent(name) {
		return fmt.Errorf("%w: %q", ErrReservedEventReceived, name)
	}
	switch name {
	case EventClose, EventError, EventPing, EventPong, EventUpgrade:
		// Lifecycle names of this API: a client cannot fire them.
		cfg.log("warn", "dropped client event named like a lifecycle event", "event", name, "socket", kws.UUID)
		return nil
	}
	ep.Kws = kws
	ep.Name = name
	ep.SocketUUID, ep.SocketAttributes = kws.idAndAttributes()
	ep.Args = args
	ep.Attachments = attachments
	ep.AckID = pkt.ID
	ep.HasAck = pkt.HasID
	if len(args) > 0 {
		ep.Data = args[0]
	}
	// An Ack from a listener runs on this reader and may write; one
	// kept for later does not.
	ep.fromReader = pkt.HasID
	kws.dispatchEvent(ep)
	if pkt.HasID {
		ep.dispatched.Store(true)
	}
	if cfg.ReuseEventPayloads && (!pkt.HasID || ep.ackSent.Load()) {
		*ep = EventPayload{}
		eventPayloads.Put(ep)
	}
	return nil
}

// eventPayloads are the recycled payloads of ReuseEventPayloads.
var eventPayloads = sync.Pool{New: func() any { return new(EventPayload) }}

// onAck delivers the client's answer to an outbound ack.
func (kws *Websocket) onAck(pkt sioPacket, attachments [][]byte) error {
	args, err := splitArray(pkt.Data)
	if err != nil {
		return err
	}
	if max := kws.sess.cfg.MaxEventArgs; max > 0 && len(args) > max {
		return ErrTooManyArgs
	}
	if !kws.acks.resolve(pkt.ID, &AckReply{Args: args, Attachments: attachments}, kws.logError) {
		kws.sess.cfg.log("warn", "ack for an unknown id ignored", "socket", kws.UUID, "id", pkt.ID)
	}
	return nil
}
