package socketio

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Engine.IO session states and reasons. The reasons are what EventDisconnect
// receives as EventPayload.Error (nil for a clean close).
var (
	// ErrHeartbeatTimeout is the disconnect reason when the client did not
	// answer a PING within PingTimeout.
	ErrHeartbeatTimeout = errors.New("socketio: heartbeat timeout")
	// ErrSendQueueClosed is the disconnect reason when the send queue was
	// full and DropFramesOnOverflow is false, and the error an emit returns
	// on a closed connection.
	ErrSendQueueClosed = errors.New("socketio: send queue overflow")
	// ErrTransportClosed is the disconnect reason when the transport closed
	// under the session (the client went away or the network failed).
	ErrTransportClosed = errors.New("socketio: transport closed")
	// ErrServerShutdown is the disconnect reason when Shutdown closed the
	// session.
	ErrServerShutdown = errors.New("socketio: server shutting down")
	// ErrPollingBodyTooLarge is the disconnect reason when a polling POST
	// body exceeded MaxPayload (answered with HTTP 413).
	ErrPollingBodyTooLarge = errors.New("socketio: polling POST body exceeds MaxPayload")
	// ErrDuplicatePoll is the disconnect reason when a client sent a second
	// polling GET while one was pending, which the protocol forbids.
	ErrDuplicatePoll = errors.New("socketio: overlapping polling GET requests")
	// ErrBatchPacketsExceeded is the disconnect reason when a batched
	// WebSocket frame held more than MaxBatchPackets packets.
	ErrBatchPacketsExceeded = errors.New("socketio: batched frame exceeds MaxBatchPackets")
	// ErrUnknownEIOPacket is the disconnect reason for an Engine.IO packet
	// of unknown type or out of place.
	ErrUnknownEIOPacket = errors.New("socketio: unknown or unexpected Engine.IO packet")
	// ErrHandshakeTimeout is the disconnect reason when no namespace was
	// connected within HandshakeTimeout: no Socket.IO CONNECT arrived, or
	// the namespace's middlewares had not called next by then (Node's
	// connectTimeout, 45 s there: raise HandshakeTimeout for slow ones).
	ErrHandshakeTimeout = errors.New("socketio: no namespace connected within HandshakeTimeout (no CONNECT, or its middlewares still running)")
)

// lingerAfterClose is how long a session closed by the client's polling
// CLOSE still answers a GET that raced it.
const lingerAfterClose = 250 * time.Millisecond

// errClientClose marks a close the client asked for (an Engine.IO CLOSE
// packet or a clean WebSocket close); listeners see a nil reason.
var errClientClose = errors.New("socketio: client closed the connection")

// The Engine.IO packets the server sends without data.
var (
	pingPacket  = []byte{eioPing}
	noopPacket  = []byte{eioNoop}
	closePacket = []byte{eioClose}
)

const (
	onPolling int32 = iota
	onWebSocket
)

// engineHandler is what the Engine.IO layer calls; the Socket.IO layer
// implements it. The engine knows nothing of namespaces, events or acks.
type engineHandler interface {
	// onMessage receives an Engine.IO MESSAGE; a returned error closes the
	// session with that reason.
	onMessage(s *session, data []byte, binary bool) error
	// onClose runs once when the session ends, with the reason.
	onClose(s *session, reason error)
}

