package socketio

import (
	"sort"
	"time"
)

// Join adds the socket to rooms. Room membership is per namespace. Rooms
// joined in a middleware take effect when the socket connects; after the
// socket disconnected, Join does nothing.
func (kws *Websocket) Join(rooms ...string) {
	kws.roomMu.Lock()
	defer kws.roomMu.Unlock()
	switch {
	case kws.left:
	case !kws.joined:
		kws.pending = append(kws.pending, rooms...)
	default:
		kws.nsp.adp().AddAll(kws.id, rooms)
	}
}

// Leave removes the socket from room. Every room is left on disconnect.
func (kws *Websocket) Leave(room string) {
	kws.roomMu.Lock()
	defer kws.roomMu.Unlock()
	switch {
	case kws.left:
	case !kws.joined:
		kept := kws.pending[:0]
		for _, r := range kws.pending {
			if r != room {
				kept = append(kept, r)
			}
		}
		kws.pending = kept
	default:
		kws.nsp.adp().Del(kws.id, room)
	}
}

// Rooms returns the rooms the socket is in, sorted; a connected socket is
// in the room named by its id (the id sent to the client, which SetUUID
// does not change) until it leaves it. After disconnect it returns nil.
func (kws *Websocket) Rooms() []string {
	kws.roomMu.Lock()
	var rooms []string
	switch {
	case kws.left:
	case !kws.joined:
		seen := map[string]bool{}
		for _, r := range kws.pending {
			if !seen[r] {
				seen[r] = true
				rooms = append(rooms, r)
			}
		}
	default:
		rooms = kws.nsp.adp().SocketRooms(kws.id)
	}
	kws.roomMu.Unlock()
	sort.Strings(rooms)
	return rooms
}

// enterRooms runs when the socket connects: it joins the room named by its
// id and the rooms joined in middlewares.
func (kws *Websocket) enterRooms() {
	kws.roomMu.Lock()
	defer kws.roomMu.Unlock()
	if kws.left || kws.joined {
		return
	}
	kws.joined = true
	rooms := append([]string{kws.id}, kws.pending...)
	kws.pending = nil
	kws.nsp.adp().AddAll(kws.id, rooms)
}

// leaveAll runs on disconnect: the socket leaves every room for good.
func (kws *Websocket) leaveAll() {
	kws.roomMu.Lock()
	defer kws.roomMu.Unlock()
	if kws.left {
		return
	}
	kws.left = true
	kws.pending = nil
	if kws.joined {
		kws.nsp.adp().DelAll(kws.id)
	}
}

// Broadcaster returns an operator addressing every socket of this socket's
// namespace but this one (socket.broadcast in the Node server); narrow it
// with To, In and Except.
func (kws *Websocket) Broadcaster() BroadcastOperator {
	return BroadcastOperator{nsp: kws.nsp, except: []string{kws.id}}
}

// To returns an operator addressing the sockets in rooms, this socket
// excepted (as socket.to in the Node server).
func (kws *Websocket) To(rooms ...string) BroadcastOperator { return kws.Broadcaster().To(rooms...) }

// In is the same as To.
func (kws *Websocket) In(rooms ...string) BroadcastOperator { return kws.Broadcaster().To(rooms...) }

// Except returns an operator addressing every socket of the namespace but
// those in rooms and this one.
func (kws *Websocket) Except(rooms ...string) BroadcastOperator {
	return kws.Broadcaster().Except(rooms...)
}

// Self returns an operator addressing this socket alone, for the flags of
// an operator on a single socket. Its Emit and EmitWithAck reach the
// socket by its id, as Node's socket.volatile.emit does, also after it
// left the room of its id; with connection-state recovery, a packet it
// stores goes through that room (and the adapter), as in Node. Its other
// methods (FetchSockets, SocketsJoin, ...) select that room.
func (kws *Websocket) Self() BroadcastOperator {
	return BroadcastOperator{nsp: kws.nsp, rooms: []string{kws.id}, self: kws}
}

// Volatile returns an operator addressing this socket alone whose Emit is
// dropped if the socket cannot take it now (socket.volatile in the Node
// server). For the other sockets use kws.Broadcaster().Volatile().
func (kws *Websocket) Volatile() BroadcastOperator { return kws.Self().Volatile() }

// Timeout returns an operator addressing this socket alone with an ack
// timeout: kws.Timeout(d).EmitWithAck gathers its one response.
func (kws *Websocket) Timeout(d time.Duration) BroadcastOperator { return kws.Self().Timeout(d) }

