package socketio

import "sync"

// logEntry is one stored EVENT: its offset, its encoded text and binary
// attachments (shared, never modified), and whether it was emitted with
// Compress(false), which its replay keeps.
type logEntry struct {
	off   uint64
	text  []byte
	atts  [][]byte
	size  int
	plain bool
}

// recoveryLog is a socket's recovery buffer: a ring of the stored EVENTs
// it was sent, in the order they were queued, bounded by count and bytes.
//
// While attached to a session, push appends and queues under one lock, so
// the ring's order is the queue's order (offsets come from a shared
// counter and need not be increasing) and the oldest entries are evicted
// beyond the bounds. Detached (the connection was lost), push only
// appends; beyond the bounds the log breaks: it is emptied and can no
// longer be recovered, rather than recovering with a gap.
type recoveryLog struct {
	mu         sync.Mutex
	maxPackets int
	maxBytes   int

	ring  []logEntry // circular, grown up to maxPackets
	head  int
	n     int
	bytes int
	// evicted is set once entries left the front; lastEvicted is the
	// offset of the latest of them (a client whose offset it is has every
	// retained entry still to receive).
	evicted     bool
	lastEvicted uint64

	sess    *session // attached session; nil when detached
	gen     uint64   // bumped on every detach and attach
	claimed bool     // a restore took it; expiry no longer applies
	broken  bool
}

func newRecoveryLog(rec *RecoveryConfig) *recoveryLog {
	return &recoveryLog{maxPackets: rec.MaxPackets, maxBytes: rec.MaxBytes}
}

func entrySize(text []byte, atts [][]byte) int {
	n := len(text)
	for _, a := range atts {
		n += len(a)
	}
	return n
}

// push stores a packet and, when attached, queues it (plain: emitted with
// Compress(false)). It returns the queue's error (ErrSendQueueOverflow
// drops the packet from the log too, as it was never sent), or
// ErrSendQueueClosed for a broken log.
func (l *recoveryLog) push(off uint64, text []byte, atts [][]byte, plain bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken {
		return ErrSendQueueClosed
	}
	stored := l.store(off, text, atts, plain)
	if l.sess == nil {
		if l.broken {
			return ErrSendQueueClosed
		}
		return nil
	}
	err := l.sess.sendAll(text, atts, plain)
	if err == ErrSendQueueOverflow && stored {
		l.dropLast()
	}
	return err
}

// keep stores a packet without queueing it (a restored adapter's Missed).
func (l *recoveryLog) keep(off uint64, text []byte, atts [][]byte) {
	l.mu.Lock()
	if !l.broken {
		l.store(off, text, atts, false)
	}
	l.mu.Unlock()
}

// store appends an entry, evicting (attached) or breaking (detached) to
// stay within the bounds; it reports whether the entry was stored. Called
// with l.mu held.
func (l *recoveryLog) store(off uint64, text []byte, atts [][]byte, plain bool) bool {
	size := entrySize(text, atts)
	for l.n > 0 && (l.n >= l.maxPackets || l.bytes+size > l.maxBytes) {
		if l.sess == nil {
			l.breakLocked()
			return false
		}
		l.popFront()
	}
	if size > l.maxBytes || l.maxPackets <= 0 {
		if l.sess == nil {
			l.breakLocked()
			return false
		}
		// Too large to keep: sent, but a client that misses it cannot
		// recover past it.
		l.evicted, l.lastEvicted = true, off
		return false
	}
	if l.n == len(l.ring) {
		l.grow()
	}
	l.ring[(l.head+l.n)%len(l.ring)] = logEntry{off: off, text: text, atts: atts, size: size, plain: plain}
	l.n++
	l.bytes += size
	return true
}

func (l *recoveryLog) grow() {
	size := 2 * len(l.ring)
	if size < 8 {
		size = 8
	}
	if size > l.maxPackets {
		size = l.maxPackets
	}
	ring := make([]logEntry, size)
	for i := 0; i < l.n; i++ {
		ring[i] = l.ring[(l.head+i)%len(l.ring)]
	}
	l.ring, l.head = ring, 0
}

func (l *recoveryLog) popFront() {
	e := &l.ring[l.head]
	l.evicted, l.lastEvicted = true, e.off
	l.bytes -= e.size
	*e = logEntry{}
	l.head = (l.head + 1) % len(l.ring)
	l.n--
}