// session is one Engine.IO session. It outlives its transport: it starts on
// polling or WebSocket and can move from polling to WebSocket. Its worker
// goroutine owns every write (WebSocket frames, or the hand-off to a pending
// polling GET) and drives the heartbeat.
type session struct {
	// The fields every packet in and every inline ack touch come first,
	// in the struct's first 64 bytes, one cache line: with many
	// connections a session is rarely in the cache when its next packet
	// arrives, and each line more is a miss more per packet.
	eng     *engine
	cfg     *Config
	q       *sendQueue
	handler engineHandler
	// transport is the session's transport (onPolling, onWebSocket);
	// seen is set by the reader for every inbound packet (the
	// heartbeat's proof of life); closing is set as the session's close
	// is requested, just before closeReq is closed (closed).
	transport atomic.Int32
	seen      atomic.Bool
	closing   atomic.Bool
	// ws is the WebSocket once the session is on it. wsMu orders the
	// upgrade against the session's end. writeMu is held by whoever takes
	// packets from the queue and writes them to ws: the worker, or the
	// reader writing an ack inline (sendInline); one writer at a time,
	// taking and writing under one lock, keeps the queue's order.
	writeMu sync.Mutex
	ws      atomic.Pointer[wsConn]

	sid string
	req *requestInfo
	// eio3 marks a session of Engine.IO protocol v3 (AllowEIO3): the
	// client sends the PINGs, and polling payloads and binary messages
	// are framed as v3 frames them. b64 is set when its client asked for
	// binary messages in base64 on polling.
	eio3, b64 bool
	// jsonp, when not nil, is the start of the session's JSONP responses
	// (polling_jsonp.go).
	jsonp []byte

	upgradeClaim atomic.Bool
	upgrading    atomic.Bool
	wsMu         sync.Mutex
	// probing is the WebSocket of an upgrade in progress; the session's
	// end closes it, so it does not wait out the upgrade timeout.
	probing *wsConn

	// polling state: one GET and one POST at a time.
	getActive atomic.Bool
	// pollIdleSince (monoAt) is when the last polling GET ended, or the
	// session opened on polling (see stalledSince).
	pollIdleSince atomic.Int64
	// posting is set while a polling POST's packets go to their
	// listeners (see pushOrWait).
	posting  atomic.Bool
	pollWake chan struct{}
	postMu   sync.Mutex

	// worker is the state of the worker goroutine (workerIdle,
	// workerRunning, workerFinished): it runs only while there is
	// something to write, so an idle connection keeps no goroutine and no
	// stack for its writes (see kick).
	worker atomic.Int32
	// workerStarts counts the goroutines kick started for the worker.
	workerStarts atomic.Uint32
	// lastWrite, lastWrites and streak are the worker's record of the
	// WebSocket writes (busy; the queue counts them, see sendQueue.takes).
	lastWrite  time.Time
	lastWrites uint64
	streak     int

	// heartbeat: a runtime timer whose callback sends the PINGs and
	// enforces the PONG and handshake deadlines, under hbMu.
	hbMu         sync.Mutex
	hbTimer      *time.Timer
	beatAt       time.Time // when the heartbeat acts next
	awaitingPong bool      // beatAt is the PONG deadline
	handshakeBy  time.Time // the CONNECT deadline; zero once checked

	// lingering: the session is closed but still answers one GET.
	lingering atomic.Bool
	// peerClosed: the client sent an Engine.IO CLOSE; a graceful close
	// stops waiting for it to take the last packets.
	peerClosed atomic.Bool

	closeOnce   sync.Once
	closeReq    chan struct{}
	closeReason error
	graceful    bool
	done        chan struct{}
}

func newSession(eng *engine, sid string, kind int32, req *requestInfo) *session {
	s := &session{
		eng:      eng,
		cfg:      eng.cfg,
		sid:      sid,
		req:      req,
		pollWake: make(chan struct{}, 1),
		closeReq: make(chan struct{}),
		done:     make(chan struct{}),
	}
	limit := eng.cfg.PollQueueMaxFrames
	if kind == onWebSocket {
		limit = eng.cfg.SendQueueSize
	} else {
		s.pollIdleSince.Store(monoAt(time.Now()))
	}
	s.q = newSendQueue(limit)
	s.q.owner = s
	s.transport.Store(kind)
	return s
}

// Worker states.
const (
	workerIdle int32 = iota
	workerRunning
	workerFinished
)

// kick gets the worker to look at the session: it starts the worker when
// none runs, and otherwise wakes the running one (which may be waiting
// for a broadcast burst to end). Every push to the queue, a close, and
// the end of a hold call it.
func (s *session) kick() {
	if s.worker.CompareAndSwap(workerIdle, workerRunning) {
		s.workerStarts.Add(1)
		go s.run()
		return
	}
	select {
	case s.q.notify <- struct{}{}:
	default:
	}
}

// start begins the session's life: its heartbeat timer.
func (s *session) start() {
	now := time.Now()
	s.hbMu.Lock()
	s.beatAt = now.Add(s.cfg.PingInterval)
	if s.eio3 {
		s.beatAt = now.Add(s.cfg.PingInterval + s.cfg.PingTimeout)
	}
	if s.cfg.HandshakeTimeout > 0 {
		s.handshakeBy = now.Add(s.cfg.HandshakeTimeout)
	}
	s.hbTimer = time.AfterFunc(s.untilNextBeat(now), s.heartbeat)
	s.hbMu.Unlock()
}