// Compress returns an operator addressing this socket alone with the
// compress flag (which has no effect on the wire; see
// BroadcastOperator.Compress).
func (kws *Websocket) Compress(compress bool) BroadcastOperator {
	return kws.Self().Compress(compress)
}

// deliver queues an encoded broadcast packet. A volatile packet is dropped,
// silently, when the session cannot take it now; any other packet follows
// the send-queue rules (see DropFramesOnOverflow).
func (kws *Websocket) deliver(pkt *EncodedPacket, flags BroadcastFlags) bool {
	kws.notifyOutgoing(pkt.Text, pkt.Attachments, pkt.Offset != "")
	plain := flags.NoCompress
	if pkt.off != 0 && !flags.Volatile && kws.rlog != nil {
		// A stored packet goes through the recovery buffer, also after
		// the connection was lost.
		return kws.reportOverflow(pkt.Text, kws.rlog.push(pkt.off, pkt.Text, pkt.Attachments, plain)) == nil
	}
	if !kws.alive.Load() {
		return false
	}
	p, attachments := kws.sharedPacket(pkt, plain), pkt.Attachments
	if p.parsed {
		attachments = nil // inside the parser's message
	}
	if flags.Volatile {
		if !kws.sess.writable() {
			return false
		}
		return kws.sess.q.pushAll(p, attachments, &kws.nsp.srv.burst) == nil
	}
	return kws.sendShared(p, attachments) == nil
}

// sharedPacket is the text packet of a broadcast as this socket's session
// queues it: the frame compressed once for every receiver when the
// session is on a WebSocket that takes compressed messages of its size,
// the text otherwise.
func (kws *Websocket) sharedPacket(pkt *EncodedPacket, plain bool) outPacket {
	if p := kws.sess.cfg.Parser; p != nil {
		if msg, binary, ok := pkt.parsedForm().get(p, pkt.Text, pkt.Attachments); ok {
			return outPacket{data: msg, binary: binary, plain: plain, parsed: true}
		}
		return outPacket{data: pkt.Text, plain: plain} // wireItems reports the error
	}
	if eng := kws.sess.eng; !plain && eng != nil && eng.deflate {
		if min := kws.sess.q.deflateMin.Load(); min > 0 && int64(len(pkt.Text)) >= min {
			if frame, ok := pkt.deflated.get(pkt.Text); ok {
				return outPacket{data: frame, framed: true}
			}
		}
	}
	return outPacket{data: pkt.Text, plain: plain}
}

// nspHost is the AdapterHost of a namespace.
type nspHost struct{ n *Namespace }

func (h nspHost) Name() string { return h.n.name }

func (h nspHost) broadcastBurst() *burst { return &h.n.srv.burst }

func (h nspHost) Deliver(id string, pkt *EncodedPacket, flags BroadcastFlags, ack func([]byte)) bool {
	kws := h.n.socket(id)
	if kws == nil && pkt.off != 0 && !flags.Volatile {
		// The socket's connection was lost after the broadcast selected
		// it: keep the packet for its recovery. A recovered socket is
		// indexed before its held buffer is dropped, so looking again
		// finds one or the other.
		if log := h.n.heldBuffer(id); log != nil {
			return log.push(pkt.off, pkt.Text, pkt.Attachments, flags.NoCompress) == nil
		}
		kws = h.n.socket(id)
	}
	if kws == nil {
		return false
	}
	if !pkt.HasID || ack == nil {
		return kws.deliver(pkt, flags)
	}
	timeout := flags.Timeout
	if timeout <= 0 {
		timeout = kws.sess.cfg.OutboundAckTimeout
	}
	cb := func(r *AckReply, err error) {
		if err != nil {
			return // the operator's own timer reports the missing answer
		}
		var first []byte
		if r != nil && len(r.Args) > 0 {
			// Binary data goes to the adapter as Buffer JSON (see
			// Adapter.BroadcastWithAck); without attachments first is
			// r.Args[0] itself.
			first = bufferJSON(r.Args[0], r.Attachments)
		}
		ack(first)
	}
	if !kws.acks.registerReply(pkt.ID, cb, timeout, kws.logError) {
		return false
	}
	if !kws.deliver(pkt, flags) {
		kws.acks.cancel(pkt.ID, ErrAckDisconnected, kws.logError)
		return false
	}
	return true
}

func (h nspHost) DisconnectSocket(id string, closeConn bool) {
	kws := h.n.socket(id)
	if kws == nil {
		return
	}
	if closeConn {
		kws.client.closeAll()
		return
	}
	kws.Close()
}
