package socketio

// This file is connection-state recovery: a client that lost its connection
// reconnects within a window and gets back its socket id, rooms, attributes
// and every EVENT it missed, as with the Node server's
// connectionStateRecovery option.
//
// How it works. With recovery on, the CONNECT reply carries a private
// session id (pid) besides the socket id, and every stored EVENT sent to
// the socket (direct emits and broadcasts, but neither packets with an ack
// nor volatile ones) carries an offset as its last argument, which the
// client remembers. Each socket keeps the packets it was sent in a bounded
// buffer (recovery_log.go). When the connection is lost (not when either
// side disconnects on purpose, nor on a protocol violation), the socket's
// state and buffer are handed to the namespace's adapter
// (SessionAwareAdapter.PersistSession); broadcasts addressed to its rooms
// during the gap are added to the buffer. A client reconnecting within
// MaxDisconnectionDuration sends {pid, offset} in its CONNECT; the adapter
// gives the session back (RestoreSession) and the socket is re-created with
// the same id, rooms and attributes, and every buffered packet after the
// client's offset is queued behind the CONNECT reply, in order.

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Defaults of RecoveryConfig.
const (
	// DefaultMaxDisconnectionDuration is how long a lost session can be
	// recovered when RecoveryConfig.MaxDisconnectionDuration is zero (the
	// Node server's default).
	DefaultMaxDisconnectionDuration = 2 * time.Minute
	// DefaultRecoveryMaxPackets bounds the packets buffered per socket when
	// RecoveryConfig.MaxPackets is zero.
	DefaultRecoveryMaxPackets = 1000
	// DefaultRecoveryMaxBytes bounds the bytes buffered per socket when
	// RecoveryConfig.MaxBytes is zero.
	DefaultRecoveryMaxBytes = 1 << 20
)

// RecoveryConfig turns connection-state recovery on (see
// ConnectionStateRecovery). Zero fields take the defaults.
//
// Each socket keeps in a buffer the stored EVENTs it was sent lately (while
// connected, the oldest are evicted beyond MaxPackets or MaxBytes, as they
// have most likely been received) and, once its connection is lost, every
// stored EVENT addressed to it. A lost session can no longer be recovered,
// and the client gets a fresh socket rather than a gap, when:
//   - it was not recovered within MaxDisconnectionDuration;
//   - the packets addressed to it during the gap exceed MaxPackets or
//     MaxBytes (its buffer is then released at once);
//   - the client's offset is unknown: older than the oldest packet kept, or
//     not an offset at all (the client takes the last argument of any event
//     as its offset when it is a string, so an event emitted with an ack or
//     as volatile whose last argument is a string makes the session
//     unrecoverable until the next stored event, as with the Node server).
//
// The memory held is at most MaxBytes (plus the per-packet overhead of
// MaxPackets slots) per socket, connected or within its window; broadcast
// bytes are shared by every receiver, so this bound is conservative.
type RecoveryConfig struct {
	// MaxDisconnectionDuration is how long after losing its connection a
	// client can recover its session. Zero means
	// DefaultMaxDisconnectionDuration.
	MaxDisconnectionDuration time.Duration
	// RunMiddlewares makes the namespace's middlewares run again for a
	// recovered socket (they may refuse it). By default they are skipped,
	// as with the Node server's skipMiddlewares: true.
	RunMiddlewares bool
	// MaxPackets bounds the packets buffered per socket. Zero means
	// DefaultRecoveryMaxPackets.
	MaxPackets int
	// MaxBytes bounds the bytes (packet text and binary attachments)
	// buffered per socket. Zero means DefaultRecoveryMaxBytes.
	MaxBytes int
}

// ConnectionStateRecovery, when not nil, turns connection-state recovery on
// for the default server and for DefaultConfig (see RecoveryConfig). Like
// the other tunables it is read when New or DefaultConfig is called. It is
// nil (off) by default, as in the Node server.
var ConnectionStateRecovery *RecoveryConfig

// normalized returns a copy with the defaults filled in, nil for nil.
func (r *RecoveryConfig) normalized() *RecoveryConfig {
	if r == nil {
		return nil
	}
	c := *r
	if c.MaxDisconnectionDuration <= 0 {
		c.MaxDisconnectionDuration = DefaultMaxDisconnectionDuration
	}
	if c.MaxPackets <= 0 {
		c.MaxPackets = DefaultRecoveryMaxPackets
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultRecoveryMaxBytes
	}
	return &c
}