// send queues an application packet. A full queue either drops the packet
// (DropFramesOnOverflow) and returns ErrSendQueueOverflow, or closes the
// session and returns ErrSendQueueClosed.
func (s *session) send(p outPacket) error {
	err := s.q.push(p)
	if err == errQueueFull {
		err = s.pushOrWait(1, func() error { return s.q.push(p) })
	}
	return s.queued(err)
}

// sendAll queues a text packet and its attachments, all or nothing, with
// the overflow rules of send, so concurrent emits never interleave them;
// plain marks a packet emitted with Compress(false).
func (s *session) sendAll(text []byte, attachments [][]byte, plain bool) error {
	return s.sendShared(outPacket{data: text, plain: plain}, attachments, nil)
}

// sendShared is sendAll for a broadcast packet p (its text packet, see
// Websocket.deliver); b is the server's burst state (see burst.go).
func (s *session) sendShared(p outPacket, attachments [][]byte, b *burst) error {
	push := func() error {
		if len(attachments) == 0 {
			return s.q.pushShared(p, b)
		}
		return s.q.pushAll(p, attachments, b)
	}
	err := push()
	if err == errQueueFull {
		err = s.pushOrWait(1+len(attachments), push)
	}
	return s.queued(err)
}

// queued applies the overflow rule to the result of a push.
func (s *session) queued(err error) error {
	if err == errQueueFull {
		if s.cfg.DropFramesOnOverflow {
			return ErrSendQueueOverflow
		}
		s.cfg.log("warn", "send queue overflow, closing session", "sid", s.sid, "limit", s.q.bound())
		s.close(ErrSendQueueClosed, false)
		return ErrSendQueueClosed
	}
	return err
}

// writable reports whether a packet queued now would go out at once: the
// session is open and on WebSocket, or on polling with a GET waiting.
// Volatile broadcasts skip sessions that are not.
func (s *session) writable() bool {
	if s.closed() {
		return false
	}
	if s.transport.Load() == onWebSocket {
		return true
	}
	return s.getActive.Load()
}

// close ends the session once. A graceful close first delivers what is
// queued (bounded by CloseTimeout); otherwise queued packets are dropped,
// and a WebSocket write in progress is cut short, so a peer that stopped
// reading cannot hold the worker.
func (s *session) close(reason error, graceful bool) { s.end(reason, graceful, true) }

// end is close; kick says whether to wake the worker.
func (s *session) end(reason error, graceful, kick bool) {
	s.closeOnce.Do(func() {
		s.closeReason = reason
		s.graceful = graceful
		// Read by closed (with closeReason and graceful, stored before
		// it), from the session's first cache line.
		s.closing.Store(true)
		close(s.closeReq)
		if !graceful {
			ws := s.ws.Load()
			if ws != nil {
				ws.cutWrites()
			}
		}
		if kick {
			s.kick()
		}
	})
}

// closeOnReader is close (not graceful) for the reader once it has
// stopped reading: when no worker runs, the reader finishes the session
// itself rather than start one for that.
func (s *session) closeOnReader(reason error) {
	s.end(reason, false, false)
	if s.worker.CompareAndSwap(workerIdle, workerRunning) {
		s.run()
		return
	}
	s.kick()
}

// abort ends the session now: its WebSocket is closed under the worker,
// so a write blocked on a client that does not read fails at once. A
// polling session is bounded by CloseTimeout already.
func (s *session) abort() {
	s.close(ErrServerShutdown, false)
	if ws := s.ws.Load(); ws != nil {
		_ = ws.raw.Close()
	}
}

// writeTimeout bounds one WebSocket write: WriteTimeout, or when it is
// zero the time the heartbeat gives a silent peer, PingInterval plus
// PingTimeout (the worker that runs the heartbeat is the one writing).
func (s *session) writeTimeout() time.Duration {
	if s.cfg.WriteTimeout > 0 {
		return s.cfg.WriteTimeout
	}
	return s.cfg.PingInterval + s.cfg.PingTimeout
}

// closed reports whether the session has ended or is ending.
func (s *session) closed() bool { return s.closing.Load() }

