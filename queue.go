package socketio

import (
	"bytes"
	"sync"
	"sync/atomic"
)

// outPacket is one Engine.IO packet waiting to be written: text packets
// carry their type digit ("42[...]"), binary packets their raw bytes. data is
// never modified after it is queued, so one broadcast buffer is shared by
// every receiver's queue.
type outPacket struct {
	data   []byte
	binary bool
	// ctrl, when not zero, is a WebSocket control opcode (a PONG answering
	// the client's PING); polling skips such packets.
	ctrl byte
	// plain marks a packet emitted with Compress(false): it is never sent
	// in a compressed WebSocket frame, and a polling response made of
	// such packets only is not compressed.
	plain bool
	// framed marks data that is a whole compressed WebSocket frame, its
	// header included: a broadcast packet compressed once for every
	// receiver that takes it compressed (see Websocket.deliver). Only a
	// session on WebSocket queues one.
	framed bool
	// parsed marks a packet the server's Parser encoded already (a
	// broadcast, encoded once for every receiver; see wireItems).
	parsed bool
}

// sendQueue is a connection's bounded send queue. Producers (emits from any
// goroutine) append under a mutex; the consumer takes everything queued in
// one swap, so a burst costs one wake-up and one write, not one per packet.
type sendQueue struct {
	// What a push, a take and takeDirect touch comes first, in one
	// cache line (see session).
	mu    sync.Mutex
	items []outPacket
	limit int
	// held, while above zero, keeps take and takeUpTo from handing out
	// anything: a namespace CONNECT reply is queued, then the socket is
	// indexed, and only then can the client read the reply.
	held int
	// takes counts the takes that returned packets: the writes of a
	// session on WebSocket (session.busy). Counted here, under the lock
	// the take holds anyway, rather than with an atomic add per write.
	takes  uint64
	closed bool
	// lingering is set while the consumer waits for the burst to end
	// (see burst.go), when further broadcast packets do not wake it.
	lingering bool

	// deflateMin is the session's WebSocket's deflateMin once the session
	// is on it (0 before, and on polling). Broadcasts read it for every
	// receiver: here it shares a cache line with what a broadcast's push
	// touches anyway (direct, burst), where reading the connection's
	// would cost a cache miss per receiver.
	deflateMin atomic.Int64
	// direct counts the packets queued since the last take that are not
	// broadcasts (acks, emits to this socket, control packets); burst is
	// the server's burst state when a broadcast packet was queued.
	direct int
	burst  *burst
	spare  []outPacket
	// nextLimit, when not zero, replaces limit at the next take.
	nextLimit int
	// notify holds at most one pending wake-up for the consumer; owner,
	// when set, is kicked instead to wake it (a session's worker runs
	// only while it has work, see session.kick). An interface holding
	// the session, not a method value: that would be an allocation per
	// session.
	notify chan struct{}
	owner  interface{ kick() }
	// space, when not nil, is closed at the next take (or close): a
	// producer the full queue refused waits on it (see spaceFor).
	space chan struct{}
	// beyond, while above zero, lets pushes past the limit (see
	// pushBeyond).
	beyond int
	// spilling is set once the connection stalled past overflowGrace
	// (see openSpill), and spill is how many more bytes may then be
	// queued past the limit; a take that leaves the queue within its
	// limit ends it.
	spilling bool
	spill    int
}

// admits reports whether n more packets, data and more, may be queued:
// within the limit, in a pushBeyond window, or in what is left of the
// spill, which they then use. q.mu is held.
func (q *sendQueue) admits(n int, data []byte, more [][]byte) bool {
	if len(q.items)+n <= q.limit || q.beyond > 0 {
		return true
	}
	if q.spill <= 0 {
		return false
	}
	size := len(data)
	for _, m := range more {
		size += len(m)
	}
	if size > q.spill {
		return false
	}
	q.spill -= size
	return true
}

// openSpill lets up to bytes more be queued past the limit until the
// queue is taken back within it (see MaxStalledBytes); once per stall. It
// reports whether any of it is left.
func (q *sendQueue) openSpill(bytes int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.spilling && bytes > 0 {
		q.spilling, q.spill = true, bytes
	}
	return q.spill > 0
}

// endSpill ends the spill once the queue is within its limit. q.mu is
// held.
func (q *sendQueue) endSpill() {
	if q.spilling && len(q.items) <= q.limit {
		q.spilling, q.spill = false, 0
	}
}

// pushBeyond runs push with the limit lifted, for a packet that no wait
// can make room for (see pushOrWait).
func (q *sendQueue) pushBeyond(push func() error) error {
	q.mu.Lock()
	q.beyond++
	q.mu.Unlock()
	err := push()
	q.mu.Lock()
	q.beyond--
	q.mu.Unlock()
	return err
}

// errQueueFull is the internal signal that push refused a packet because the
// queue is at its limit.
var errQueueFull = ErrSendQueueOverflow