// Errors of connection-state recovery. They are what RestoreSession
// returns, and what the Logger's "connection state not recovered" warning
// reports.
var (
	// ErrSessionNotFound is returned by RestoreSession for a private
	// session id it does not hold: unknown, already restored, or expired.
	ErrSessionNotFound = errors.New("socketio: recovery session not found or expired")
	// ErrRecoveryBufferOverflow means the packets addressed to a lost
	// session exceeded RecoveryConfig.MaxPackets or MaxBytes: it can no
	// longer be recovered without a gap.
	ErrRecoveryBufferOverflow = errors.New("socketio: recovery buffer overflow, session unrecoverable")
	// ErrRecoveryOffsetUnknown means the client's offset is not in the
	// session's buffer (too old, or not an offset this server sent).
	ErrRecoveryOffsetUnknown = errors.New("socketio: recovery offset unknown")
)

// Session is the state of a socket kept for connection-state recovery: what
// PersistSession receives when the socket's connection is lost, and what
// RestoreSession gives back.
type Session struct {
	// ID is the socket id (the client's socket.id and the socket's own
	// room).
	ID string
	// PID is the private session id the client presents to recover.
	PID string
	// UUID is the key set by SetUUID (ID unless it was changed).
	UUID string
	// Rooms are the rooms the socket was in, its own included.
	Rooms []string
	// Data is a copy of the socket's attributes.
	Data map[string]any
	// Deadline is when the session stops being recoverable; the adapter
	// may forget it then.
	Deadline time.Time
	// Missed may be set by the RestoreSession of an adapter that keeps the
	// packets itself (one storing sessions outside the process): the
	// stored packets emitted to the socket after the client's offset, in
	// order, each carrying its offset. The in-memory adapter leaves it nil:
	// the packets are then taken from the session's own buffer.
	Missed []*EncodedPacket

	// buf is the socket's buffer, carried through the in-memory adapter.
	buf *recoveryLog
}

// Packets returns a copy of the packets buffered for the socket, oldest
// first, each with its Offset: for an adapter that stores sessions outside
// the process. The bytes are shared and must not be modified.
func (s *Session) Packets() []*EncodedPacket {
	if s.buf == nil {
		return nil
	}
	return s.buf.snapshot()
}

// SessionAwareAdapter is an Adapter that can keep the session of a socket
// whose connection was lost, for connection-state recovery. Recovery
// requires the namespace's adapter to implement it; the in-memory adapter
// does. Packets whose Offset is set are the ones to store: an adapter
// delivers them to the persisted sessions whose rooms they address, as it
// delivers them to connected sockets.
//
// An adapter that keeps sessions outside the process stores
// Session.Packets() at PersistSession, adds the stored broadcasts it
// carries during the gap, and returns those after the client's offset in
// Session.Missed. Emits through the old *Websocket during the gap go to
// the socket's own buffer, which only the in-memory adapter carries over;
// with another adapter, address a lost socket through its room (To(id)).
type SessionAwareAdapter interface {
	Adapter
	// PersistSession keeps s until s.Deadline. The socket is no longer
	// connected: the adapter removes it from its rooms (as DelAll, which
	// the caller does not call) and keeps them with the session (s.Rooms,
	// or its own index), so that broadcasts with an Offset addressed to
	// them are kept for it.
	PersistSession(s *Session)
	// RestoreSession takes out the session pid for a reconnecting client
	// whose last received offset is offset ("" when it received none); it
	// returns ErrSessionNotFound when there is none or it expired. The
	// in-memory adapter puts the socket back into its rooms at once, so no
	// broadcast falls between the stored and the live socket, and leaves
	// the offset to the session's buffer.
	RestoreSession(pid, offset string) (*Session, error)
}

// PacketStore is a SessionAwareAdapter that keeps the stored packets
// itself, outside the process, as Node's @socket.io/redis-streams-adapter
// keeps them in a Redis stream; a lost session can then be recovered on
// any node that shares the store. With such an adapter:
//   - sockets keep no recovery buffer of their own;
//   - every packet to be stored reaches the adapter's Broadcast with a
//     non-empty Packet.Offset: broadcasts, and also the events emitted to
//     one socket (Emit, EmitArgs, EmitValues on the *Websocket), which
//     the namespace turns into a broadcast to the socket's own room, as
//     the Node server does. The adapter replaces Offset with the offset
//     it stored the packet under (1 to 64 characters of letters, digits
//     and "-_.:"; the client sends it back when it reconnects), or clears
//     it when it could not store the packet, before it encodes it;
//   - PersistSession receives no packets (Session.Packets is empty), and
//     RestoreSession returns in Session.Missed the stored packets
//     addressed to the session's rooms after the client's offset.
type PacketStore interface {
	SessionAwareAdapter
	// StoresPackets reports whether the adapter keeps the packets itself
	// (true for a PacketStore in use).
	StoresPackets() bool
}