// received is called by a transport's reader for every inbound packet; it
// handles the Engine.IO level and passes messages up.
func (s *session) received(typ byte, data []byte, binary bool) error {
	// Stored only when it changes: an atomic store is a locked
	// instruction, which costs more than the rest of this function, and
	// the heartbeat clears the flag once per PingInterval.
	if !s.seen.Load() {
		s.seen.Store(true)
	}
	switch typ {
	case eioPong:
		if s.eio3 {
			return ErrUnknownEIOPacket // the wrong heartbeat direction
		}
		s.pongReceived()
		if h, ok := s.handler.(interface{ onPong() }); ok {
			h.onPong()
		}
		return nil
	case eioMessage:
		s.observeIn(len(data))
		return s.handler.onMessage(s, data, binary)
	case eioClose:
		s.peerClosed.Store(true)
		if s.transport.Load() == onPolling {
			// A GET may be on its way; it gets a NOOP, not an error.
			s.lingering.Store(true)
		}
		s.close(errClientClose, false)
		return nil
	case eioNoop:
		return nil
	case eioPing:
		if s.eio3 {
			// In v3 the client sends the PINGs; the PONG repeats the
			// PING's data.
			s.pingReceived()
			pong := make([]byte, 1+len(data))
			pong[0] = eioPong
			copy(pong[1:], data)
			s.q.pushControl(outPacket{data: pong})
			if h, ok := s.handler.(interface{ onPong() }); ok {
				h.onPong()
			}
			return nil
		}
	}
	return ErrUnknownEIOPacket
}

// run is the session's worker goroutine. It runs while there is something
// to write and ends when the queue is empty, unless the connection is busy
// (see busy); the next push starts it again (kick). So an idle connection
// keeps no goroutine, and a busy one does not pay a goroutine start for
// every write. At most one runs at a time: a worker that finds work after
// it marked itself idle goes on only if no new one was started meanwhile.
// When the session closes, the worker then running finishes it.
func (s *session) run() {
	for {
		if s.closed() {
			s.worker.Store(workerFinished)
			s.finish()
			return
		}
		if s.transport.Load() == onWebSocket {
			// A queue of broadcast packets only waits for the burst
			// to end, or for a packet of its own (see burst.go).
			if end := s.q.linger(); end != nil {
				select {
				case <-end:
				case <-s.q.notify:
				case <-s.closeReq:
				}
				continue
			}
		}
		if err := s.deliver(); err != nil {
			s.close(err, false)
			continue
		}
		if s.busy() && !s.pending() {
			select {
			case <-s.q.notify:
			case <-s.closeReq:
			}
			continue
		}
		s.worker.Store(workerIdle)
		if !s.pending() || !s.worker.CompareAndSwap(workerIdle, workerRunning) {
			return
		}
	}
}

// Busy connections keep their worker between writes. A connection is busy
// when its worker wrote busyStreak times in a row, each within busyGap of
// the one before (a stream of broadcasts, a chat). The worker then waits
// for the next write instead of ending; when the writes stop, the next
// one (the heartbeat's PING at the latest) finds the streak broken, and
// the worker ends after it. The handshake's OPEN and CONNECT replies do
// not make a connection busy.
//
// Ending the worker costs a goroutine start, with a fresh stack, on the
// next write; keeping it costs its stack (a few KiB) for as long as the
// connection lives, and most connections are idle most of the time.
const (
	busyGap    = 100 * time.Millisecond
	busyStreak = 3
)

// busy records the writes since its last call and reports whether the
// connection is busy. Only the worker calls it (one at a time).
func (s *session) busy() bool {
	n := s.q.taken()
	if n == s.lastWrites {
		return s.streak >= busyStreak-1 // woken, but nothing was written
	}
	s.lastWrites = n
	now := time.Now()
	if now.Sub(s.lastWrite) < busyGap {
		s.streak++
	} else {
		s.streak = 0
	}
	s.lastWrite = now
	return s.streak >= busyStreak-1
}

// pending reports whether the worker has something to do: the session is
// closing, or a WebSocket session has packets it may take. A polling
// session's packets wait for the client's GET, which the worker has woken.
func (s *session) pending() bool {
	if s.closed() {
		return true
	}
	return s.transport.Load() == onWebSocket && s.ws.Load() != nil && s.q.ready()
}