func newSendQueue(limit int) *sendQueue {
	return &sendQueue{limit: limit, notify: make(chan struct{}, 1)}
}

// push appends p. It returns ErrSendQueueClosed after close and errQueueFull
// when the queue holds limit packets already.
func (q *sendQueue) push(p outPacket) error { return q.pushShared(p, nil) }

// pushQuiet is push without waking the consumer: the caller writes the
// queue itself or wakes it (session.sendInline).
func (q *sendQueue) pushQuiet(p outPacket) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrSendQueueClosed
	}
	if !q.admits(1, p.data, nil) {
		return errQueueFull
	}
	q.items = append(q.items, p)
	q.direct++
	return nil
}

// pushShared is push for a packet of a broadcast when b is not nil (b is
// the server's burst state).
func (q *sendQueue) pushShared(p outPacket, b *burst) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrSendQueueClosed
	}
	if !q.admits(1, p.data, nil) {
		q.mu.Unlock()
		return errQueueFull
	}
	q.items = append(q.items, p)
	quiet := q.count(b)
	q.mu.Unlock()
	if !quiet {
		q.wake()
	}
	return nil
}

// count records a packet just queued, direct when b is nil, and reports
// whether the consumer need not be woken for it: any packet while a hold
// keeps the consumer from taking it (release wakes it, or its caller
// writes the queue), and a broadcast packet while the consumer waits for
// the burst to end. q.mu is held.
//
// A wake-up under a hold would start a worker for nothing on every
// handshake: the CONNECT reply is queued under one (client.joinFrom).
func (q *sendQueue) count(b *burst) bool {
	if b == nil {
		q.direct++
		return q.held > 0
	}
	if q.held > 0 {
		q.burst = b
		return true
	}
	q.burst = b
	return q.lingering && len(q.items) < q.lingerMax()
}

// lingerMax is how many packets a lingering consumer lets accumulate:
// burstMaxPackets, or half the limit when that is smaller, so a small
// SendQueueSize is drained before it overflows. q.mu is held.
func (q *sendQueue) lingerMax() int {
	return min(burstMaxPackets, max(q.limit/2, 1))
}

// pushAll appends a text packet and its binary attachments, all of them or
// none: errQueueFull when they do not all fit under the limit. b is as for
// pushShared.
func (q *sendQueue) pushAll(text outPacket, attachments [][]byte, b *burst) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrSendQueueClosed
	}
	if !q.admits(1+len(attachments), text.data, attachments) {
		q.mu.Unlock()
		return errQueueFull
	}
	q.items = append(q.items, text)
	for _, a := range attachments {
		q.items = append(q.items, outPacket{data: a, binary: true, plain: text.plain})
	}
	quiet := q.count(b)
	q.mu.Unlock()
	if !quiet {
		q.wake()
	}
	return nil
}

// pushControl queues a control packet (PING, NOOP, CLOSE) ahead of the
// application's packets and outside the limit, so heartbeats are never
// starved or refused because of application traffic.
func (q *sendQueue) pushControl(p outPacket) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.items = append(q.items, outPacket{})
	copy(q.items[1:], q.items)
	q.items[0] = p
	q.direct++
	q.mu.Unlock()
	q.wake()
}

// pushTail queues a packet after everything already queued, outside the
// limit (the closing packets).
func (q *sendQueue) pushTail(p outPacket) {
	q.mu.Lock()
	if !q.closed {
		q.items = append(q.items, p)
		q.direct++
	}
	q.mu.Unlock()
	q.wake()
}

func (q *sendQueue) wake() {
	if q.owner != nil {
		q.owner.kick()
		return
	}
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// take returns everything queued; the caller hands the slice back with
// recycle once written, so a steady connection allocates no queue memory.
func (q *sendQueue) take() []outPacket {
	q.mu.Lock()
	items := q.takeLocked()
	q.mu.Unlock()
	return items
}

// pushTake is pushQuiet then take under one lock, for a caller that
// writes the queue at once (session.sendInline). When a hold keeps the
// queue, a copy of p stays queued (p.data is the caller's scratch buffer)
// and no packet is returned.
func (q *sendQueue) pushTake(p outPacket) ([]outPacket, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, ErrSendQueueClosed
	}
	if !q.admits(1, p.data, nil) {
		return nil, errQueueFull
	}
	if q.held > 0 {
		p.data = bytes.Clone(p.data)
	}
	q.items = append(q.items, p)
	q.direct++
	return q.takeLocked(), nil
}

// takeDirect reports whether a packet may be written without being
// queued, by a caller that holds the session's writeMu (nobody else can
// take meanwhile): the queue is empty, open and not held. It counts the
// write as a take.
func (q *sendQueue) takeDirect() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) > 0 || q.held > 0 || q.closed || q.limit <= 0 {
		return false
	}
	q.takes++
	return true
}

