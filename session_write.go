package socketio

import (
	"bytes"
	"fmt"
)

// deliver writes what is queued to the WebSocket, or wakes the pending
// polling GET.
func (s *session) deliver() error {
	if s.transport.Load() == onWebSocket {
		ws := s.ws.Load()
		if ws == nil {
			return nil
		}
		if s.closed() && !s.graceful {
			return nil // dropped: finish closes the connection
		}
		s.writeMu.Lock()
		err := s.writeQueued(ws)
		s.writeMu.Unlock()
		return err
	}
	select {
	case s.pollWake <- struct{}{}:
	default:
	}
	return nil
}

// writeQueued takes what is queued and writes it to ws; s.writeMu is held.
func (s *session) writeQueued(ws *wsConn) error {
	_, err := s.writeItems(ws, s.q.take())
	return err
}

// writeItems writes items, taken from the queue, to ws and gives them
// back; queued is how many packets were queued meanwhile. s.writeMu is
// held.
func (s *session) writeItems(ws *wsConn, items []outPacket) (queued int, err error) {
	s.observeOut(items)
	err = ws.writePackets(s.wireItems(items), s.writeTimeout())
	queued = s.q.recycle(items)
	return queued, s.writeError(err)
}

// writeError is the session's error for the error of a WebSocket write.
func (s *session) writeError(err error) error {
	switch {
	case err == nil:
		return nil
	case isTimeout(err) && s.cfg.WriteTimeout <= 0:
		// The peer took no data for as long as the heartbeat gives it.
		return ErrHeartbeatTimeout
	default:
		return fmt.Errorf("%w: %v", ErrTransportClosed, err)
	}
}

// sendInline queues p and writes the queue from the calling goroutine, as
// flushInline does, with one lock of the queue for the push and the take.
// Only the session's reader calls it (an ack sent while its listener
// runs), so a slow peer blocks nothing but its own reader, within the
// write timeout. p.data is the caller's scratch buffer, no longer used
// once sendInline returns: it is copied when it stays queued.
func (s *session) sendInline(p outPacket) error {
	if s.transport.Load() != onWebSocket {
		p.data = bytes.Clone(p.data)
		return s.send(p)
	}
	ws := s.ws.Load()
	if ws == nil || s.closed() || !s.writeMu.TryLock() {
		p.data = bytes.Clone(p.data)
		if err := s.q.pushQuiet(p); err != nil {
			if err == errQueueFull {
				return s.send(p) // waits for room (see pushOrWait)
			}
			return s.queued(err)
		}
		s.q.wake()
		return nil
	}
	if s.q.takeDirect() {
		// Nothing is queued, so nothing may go before p: it is written
		// without going through the queue.
		one := [1]outPacket{p}
		s.observeOut(one[:])
		err := ws.writePackets(s.wireItems(one[:]), s.writeTimeout())
		s.wroteInline(0, s.writeError(err))
		return nil
	}
	items, err := s.q.pushTake(p)
	if err != nil {
		s.writeMu.Unlock()
		if err == errQueueFull {
			p.data = bytes.Clone(p.data)
			return s.send(p) // waits for room (see pushOrWait)
		}
		return s.queued(err)
	}
	s.wroteInline(s.writeItems(ws, items))
	return nil
}

// wroteInline ends an inline write: it releases s.writeMu, closes the
// session on a write error, and wakes the worker for the packets queued
// meanwhile (their pushes woke it already; this guards against a wake-up
// lost between the two, or a hold).
func (s *session) wroteInline(queued int, err error) {
	s.writeMu.Unlock()
	if err != nil {
		s.close(err, false)
	}
	if queued > 0 {
		s.q.wake()
	}
}

// flushInline writes what is queued from the calling goroutine when the
// session is on WebSocket and no write is in progress, instead of waking
// the worker: the hand-off to the worker (and, for an idle connection, a
// goroutine start) costs about a tenth of an ack round trip. Otherwise,
// or for what it could not take, it wakes the worker as a push does.
func (s *session) flushInline() {
	if s.transport.Load() != onWebSocket {
		s.q.wake()
		return
	}
	ws := s.ws.Load()
	if ws == nil || s.closed() || !s.writeMu.TryLock() {
		s.q.wake()
		return
	}
	s.wroteInline(s.writeItems(ws, s.q.take()))
}