// finish runs on the worker when the session closes: it flushes what it
// can, closes the transport, and tells the Socket.IO layer.
func (s *session) finish() {
	defer s.eng.wg.Done()
	s.hbMu.Lock()
	if s.hbTimer != nil {
		s.hbTimer.Stop()
	}
	s.hbMu.Unlock()
	// From here on no upgrade can complete (upgradeTo sees the session
	// closed); one in progress is dropped.
	s.wsMu.Lock()
	probe := s.probing
	s.probing = nil
	s.wsMu.Unlock()
	if probe != nil {
		probe.shutdown(0)
	}
	reason := s.closeReason
	// A polling session closing gracefully stays registered until its
	// queue is taken: the client's next GET must still find it. One the
	// client closed still answers a GET that raced its CLOSE.
	flushPolling := s.graceful && s.transport.Load() == onPolling
	switch {
	case s.lingering.Load():
		time.AfterFunc(lingerAfterClose, func() { s.endLinger() })
	case !flushPolling:
		s.eng.remove(s)
	}
	deadline := time.Now().Add(s.cfg.CloseTimeout)
	if flushPolling {
		// The packets still queued (the DISCONNECTs of a server-side
		// close) go in one response and the CLOSE in the next, as the
		// Node server sends them: the client hands a payload's Socket.IO
		// packets to its sockets a tick later than it handles a CLOSE, so
		// in one payload its sockets would see "transport close" rather
		// than "io server disconnect".
		s.drainPolling(deadline)
	}
	if s.graceful {
		s.q.pushTail(outPacket{data: closePacket})
	}
	s.q.close()
	if s.transport.Load() == onWebSocket {
		ws := s.ws.Load()
		if ws != nil {
			// After an inline write in progress (sendInline).
			s.writeMu.Lock()
			if s.graceful {
				items := s.q.take()
				s.observeOut(items)
				_ = ws.writePackets(s.wireItems(items), time.Until(deadline))
			}
			ws.shutdown(time.Until(deadline))
			s.writeMu.Unlock()
		}
	} else if s.graceful {
		// A pending or the next GET takes the CLOSE.
		s.drainPolling(deadline)
	}
	if flushPolling {
		s.eng.remove(s)
	}
	close(s.done)
	s.observeClose(reason)
	if reason == errClientClose {
		reason = nil
	}
	s.handler.onClose(s, reason)
	ws := s.ws.Load()
	if ws != nil {
		ws.shutdown(0)
		ws.linger()
	}
}

// drainPolling waits, until deadline or the client's CLOSE, for the GETs
// to take what the queue holds, waking a pending one.
func (s *session) drainPolling(deadline time.Time) {
	for s.q.len() > 0 && time.Now().Before(deadline) && !s.peerClosed.Load() {
		select {
		case s.pollWake <- struct{}{}:
		default:
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startProbe registers the WebSocket of an upgrade; false when the session
// is already closed.
func (s *session) startProbe(ws *wsConn) bool {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	if s.closed() {
		return false
	}
	s.probing = ws
	return true
}

// endProbe forgets the WebSocket of a failed upgrade.
func (s *session) endProbe(ws *wsConn) {
	s.wsMu.Lock()
	if s.probing == ws {
		s.probing = nil
	}
	s.wsMu.Unlock()
}

// upgradeTo moves the session onto a WebSocket that completed the probe;
// false when the session closed meanwhile.
func (s *session) upgradeTo(ws *wsConn) bool {
	s.wsMu.Lock()
	if s.closed() {
		s.wsMu.Unlock()
		return false
	}
	s.ws.Store(ws)
	s.q.deflateMin.Store(int64(ws.deflateMin))
	s.probing = nil
	s.q.setLimit(s.cfg.SendQueueSize)
	s.transport.Store(onWebSocket)
	s.wsMu.Unlock()
	s.upgrading.Store(false)
	select {
	case s.pollWake <- struct{}{}:
	default:
	}
	// The worker writes what the polling transport left queued.
	s.q.wake()
	s.observeUpgrade()
	return true
}

// endLinger stops answering the GET that raced a client CLOSE; it
// reports whether this call ended it.
func (s *session) endLinger() bool {
	if s.lingering.CompareAndSwap(true, false) {
		s.eng.remove(s)
		return true
	}
	return false
}

// claimUpgrade reserves the session for one upgrading WebSocket.
func (s *session) claimUpgrade() bool { return s.upgradeClaim.CompareAndSwap(false, true) }

// remoteAddr is the peer address for logs.
func (s *session) remoteAddr() string {
	if s.req != nil {
		return s.req.ip
	}
	return ""
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