// takeLocked is take; q.mu is held.
func (q *sendQueue) takeLocked() []outPacket {
	q.lingering = false
	if q.held > 0 && !q.closed {
		return nil
	}
	items := q.items
	q.items = q.spare[:0]
	q.spare = nil
	q.direct, q.burst = 0, nil
	if q.nextLimit > 0 {
		q.limit, q.nextLimit = q.nextLimit, 0
	}
	if len(items) > 0 {
		q.takes++
		q.signalSpace()
		q.endSpill()
	}
	return items
}

// signalSpace wakes the producers waiting for room. q.mu is held.
func (q *sendQueue) signalSpace() {
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
}

// spaceFor is for a producer that the full queue refused need packets:
// it returns a channel closed once the queue may have room for them
// (already closed when it has, or is closed), or nil when waiting is
// pointless: a hold keeps the consumer from taking (and the holder may be
// the producer), or nothing consumes the queue (no owner).
func (q *sendQueue) spaceFor(need int) <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed || len(q.items)+need <= q.limit:
		return closedSignal
	case q.held > 0 || q.owner == nil:
		return nil
	}
	if q.space == nil {
		q.space = make(chan struct{})
	}
	return q.space
}

// closedSignal is a channel that is always closed.
var closedSignal = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// taken reports how many takes returned packets so far (session.busy).
func (q *sendQueue) taken() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.takes
}

// takeUpTo returns queued packets whose total size stays within maxBytes
// (at least one packet), leaving the rest queued.
func (q *sendQueue) takeUpTo(maxBytes int) []outPacket {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.held > 0 && !q.closed {
		return nil
	}
	n, size := 0, 0
	for n < len(q.items) {
		size += len(q.items[n].data) + 1
		if n > 0 && size > maxBytes {
			break
		}
		n++
	}
	// A packet's attachments go with it (a Parser encodes them together).
	for n < len(q.items) && q.items[n].binary {
		n++
	}
	out := make([]outPacket, n)
	copy(out, q.items[:n])
	rest := copy(q.items, q.items[n:])
	clear(q.items[rest:])
	q.items = q.items[:rest]
	if rest == 0 {
		q.direct, q.burst = 0, nil
	}
	if n > 0 {
		q.signalSpace()
	}
	if q.nextLimit > 0 && rest < q.nextLimit {
		q.limit, q.nextLimit = q.nextLimit, 0
	}
	q.endSpill()
	return out
}

// linger returns the channel closed at the end of the broadcast burst in
// progress when the queue holds broadcast packets only, and from then on
// further broadcast packets do not wake the consumer until its next take;
// nil when the consumer should write now (see burst.go).
func (q *sendQueue) linger() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.direct > 0 || q.burst == nil || len(q.items) == 0 || len(q.items) >= q.lingerMax() ||
		q.held > 0 || q.closed {
		return nil
	}
	end := q.burst.current()
	q.lingering = end != nil
	return end
}

// hold keeps the consumer from taking packets until the matching release.
func (q *sendQueue) hold() {
	q.mu.Lock()
	q.held++
	q.mu.Unlock()
}

// release ends a hold and wakes the consumer for what was queued meanwhile.
func (q *sendQueue) release() {
	q.releaseQuiet()
	q.wake()
}

// releaseQuiet is release without the wake-up: the caller writes the queue
// itself or wakes the consumer (session.flushInline).
func (q *sendQueue) releaseQuiet() {
	q.mu.Lock()
	q.held--
	q.mu.Unlock()
}

// recycle gives a taken slice back for reuse, and reports how many
// packets are queued now (one lock for both: the writer that took them
// wakes the consumer for what was queued meanwhile).
func (q *sendQueue) recycle(items []outPacket) (queued int) {
	clear(items)
	q.mu.Lock()
	if q.spare == nil && cap(items) <= 4096 {
		q.spare = items[:0]
	}
	queued = len(q.items)
	q.mu.Unlock()
	return queued
}

// ready reports whether the consumer may take packets now: some are
// queued and no hold keeps them.
func (q *sendQueue) ready() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) > 0 && (q.held == 0 || q.closed)
}

// len reports how many packets are queued.
func (q *sendQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// close refuses further pushes; queued packets stay for a final flush.
func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.signalSpace()
	q.mu.Unlock()
	q.wake()
}

// setLimit changes the bound. A higher bound applies at once; a lower one
// from the next take on, so packets queued under the old bound are written
// first and a backlog that was within it never counts as an overflow of the
// new one (the transport changed, or a replay went past the bound).
func (q *sendQueue) setLimit(limit int) {
	q.mu.Lock()
	if limit >= q.limit {
		q.limit, q.nextLimit = limit, 0
		q.signalSpace()
	} else {
		q.nextLimit = limit
	}
	q.mu.Unlock()
}

// bound reports the current limit.
func (q *sendQueue) bound() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.limit
}