func (l *recoveryLog) dropLast() {
	i := (l.head + l.n - 1) % len(l.ring)
	l.bytes -= l.ring[i].size
	l.ring[i] = logEntry{}
	l.n--
}

func (l *recoveryLog) breakLocked() {
	l.broken = true
	l.ring, l.head, l.n, l.bytes = nil, 0, 0, 0
}

// detach marks the connection lost and returns the generation the expiry
// timer must match.
func (l *recoveryLog) detach() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sess = nil
	l.claimed = false
	l.gen++
	return l.gen
}

// expire breaks the log when it is still the detached one of generation
// gen; it reports false when a restore claimed it (the restore then owns
// the log's index entry).
func (l *recoveryLog) expire(gen uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.claimed {
		return false
	}
	if l.gen == gen && l.sess == nil {
		l.breakLocked()
	}
	return true
}

// discard breaks the log: the socket disconnected for good.
func (l *recoveryLog) discard() {
	l.mu.Lock()
	l.sess = nil
	l.gen++
	l.breakLocked()
	l.mu.Unlock()
}

// claim checks that a client whose last received offset is offset ("" for
// none) can resume from the log without a gap, and drops the entries it
// has received. Entries pushed afterwards are kept for attach.
func (l *recoveryLog) claim(offset string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken {
		return ErrRecoveryBufferOverflow
	}
	if l.sess != nil {
		return ErrSessionNotFound
	}
	start := 0
	if offset == "" {
		if l.evicted {
			return ErrRecoveryOffsetUnknown
		}
	} else {
		off, ok := parseOffset(offset)
		if !ok {
			return ErrRecoveryOffsetUnknown
		}
		if !l.evicted || off != l.lastEvicted {
			i := l.find(off)
			if i < 0 {
				return ErrRecoveryOffsetUnknown
			}
			start = i + 1
		}
	}
	for ; start > 0; start-- {
		l.popFront()
	}
	l.claimed = true
	return nil
}

// find returns the ring position of offset off, -1 when absent.
func (l *recoveryLog) find(off uint64) int {
	for i := l.n - 1; i >= 0; i-- {
		if l.ring[(l.head+i)%len(l.ring)].off == off {
			return i
		}
	}
	return -1
}

// attach makes s the log's session: it queues connect (the CONNECT reply),
// then every entry, in order, outside the queue's bound (the log's own
// bounds hold them). It fails when the log broke meanwhile.
func (l *recoveryLog) attach(s *session, connect []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken {
		return ErrRecoveryBufferOverflow
	}
	if s.closed() {
		return ErrSendQueueClosed
	}
	s.q.pushTail(outPacket{data: connect})
	replayed := 0
	for i := 0; i < l.n; i++ {
		e := &l.ring[(l.head+i)%len(l.ring)]
		s.q.pushTail(outPacket{data: e.text, plain: e.plain})
		for _, a := range e.atts {
			s.q.pushTail(outPacket{data: a, binary: true, plain: e.plain})
		}
		replayed += 1 + len(e.atts)
	}
	if replayed > 0 {
		// The replay went in beyond the queue's bound; raise the bound by
		// as much until it is taken, or the next emit would find the queue
		// full and end the session (which would replay again, and again).
		limit := s.cfg.PollQueueMaxFrames
		if s.transport.Load() == onWebSocket {
			limit = s.cfg.SendQueueSize
		}
		s.q.setLimit(limit + replayed)
		s.q.setLimit(limit) // back to the bound once the replay is taken
	}
	l.sess = s
	l.claimed = false
	l.gen++
	return nil
}

// snapshot copies the entries as EncodedPackets with their offsets.
func (l *recoveryLog) snapshot() []*EncodedPacket {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*EncodedPacket, 0, l.n)
	for i := 0; i < l.n; i++ {
		e := l.ring[(l.head+i)%len(l.ring)]
		out = append(out, &EncodedPacket{Text: e.text, Attachments: e.atts, Offset: formatOffset(e.off), off: e.off})
	}
	return out
}

// len reports the number of entries (tests).
func (l *recoveryLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// isBroken reports whether the log can no longer be recovered (tests).
func (l *recoveryLog) isBroken() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.broken
}
