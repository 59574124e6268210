package socketio

import (
	"sync"
	"sync/atomic"
	"time"
)

// A broadcast burst: broadcasts to many sockets, back to back.
//
// Each session's worker writes what its queue holds in one write per
// wake-up. A broadcast to a few thousand sockets is fast enough that the
// workers find several packets queued by the time they run. With ten
// thousand receivers it is not: the broadcasting goroutine is preempted
// part-way through one pass and waits behind thousands of woken workers,
// each of which writes the single packet it has, so every packet costs a
// wake-up and a system call. During a burst a worker whose queue holds
// only broadcast packets therefore waits for the burst to end (or for a
// packet of its own, such as an ack or a PING), and the broadcaster's
// further packets to it do not wake it: it then writes the whole burst at
// once.
//
// The wait is bounded: a burst ends burstQuiet after the last broadcast of
// it finished, and at most burstMax after it began, and a worker whose
// queue reaches burstMaxPackets (or half its limit, when that is smaller,
// so the bound is never reached while waiting) writes them without
// waiting. Broadcasts to
// a thousand sockets or more with less than burstQuiet between them keep
// the server saturated (over a million deliveries a second), when the
// backlog, not the wait, decides how late a packet arrives; writing it in
// fewer, larger writes makes it arrive sooner.
const (
	// burstMinReceivers is the smallest broadcast that starts or extends
	// a burst; smaller ones are written as they come.
	burstMinReceivers = 1000
	burstQuiet        = time.Millisecond
	burstMax          = 250 * time.Millisecond
	burstMaxPackets   = 32
)

// burst tracks the broadcast bursts of one server.
type burst struct {
	mu     sync.Mutex
	active int       // broadcasts of the burst in progress
	start  time.Time // when the burst began
	last   time.Time // when its last broadcast finished
	timer  *time.Timer
	// cur is closed when the burst ends; nil between bursts.
	cur atomic.Pointer[chan struct{}]
}

// begin marks the start of a broadcast to burstMinReceivers or more.
func (b *burst) begin() {
	b.mu.Lock()
	b.active++
	if b.cur.Load() == nil {
		ch := make(chan struct{})
		b.cur.Store(&ch)
		b.start = time.Now()
		if b.timer == nil {
			b.timer = time.AfterFunc(burstQuiet, b.check)
		} else {
			b.timer.Reset(burstQuiet)
		}
	}
	b.mu.Unlock()
}

// end marks the end of a broadcast that called begin.
func (b *burst) end() {
	b.mu.Lock()
	b.active--
	b.last = time.Now()
	b.mu.Unlock()
}

// check ends the burst when it has been quiet for burstQuiet or has lasted
// burstMax, and otherwise looks again when one of them may be reached.
func (b *burst) check() {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := b.cur.Load()
	if ch == nil {
		return
	}
	now := time.Now()
	left := burstMax - now.Sub(b.start)
	if b.active == 0 {
		if quiet := burstQuiet - now.Sub(b.last); quiet < left {
			left = quiet
		}
	} else if burstQuiet < left {
		left = burstQuiet
	}
	if left <= 0 {
		b.cur.Store(nil)
		close(*ch)
		return
	}
	b.timer.Reset(left)
}

// current returns the channel closed at the end of the burst in progress,
// or nil when there is none.
func (b *burst) current() <-chan struct{} {
	if ch := b.cur.Load(); ch != nil {
		return *ch
	}
	return nil
}