// storesPackets reports whether the namespace's adapter is a PacketStore.
func (n *Namespace) storesPackets() bool {
	ps, ok := n.adp().(PacketStore)
	return ok && ps.StoresPackets()
}

// validExternalOffset reports whether s can be a PacketStore's offset: it
// goes into the packet as a JSON string without escaping.
func validExternalOffset(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// appendOffsetString appends the offset s of a PacketStore as the last
// argument of the encoded EVENT p (which ends with ']').
func appendOffsetString(p []byte, s string) []byte {
	p = p[:len(p)-1]
	p = append(p, ',', '"')
	p = append(p, s...)
	return append(p, '"', ']')
}

// Recovered reports whether the socket's connection state was recovered:
// the client reconnected within the window with the same id, rooms and
// attributes, and the packets it missed were sent again (the client's
// socket.recovered is true too).
func (kws *Websocket) Recovered() bool { return kws.recovered }

// newPID returns a random private session id.
func newPID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// randomOffsetBase is where a namespace's offset counter starts: a random
// 48-bit number, so offsets of different processes hardly ever collide.
func randomOffsetBase() uint64 {
	var b [6]byte
	_, _ = rand.Read(b[:])
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v | 1<<40
}

// appendOffset appends off as the last argument of the encoded EVENT p
// (which ends with ']').
func appendOffset(p []byte, off uint64) []byte {
	p = p[:len(p)-1]
	p = append(p, ',', '"')
	p = strconv.AppendUint(p, off, 36)
	return append(p, '"', ']')
}

// formatOffset is the offset as the client sees it.
func formatOffset(off uint64) string { return strconv.FormatUint(off, 36) }

// parseOffset reads an offset; 0 and false when it is not one.
func parseOffset(s string) (uint64, bool) {
	v, err := strconv.ParseUint(s, 36, 64)
	if err != nil || v == 0 {
		return 0, false
	}
	return v, true
}

// recoveryAuth reads {pid, offset} from a CONNECT auth payload.
func recoveryAuth(auth []byte) (pid, offset string) {
	if len(auth) == 0 {
		return "", ""
	}
	var v struct {
		PID    any `json:"pid"`
		Offset any `json:"offset"`
	}
	if json.Unmarshal(auth, &v) != nil {
		return "", ""
	}
	pid, _ = v.PID.(string)
	offset, _ = v.Offset.(string)
	return pid, offset
}

// recoverableReason reports whether a session that ended with reason may be
// recovered: a lost transport or heartbeat, a client-side transport close,
// a server shutdown (as in Node: the client may recover on another node);
// not a protocol violation.
func recoverableReason(reason error) bool {
	if reason == nil {
		return true
	}
	for _, e := range unrecoverable {
		if errors.Is(reason, e) {
			return false
		}
	}
	return true
}

var unrecoverable = []error{
	ErrHandshakeTimeout, ErrInvalidPacket, ErrInvalidJSON,
	ErrInvalidUTF8, ErrTooManyPackets, ErrEventNameTooLong, ErrTooManyArgs,
	ErrReservedEventReceived, ErrTooManyAttachments, ErrBatchPacketsExceeded,
	ErrUnknownEIOPacket, ErrDuplicatePoll, ErrOverlappingPost,
	ErrPollingBodyTooLarge, ErrMessageTooLarge, ErrInvalidAuthPayload,
}

// heldLog is the buffer of a socket whose connection was lost, indexed by
// the namespace so that a broadcast which selected the socket while it was
// connected still stores its packet after the socket is gone.
type heldLog struct {
	log   *recoveryLog
	gen   uint64
	timer *time.Timer
	// ref: the entry holds a reference on its (ephemeral) namespace,
	// given back when the entry is removed.
	ref bool
}

// hold indexes the buffer of the lost socket id until d passes; then, if
// no restore claimed it, it is released. A restore that claimed it removes
// the index entry itself (unhold), once its socket is indexed or abandoned.
func (n *Namespace) hold(id string, log *recoveryLog, gen uint64, d time.Duration) {
	h := &heldLog{log: log, gen: gen, ref: n.retain()}
	h.timer = time.AfterFunc(d, func() {
		if log.expire(gen) && n.held.CompareAndDelete(id, h) {
			n.unref(h)
		}
	})
	if old, loaded := n.held.Swap(id, h); loaded {
		old.(*heldLog).timer.Stop()
		n.unref(old.(*heldLog))
	}
}

// unref gives back the namespace reference of a removed index entry.
func (n *Namespace) unref(h *heldLog) {
	if h.ref {
		h.ref = false
		n.release()
	}
}

// heldBuffer returns the buffer of the lost socket id, nil when none.
func (n *Namespace) heldBuffer(id string) *recoveryLog {
	if v, ok := n.held.Load(id); ok {
		return v.(*heldLog).log
	}
	return nil
}

// unhold removes the index entry h of id, if it is still there.
func (n *Namespace) unhold(id string, h *heldLog) {
	if h != nil && n.held.CompareAndDelete(id, h) {
		h.timer.Stop()
		n.unref(h)
	}
}

// releaseHeld stops the timers of the held buffers (Shutdown).
func (n *Namespace) releaseHeld() {
	n.held.Range(func(k, v any) bool {
		v.(*heldLog).timer.Stop()
		n.held.Delete(k)
		return true
	})
}

// nextOffset returns a fresh offset of the namespace.
func (n *Namespace) nextOffset() uint64 { return n.offsets.Add(1) }

// recoveryOn reports whether broadcasts of n carry offsets: recovery is on
// and the adapter can persist sessions.
func (n *Namespace) recoveryOn() bool {
	if n.srv.recovery.Load() == nil {
		return false
	}
	_, ok := n.adp().(SessionAwareAdapter)
	return ok
}

// sendStored queues an encoded EVENT p (with its attachments) to the
// socket. With recovery on it gets an offset and goes through the socket's
// buffer, which keeps it; after the socket's connection was lost it is only
// kept, for the recovered socket.
func (kws *Websocket) sendStored(p []byte, attachments [][]byte) error {
	if kws.rlog == nil {
		if kws.pid != "" && kws.nsp.storesPackets() {
			return kws.storeThroughAdapter(p, attachments)
		}
		kws.notifyOutgoing(p, attachments, false)
		return kws.sendBinary(p, attachments)
	}
	kws.notifyOutgoing(p, attachments, false)
	off := kws.nsp.nextOffset()
	p = appendOffset(p, off)
	return kws.reportOverflow(p, kws.rlog.push(off, p, attachments, false))
}

// storeThroughAdapter sends the encoded EVENT p to the socket as a
// broadcast to its own room, so that a PacketStore stores it (and gives it
// its offset) before delivering it.
//
// Also after the socket's connection was lost: the packet is stored for
// the session, as the Node server stores it.
func (kws *Websocket) storeThroughAdapter(p []byte, attachments [][]byte) error {
	pkt, err := decodeSIOPacket(p[1:])
	if err != nil {
		return err
	}
	name, args, err := parseEvent(pkt.Data, 0, nil)
	if err != nil {
		return err
	}
	return kws.nsp.adp().Broadcast(&Packet{
		Nsp:         kws.nsp.name,
		Event:       name,
		Args:        args,
		Attachments: attachments,
		Offset:      formatOffset(kws.nsp.nextOffset()),
	}, BroadcastOptions{Rooms: []string{kws.id}})
}

// lose ends a socket whose connection was lost: with recovery on and a
// session-aware adapter, its state is persisted for RestoreSession;
// otherwise it disconnects as usual.
func (kws *Websocket) lose(reason error) {
	rec := kws.sess.cfg.ConnectionStateRecovery
	sa, ok := kws.nsp.adp().(SessionAwareAdapter)
	stored := kws.rlog != nil || (kws.pid != "" && kws.nsp.storesPackets())
	why := lostReason(reason)
	if !stored || rec == nil || !ok || !recoverableReason(reason) {
		kws.disconnectWhy(reason, why, false)
		return
	}
	kws.once.Do(func() {
		kws.why = why
		kws.alive.Store(false)
		kws.client.removeSocket(kws)
		kws.srv.sockets.remove(kws.GetUUID(), kws)
		// One deadline for the held buffer and the adapter's session, so
		// once the buffer is released a restore is refused too.
		deadline := time.Now().Add(rec.MaxDisconnectionDuration)
		if kws.rlog != nil {
			gen := kws.rlog.detach()
			kws.nsp.hold(kws.id, kws.rlog, gen, time.Until(deadline))
		}
		kws.nsp.remove(kws)
		// Still in its rooms: the adapter moves them with the session
		// below, so what a listener joins or leaves here is kept.
		kws.fireEvent(EventDisconnecting, nil, reason)
		rooms := kws.nsp.adp().SocketRooms(kws.id)
		kws.roomMu.Lock()
		kws.left = true // the adapter moves the rooms with the session
		kws.pending = nil
		kws.roomMu.Unlock()
		sa.PersistSession(&Session{
			ID:       kws.id,
			PID:      kws.pid,
			UUID:     kws.GetUUID(),
			Rooms:    rooms,
			Data:     kws.attributesSnapshot(),
			Deadline: deadline,
			buf:      kws.rlog,
		})
		kws.acks.failAll(ErrAckDisconnected, kws.logError)
		kws.fireEvent(EventDisconnect, nil, reason)
		kws.releaseNamespace() // the held buffer holds the namespace now
	})
}

// prepareRecovery gives a connecting socket its private session id and
// buffer, or restores the session the client asks for; it reports whether
// it restored one.
func (c *client) prepareRecovery(kws *Websocket, auth []byte) bool {
	rec := c.sess.cfg.ConnectionStateRecovery
	if rec == nil {
		return false
	}
	sa, ok := kws.nsp.adp().(SessionAwareAdapter)
	if !ok {
		return false
	}
	if pid, offset := recoveryAuth(auth); pid != "" {
		err := c.restore(kws, sa, rec, pid, offset)
		if err == nil {
			return true
		}
		c.sess.cfg.log("warn", "connection state not recovered", "namespace", kws.nsp.name, "reason", err.Error(), "remote", c.sess.remoteAddr())
	}
	kws.pid = newPID()
	if !kws.nsp.storesPackets() {
		kws.rlog = newRecoveryLog(rec)
	}
	return false
}

// restore makes kws the socket of the session pid.
func (c *client) restore(kws *Websocket, sa SessionAwareAdapter, rec *RecoveryConfig, pid, offset string) error {
	s, err := sa.RestoreSession(pid, offset)
	if err != nil {
		return err
	}
	if s == nil || s.ID == "" {
		return ErrSessionNotFound
	}
	log := s.buf
	if log == nil {
		// The adapter's Missed, replayed through a buffer of their own
		// (which a PacketStore's socket drops once they are queued).
		log = newRecoveryLog(rec)
		for _, p := range s.Missed {
			log.keep(p.off, p.Text, p.Attachments)
		}
		offset = ""
	}
	if err := log.claim(offset); err != nil {
		kws.nsp.adp().DelAll(s.ID)
		return err
	}
	kws.id = s.ID
	kws.UUID = s.ID
	if s.UUID != "" {
		kws.UUID = s.UUID
	}
	kws.pid = s.PID
	kws.rlog = log
	if v, ok := kws.nsp.held.Load(s.ID); ok && v.(*heldLog).log == log {
		kws.held = v.(*heldLog)
	}
	kws.recovered = true
	if len(s.Data) > 0 && kws.attributes == nil {
		kws.attributes = make(map[string]any, len(s.Data))
	}
	for k, v := range s.Data {
		kws.attributes[k] = v
	}
	kws.pending = append(kws.pending, s.Rooms...)
	return nil
}

// abandon releases what a socket that never got connected holds: its
// buffer and, for a restored session, the rooms the adapter gave back.
func (kws *Websocket) abandon() {
	kws.roomMu.Lock()
	kws.early, kws.flushed = nil, true // never sent: the socket is refused
	kws.roomMu.Unlock()
	if kws.rlog != nil {
		kws.rlog.discard()
	}
	if kws.recovered {
		kws.nsp.adp().DelAll(kws.id)
		kws.nsp.unhold(kws.id, kws.held)
	}
	kws.releaseNamespace()
}

// eventBuf returns a buffer for an EVENT of name and args, sized for the
// packet and an offset, so that encoding allocates once and appending the
// offset does not copy (arguments that are not JSON may need more, when
// quoted).
func (kws *Websocket) eventBuf(name string, args [][]byte) []byte {
	return packetBuf(kws.nsp.name, name, args, 16)
}

// packetBuf returns an empty buffer with room for an EVENT and extra
// bytes.
func packetBuf(nsp, name string, args [][]byte, extra int) []byte {
	n := len(nsp) + len(name) + 24 + extra
	for _, a := range args {
		n += len(a) + 1
	}
	return make([]byte, 0, n)
}
