package socketio

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Ack errors.
var (
	// ErrAckTimeout is passed to an ack callback when the client did not
	// answer within the timeout.
	ErrAckTimeout = errors.New("socketio: ack timeout")
	// ErrAckDisconnected is passed to an ack callback when the connection
	// closed before the client answered.
	ErrAckDisconnected = errors.New("socketio: connection closed before ack")
	// ErrAckAlreadySent is returned by EventPayload.Ack after the first ack
	// for the event.
	ErrAckAlreadySent = errors.New("socketio: ack already sent")
	// ErrAckNotRequested is returned by EventPayload.Ack when the client
	// emitted without a callback.
	ErrAckNotRequested = errors.New("socketio: event has no ack id")
)

// AckCallback receives the first argument of the client's ack (raw JSON,
// nil when it acked with none), or ErrAckTimeout / ErrAckDisconnected.
type AckCallback func(ack []byte, err error)

// pendingAck is one outbound ack waiting for the client. fired makes the
// callback run exactly once whichever of answer, timeout and disconnect
// comes first.
type pendingAck struct {
	cb    func(reply *AckReply, err error)
	timer *time.Timer
	fired atomic.Bool
}

func (p *pendingAck) fire(reply *AckReply, err error, log func(string, ...any)) {
	if !p.fired.CompareAndSwap(false, true) {
		return
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	defer func() {
		if r := recover(); r != nil {
			log("ack callback panicked", "panic", r)
		}
	}()
	p.cb(reply, err)
}

// ackTable holds a socket's outbound acks by id. Ids come from a counter of
// the namespace (as in the Node server), so a broadcast with ack can use
// one id for every receiver.
type ackTable struct {
	mu      sync.Mutex
	pending map[uint64]*pendingAck
	closed  bool
}

// register stores cb under id; with timeout > 0 the callback gets
// ErrAckTimeout when the client does not answer in time. ok is false when
// the socket is already gone (cb has then been called with
// ErrAckDisconnected) or id is already pending (cb is not called).
func (t *ackTable) register(id uint64, cb func([][]byte, error), timeout time.Duration, log func(string, ...any)) bool {
	return t.registerReply(id, func(r *AckReply, err error) {
		var args [][]byte
		if r != nil {
			args = r.Args
		}
		cb(args, err)
	}, timeout, log)
}

// registerReply is register for a callback that takes the whole reply,
// attachments included.
func (t *ackTable) registerReply(id uint64, cb func(*AckReply, error), timeout time.Duration, log func(string, ...any)) bool {
	p := &pendingAck{cb: cb}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		p.fire(nil, ErrAckDisconnected, log)
		return false
	}
	if _, dup := t.pending[id]; dup {
		t.mu.Unlock()
		return false
	}
	if t.pending == nil {
		t.pending = map[uint64]*pendingAck{}
	}
	t.pending[id] = p
	if timeout > 0 {
		p.timer = time.AfterFunc(timeout, func() {
			if t.take(id) != nil {
				p.fire(nil, ErrAckTimeout, log)
			}
		})
	}
	t.mu.Unlock()
	return true
}

func (t *ackTable) take(id uint64) *pendingAck {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pending[id]
	delete(t.pending, id)
	return p
}

// resolve delivers the client's answer; false means no such pending ack.
func (t *ackTable) resolve(id uint64, reply *AckReply, log func(string, ...any)) bool {
	p := t.take(id)
	if p == nil {
		return false
	}
	p.fire(reply, nil, log)
	return true
}

// cancel drops a pending ack whose packet could not be queued.
func (t *ackTable) cancel(id uint64, err error, log func(string, ...any)) {
	if p := t.take(id); p != nil {
		p.fire(nil, err, log)
	}
}

// failAll fails every pending ack (the socket disconnected) and refuses new
// ones.
func (t *ackTable) failAll(err error, log func(string, ...any)) {
	t.mu.Lock()
	pending := t.pending
	t.pending = nil
	t.closed = true
	t.mu.Unlock()
	for _, p := range pending {
		p.fire(nil, err, log)
	}
}

// Ack answers the client's callback for this event with args (raw JSON,
// or text that is sent as a JSON string). Only the first Ack of an event,
// across all its listeners, is sent; later calls return ErrAckAlreadySent.
//
// Placeholders of the event's binary attachments in args (as ep.Args
// holds them) stand for those attachments, which go with the answer as
// Buffers: ep.Ack(ep.Args...) echoes a binary event as the client sent
// it, as a Node listener calling back with its arguments does.
func (ep *EventPayload) Ack(args ...[]byte) error {
	if !ep.HasAck {
		return ErrAckNotRequested
	}
	// Everything read from ep is read before ackSent is set: with
	// ReuseEventPayloads the reader recycles an answered payload as soon
	// as its listeners have returned, maybe while an Ack from another
	// goroutine is still running.
	kws, id, attachments := ep.Kws, ep.AckID, ep.Attachments
	inline := ep.fromReader && !ep.dispatched.Load()
	if kws == nil || !kws.IsAlive() {
		return ErrorInvalidConnection
	}
	if len(attachments) > 0 {
		if pkt, used, ok := appendBinaryAck(nil, kws.nsp.name, id, args, attachments); ok {
			if max := kws.sess.cfg.MaxAttachments; len(used) > max {
				return fmt.Errorf("%w: %d attachments, %d allowed", ErrTooManyAttachments, len(used), max)
			}
			if !ep.ackSent.CompareAndSwap(false, true) {
				return ErrAckAlreadySent
			}
			return kws.sendBinary(pkt, used)
		}
	}
	if !ep.ackSent.CompareAndSwap(false, true) {
		return ErrAckAlreadySent
	}
	if inline {
		// Written at once by this reader: built in a pooled buffer,
		// which session.sendInline copies if it must stay queued.
		bp := ackBuffers.Get().(*[]byte)
		pkt := appendAck((*bp)[:0], kws.nsp.name, id, args)
		err := kws.sendInline(pkt)
		if cap(pkt) <= maxPooledAck {
			*bp = pkt[:0]
			ackBuffers.Put(bp)
		}
		return err
	}
	return kws.send(appendAck(nil, kws.nsp.name, id, args))
}

// ackBuffers are the buffers acks written inline are built in; one
// larger than maxPooledAck is left to the garbage collector.
var ackBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

const maxPooledAck = 64 << 10
