package socketio

import "time"

// A full send queue is an overflow only when its connection does not keep
// up. A listener that emits a few hundred packets in a loop fills the
// queue before the worker has had a chance to run, and the client reads
// them as fast as they come: the Node server, which has no bound, would
// deliver them all, and so must this one. So a producer the full queue
// refuses waits for the connection to take what is queued, and pushes
// again; the overflow rule (DropFramesOnOverflow) applies only when the
// connection has been stalled for overflowGrace: a WebSocket write has
// been waiting for the peer that long (its socket buffer is full: the
// client does not read), or, on polling, no GET has come for that long
// since the last one ended. A producer also waits at most overflowGrace
// in all, whatever the reason the queue is not taken.
//
// One window takes packets past the bound: a polling session's upgrade
// to WebSocket while a POST's packets are handed to their listeners. The
// client switches transports only once that POST is answered, and takes
// nothing until then, so a listener emitting there would wait in vain;
// the window ends when its listeners return.
//
// Past overflowGrace, a stalled connection does not overflow yet: what is
// pushed goes past the bound, up to MaxStalledBytes, until the connection
// takes its queue back within the bound. A client that pauses (a browser
// tab busy for a second, a network hiccup) so loses nothing, as with the
// Node server, which buffers without a bound; one that stopped for good
// is closed by the heartbeat, or by the overflow rule once it holds
// MaxStalledBytes. The producers then wait no more: a broadcast is not
// held up by one slow receiver.
//
// Producers waiting on several stalled connections (a broadcast to many
// clients that stopped reading) wait about overflowGrace once, not once
// per connection: each deadline counts from when that connection stalled,
// so those of connections that stalled together pass together.
const overflowGrace = 250 * time.Millisecond

// monoBase is the origin of monoAt.
var monoBase = time.Now()

// monoAt returns t as nanoseconds on the monotonic clock since the
// process started; never zero, so zero can mean "not set".
func monoAt(t time.Time) int64 { return int64(t.Sub(monoBase)) + 1 }

// pushOrWait returns the error of push, which the queue refused as full
// (errQueueFull) for need packets, after waiting for room and pushing
// again as long as the connection keeps up (see overflowGrace). It is
// errQueueFull, so the overflow rule applies, once the connection has
// stalled for overflowGrace or the wait has lasted that long.
func (s *session) pushOrWait(need int, push func() error) error {
	deadline := monoAt(time.Now()) + int64(overflowGrace)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if s.upgrading.Load() && s.posting.Load() {
			// The client completes its upgrade only once the POST
			// whose listener may be this producer is answered, and
			// nothing is taken meanwhile: no wait can make room.
			return s.q.pushBeyond(push)
		}
		space := s.q.spaceFor(need)
		if space == nil {
			return errQueueFull
		}
		if space != closedSignal {
			until := deadline
			if since := s.stalledSince(); since != 0 {
				until = min(until, since+int64(overflowGrace))
			}
			left := time.Duration(until - monoAt(time.Now()))
			if left <= 0 {
				return s.spillOrFull(push)
			}
			if timer == nil {
				timer = time.NewTimer(left)
			} else {
				timer.Reset(left)
			}
			select {
			case <-space:
			case <-timer.C:
			case <-s.closeReq:
				// Ending for another reason: not an overflow.
				return ErrSendQueueClosed
			}
		}
		if err := push(); err != errQueueFull {
			return err
		}
	}
}

// spillOrFull pushes past the queue's bound what MaxStalledBytes lets a
// stalled connection have queued there, and returns errQueueFull beyond
// (the overflow rule then applies).
func (s *session) spillOrFull(push func() error) error {
	if !s.q.openSpill(s.cfg.MaxStalledBytes) {
		return errQueueFull
	}
	return push()
}

// stalledSince returns when (monoAt) the session's connection stopped
// taking packets, or zero while it takes them: the WebSocket's write in
// progress began waiting for the peer, or, on polling with no GET
// waiting, the last GET ended.
func (s *session) stalledSince() int64 {
	if s.transport.Load() == onWebSocket {
		if ws := s.ws.Load(); ws != nil {
			return ws.blockedSince.Load()
		}
		return 0
	}
	if s.getActive.Load() {
		return 0
	}
	return s.pollIdleSince.Load()
}
