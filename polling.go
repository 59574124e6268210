package socketio

import (
	"bytes"
	"errors"
	"time"

	"github.com/gofiber/fiber/v3"
)

// ErrOverlappingPost is the disconnect reason when a client sent a second
// polling POST while one was being processed.
var ErrOverlappingPost = errors.New("socketio: overlapping polling POST requests")

// pollGet answers a long-polling GET: it waits until packets are queued (or
// the session closes, upgrades, or MaxPollWait passes) and writes them as one
// payload, 0x1E separated.
func (s *session) pollGet(c fiber.Ctx) error {
	if !s.getActive.CompareAndSwap(false, true) {
		s.close(ErrDuplicatePoll, false)
		return s.eng.httpError(c, codeBadRequest, "reason", "overlapping GET", "sid", s.sid)
	}
	defer s.getActive.Store(false)
	wait := time.NewTimer(s.cfg.MaxPollWait)
	defer wait.Stop()
	closeReq := s.closeReq
	for {
		if s.closed() && !s.graceful {
			return s.endPoll(c)
		}
		if items := s.q.takeUpTo(s.cfg.PollingMaxBufferSize); len(items) > 0 {
			return writePayload(c, items, s.cfg.HTTPCompressionThreshold)
		}
		if s.upgrading.Load() || s.transport.Load() != onPolling {
			return writePayload(c, []outPacket{{data: noopPacket}}, noCompression)
		}
		select {
		case <-s.done:
			return s.endPoll(c)
		default:
		}
		select {
		case <-s.pollWake:
		case <-closeReq:
			// During a graceful close the worker wakes this GET for the
			// last packets; a closed channel must not make it spin.
			closeReq = nil
		case <-s.done:
		case <-wait.C:
			return writePayload(c, []outPacket{{data: noopPacket}}, noCompression)
		}
	}
}

// endPoll answers the GET pending when the session ended: a NOOP when the
// client asked for the close, a CLOSE packet otherwise.
func (s *session) endPoll(c fiber.Ctx) error {
	s.endLinger()
	if s.closeReason == errClientClose {
		return writePayload(c, []outPacket{{data: noopPacket}}, noCompression)
	}
	return writePayload(c, []outPacket{{data: closePacket}}, noCompression)
}

// writePayload writes packets as a polling payload, compressed when it
// reaches threshold (see sendPayload) and one of its packets may be
// compressed: as in the Node server, a response made only of packets
// emitted with Compress(false) is sent plain.
func writePayload(c fiber.Ctx, items []outPacket, threshold int) error {
	size := 0
	compress := false
	for _, p := range items {
		size += len(p.data)*4/3 + 4
		compress = compress || (p.ctrl == 0 && !p.plain)
	}
	if !compress {
		threshold = noCompression
	}
	body := make([]byte, 0, size)
	first := true
	for _, p := range items {
		if p.ctrl != 0 {
			continue
		}
		if !first {
			body = append(body, recordSeparator)
		}
		first = false
		if p.binary {
			body = appendPollingBinary(body, p.data)
		} else {
			body = append(body, p.data...)
		}
	}
	if first {
		body = append(body, noopPacket...)
	}
	return sendPayload(c, body, threshold)
}

// pollPost handles a polling POST: every packet of the payload is decoded
// and handled before the answer; a malformed packet closes the session and
// is answered with 400, a body over MaxPayload with 413.
func (s *session) pollPost(c fiber.Ctx) error {
	if !s.postMu.TryLock() {
		s.close(ErrOverlappingPost, false)
		return s.eng.httpError(c, codeBadRequest, "reason", "overlapping POST", "sid", s.sid)
	}
	defer s.postMu.Unlock()
	// The body as sent, as the Node server reads it: Fiber's Body would
	// first decompress one sent with a Content-Encoding (up to the app's
	// BodyLimit), which no client does, and MaxPayload bounds the bytes
	// on the wire.
	body := c.Request().Body()
	if int64(len(body)) > s.cfg.MaxPayload {
		s.cfg.log("warn", "polling POST over MaxPayload, closing session", "sid", s.sid, "remote", c.IP(), "size", len(body), "limit", s.cfg.MaxPayload)
		s.close(ErrPollingBodyTooLarge, false)
		return c.Status(fiber.StatusRequestEntityTooLarge).JSON(fiber.Map{"code": codeBadRequest, "message": "Payload too large"})
	}
	// Listeners may keep the argument slices, which alias the body: copy
	// it once out of fasthttp's reused buffer.
	body = bytes.Clone(body)
	packets, _ := splitPayload(body, 0)
	for _, p := range packets {
		typ, data, binary, err := decodePollingPacket(p)
		if err == nil {
			err = s.received(typ, data, binary)
		}
		if err != nil {
			s.cfg.log("warn", "closing session on bad packet", "sid", s.sid, "remote", c.IP(), "error", err.Error())
			s.close(err, false)
			return s.eng.httpError(c, codeBadRequest, "reason", err.Error(), "sid", s.sid)
		}
	}
	c.Set(fiber.HeaderContentType, "text/html")
	return c.SendString("ok")
}
