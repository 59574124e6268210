package socketio

import "time"

// untilNextBeat is how long the heartbeat timer waits from now: to the
// next heartbeat or the CONNECT deadline, whichever comes first. hbMu is
// held.
func (s *session) untilNextBeat(now time.Time) time.Duration {
	d := s.beatAt
	if !s.handshakeBy.IsZero() && s.handshakeBy.Before(d) {
		d = s.handshakeBy
	}
	return d.Sub(now)
}

// heartbeat is the heartbeat timer's callback. One timer serves the PINGs,
// the PONG deadline and the handshake timeout; it is armed for whichever
// comes first.
func (s *session) heartbeat() {
	s.hbMu.Lock()
	defer s.hbMu.Unlock()
	if s.closed() {
		return
	}
	now := time.Now()
	if !s.handshakeBy.IsZero() && !now.Before(s.handshakeBy) {
		s.handshakeBy = time.Time{}
		if c, ok := s.handler.(interface{ connected() bool }); ok && !c.connected() {
			s.close(ErrHandshakeTimeout, false)
			return
		}
	}
	if !now.Before(s.beatAt) {
		switch {
		case s.eio3 && !s.seen.Load():
			// No PING, nor any other packet, for PingInterval plus
			// PingTimeout (the v3 client's own deadline for a PONG).
			s.close(ErrHeartbeatTimeout, false)
			return
		case s.eio3:
			s.seen.Store(false)
			s.beatAt = now.Add(s.cfg.PingInterval + s.cfg.PingTimeout)
		case !s.awaitingPong:
			s.seen.Store(false)
			s.q.pushControl(outPacket{data: pingPacket})
			s.awaitingPong = true
			s.beatAt = now.Add(s.cfg.PingTimeout)
		case !s.seen.Load():
			s.close(ErrHeartbeatTimeout, false)
			return
		default:
			// Other traffic proves the peer alive; ask again.
			s.awaitingPong = false
			s.beatAt = now
		}
	}
	s.hbTimer.Reset(s.untilNextBeat(now))
}

// pingReceived moves a v3 session's heartbeat deadline to PingInterval
// plus PingTimeout after the client's PING.
func (s *session) pingReceived() {
	s.hbMu.Lock()
	defer s.hbMu.Unlock()
	if s.hbTimer == nil {
		return
	}
	now := time.Now()
	s.seen.Store(false)
	s.beatAt = now.Add(s.cfg.PingInterval + s.cfg.PingTimeout)
	s.hbTimer.Reset(s.untilNextBeat(now))
}

// pongReceived schedules the next PING PingInterval after a PONG.
func (s *session) pongReceived() {
	s.hbMu.Lock()
	defer s.hbMu.Unlock()
	if s.hbTimer == nil {
		return
	}
	now := time.Now()
	s.awaitingPong = false
	s.beatAt = now.Add(s.cfg.PingInterval)
	s.hbTimer.Reset(s.untilNextBeat(now))
}
