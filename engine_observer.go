package socketio

import (
	"errors"
	"sync"
	"sync/atomic"
)

// EngineObserver receives what happens to a server's Engine.IO sessions
// (its clients' connections), as the listeners of Node's io.engine events
// "connection", "upgrade", "close", "packet" and "packetCreate" do. Every
// field is optional. The callbacks run on the sessions' own goroutines,
// the packet ones for every message, so they must be quick and must not
// block; a panic in one is recovered and logged. Monitoring tools (the
// admin module's Instrument) are built on it.
type EngineObserver struct {
	// Open is called when a session opens, with its id and transport
	// ("polling" or "websocket"), as Node's "connection".
	Open func(sid, transport string)
	// Upgrade is called when a polling session has moved to transport
	// ("websocket"), as Node's socket "upgrade".
	Upgrade func(sid, transport string)
	// Close is called once when a session has closed, with Node's reason
	// for it ("transport close", "ping timeout", "transport error", "parse
	// error", "forced close": closed by the server, "server shutting
	// down"), as Node's socket "close".
	Close func(sid, reason string)
	// PacketIn is called for every message received (a Socket.IO packet,
	// or a binary attachment), with its size in bytes, as Node's socket
	// "packet" with data.
	PacketIn func(sid string, size int)
	// PacketOut is called for every message the session takes from its
	// send queue to write, with its size in bytes (for a broadcast
	// compressed once for all its receivers, the compressed size), as
	// Node's socket "packetCreate" with data. Engine.IO's own PING, NOOP
	// and CLOSE packets are not reported.
	PacketOut func(sid string, size int)
}

// engineObservers is the copy-on-write list of a server's observers.
type engineObservers struct {
	mu   sync.Mutex
	list atomic.Pointer[[]EngineObserver]
}

// ObserveEngine adds o to the observers of the server's Engine.IO sessions
// (see EngineObserver). Sessions opened before the call are observed from
// their next event on.
func (s *Server) ObserveEngine(o EngineObserver) {
	s.observers.mu.Lock()
	defer s.observers.mu.Unlock()
	var list []EngineObserver
	if cur := s.observers.list.Load(); cur != nil {
		list = append(list, *cur...)
	}
	list = append(list, o)
	s.observers.list.Store(&list)
}

// ObserveEngine adds o on the default server (see Server.ObserveEngine).
func ObserveEngine(o EngineObserver) { defaultServer.ObserveEngine(o) }

// observed returns the observers of the session's server, nil when none:
// a nil check is all an unobserved session pays per packet.
func (s *session) observed() []EngineObserver {
	if s.eng.observers == nil {
		return nil
	}
	if l := s.eng.observers.list.Load(); l != nil {
		return *l
	}
	return nil
}

// observe runs call on every observer of the session's server, each with
// its panics recovered.
func (s *session) observe(call func(o *EngineObserver)) {
	list := s.observed()
	for i := range list {
		s.observeOne(&list[i], call)
	}
}

func (s *session) observeOne(o *EngineObserver, call func(o *EngineObserver)) {
	defer func() {
		if r := recover(); r != nil {
			s.cfg.log("error", "EngineObserver callback panicked", "sid", s.sid, "panic", r)
		}
	}()
	call(o)
}

// observeOpen reports a new session.
func (s *session) observeOpen() {
	if s.observed() == nil {
		return
	}
	transport := s.transportName()
	s.observe(func(o *EngineObserver) {
		if o.Open != nil {
			o.Open(s.sid, transport)
		}
	})
}

// observeUpgrade reports a session that moved to WebSocket.
func (s *session) observeUpgrade() {
	s.observe(func(o *EngineObserver) {
		if o.Upgrade != nil {
			o.Upgrade(s.sid, "websocket")
		}
	})
}

// observeClose reports a closed session with Node's reason for reason.
func (s *session) observeClose(reason error) {
	if s.observed() == nil {
		return
	}
	why := engineCloseReason(reason)
	s.observe(func(o *EngineObserver) {
		if o.Close != nil {
			o.Close(s.sid, why)
		}
	})
}

// observeIn reports a message of size bytes received.
func (s *session) observeIn(size int) {
	if s.observed() == nil {
		return
	}
	s.observe(func(o *EngineObserver) {
		if o.PacketIn != nil {
			o.PacketIn(s.sid, size)
		}
	})
}

// observeOut reports the messages among items, taken from the queue to be
// written.
func (s *session) observeOut(items []outPacket) {
	if len(items) == 0 || s.observed() == nil {
		return
	}
	for _, it := range items {
		size, ok := messageSize(it)
		if !ok {
			continue
		}
		s.observe(func(o *EngineObserver) {
			if o.PacketOut != nil {
				o.PacketOut(s.sid, size)
			}
		})
	}
}

// messageSize returns the size of the message a queued packet carries;
// ok is false for the Engine.IO packets that carry none (PING, NOOP,
// CLOSE, a WebSocket control frame).
func messageSize(it outPacket) (size int, ok bool) {
	switch {
	case it.ctrl != 0 || len(it.data) == 0:
		return 0, false
	case it.binary || it.framed:
		return len(it.data), true
	case it.data[0] == eioMessage:
		return len(it.data) - 1, true
	}
	return 0, false
}

// transportName is the session's transport as Node names it.
func (s *session) transportName() string {
	if s.transport.Load() == onWebSocket {
		return "websocket"
	}
	return "polling"
}

// Node's reasons for a closed connection and a disconnected socket.
const (
	reasonTransportClose      = "transport close"
	reasonTransportError      = "transport error"
	reasonPingTimeout         = "ping timeout"
	reasonParseError          = "parse error"
	reasonForcedClose         = "forced close"
	reasonServerShuttingDown  = "server shutting down"
	reasonServerNspDisconnect = "server namespace disconnect"
	reasonClientNspDisconnect = "client namespace disconnect"
)

// parseErrors are the reasons Node's engine reports as "parse error": a
// packet or payload the server could not read.
var parseErrors = []error{
	ErrInvalidPacket, ErrInvalidJSON, ErrInvalidUTF8, ErrInvalidPayload,
	ErrUnknownEIOPacket, ErrTooManyPackets, ErrBatchPacketsExceeded,
	ErrEventNameTooLong, ErrTooManyArgs, ErrInvalidPlaceholder,
	ErrExtraAttachment, ErrMissingAttachment, ErrUnexpectedAttachment,
	ErrTooManyAttachments, ErrAttachmentsTooLarge, ErrParser,
	ErrReservedEventReceived, ErrBinaryNotSupported,
}

// lostReason is Node's reason for a socket whose connection was lost with
// reason (nil: the client closed it).
func lostReason(reason error) string {
	if reason == nil {
		return reasonTransportClose
	}
	return engineCloseReason(reason)
}

// engineCloseReason is Node's reason for a session closed with reason
// (nil: closed by the server).
func engineCloseReason(reason error) string {
	switch {
	case reason == nil:
		return reasonForcedClose
	case errors.Is(reason, errClientClose), errors.Is(reason, ErrTransportClosed):
		return reasonTransportClose
	case errors.Is(reason, ErrHeartbeatTimeout):
		return reasonPingTimeout
	case errors.Is(reason, ErrServerShutdown):
		return reasonServerShuttingDown
	case errors.Is(reason, ErrHandshakeTimeout):
		return reasonForcedClose
	}
	for _, e := range parseErrors {
		if errors.Is(reason, e) {
			return reasonParseError
		}
	}
	return reasonTransportError
}
