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
	defer func() {
		s.pollIdleSince.Store(monoAt(time.Now()))
		s.getActive.Store(false)
	}()
	if s.upgrading.Load() && !s.settleUpgrade() {
		return s.eng.httpError(c, codeBadRequest, "reason", "polling request on a session upgraded to websocket", "sid", s.sid)
	}
	wait := time.NewTimer(s.cfg.MaxPollWait)
	defer wait.Stop()
	closeReq := s.closeReq
	for {
		if s.closed() && !s.graceful {
			return s.endPoll(c)
		}
		if items := s.q.takeUpTo(s.cfg.PollingMaxBufferSize); len(items) > 0 {
			s.observeOut(items)
			return s.writePayload(c, items, s.cfg.HTTPCompressionThreshold)
		}
		if s.upgrading.Load() || s.transport.Load() != onPolling {
			return s.writePayload(c, []outPacket{{data: noopPacket}}, noCompression)
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
			return s.writePayload(c, []outPacket{{data: noopPacket}}, noCompression)
		}
	}
}

// upgradeSettle bounds how long a polling GET that arrives once an
// upgrade's probe succeeded waits for the upgrade to complete.
const upgradeSettle = 20 * time.Millisecond

// settleUpgrade is called for a polling GET that arrives once an upgrade's
// probe succeeded. The official client sends none then (it is pausing
// polling), but a GET sent after the client's UPGRADE packet can be read
// before it: it waits, up to upgradeSettle, for the upgrade to complete,
// and reports whether the session is still on polling. A session that
// upgraded refuses it, as the Node server refuses a GET it reads after
// the UPGRADE packet.
func (s *session) settleUpgrade() bool {
	t := time.NewTimer(upgradeSettle)
	defer t.Stop()
	for s.upgrading.Load() && s.transport.Load() == onPolling {
		select {
		case <-s.pollWake:
		case <-s.closeReq:
			return true
		case <-t.C:
			return true
		}
	}
	return s.transport.Load() == onPolling
}

// endPoll answers the GET pending when the session ended: a NOOP when the
// client asked for the close, a CLOSE packet otherwise.
func (s *session) endPoll(c fiber.Ctx) error {
	s.endLinger()
	if s.closeReason == errClientClose {
		return s.writePayload(c, []outPacket{{data: noopPacket}}, noCompression)
	}
	return s.writePayload(c, []outPacket{{data: closePacket}}, noCompression)
}

// writePayload answers a GET with items as a payload of the session's
// protocol and parser (a v3 session frames them as v3 does, see eio3.go),
// as a script for a JSONP session (polling_jsonp.go). The response is
// compressed when it reaches threshold (see sendPayload) and one of its
// packets may be compressed: as in the Node server, a response made only
// of packets emitted with Compress(false) is sent plain.
func (s *session) writePayload(c fiber.Ctx, items []outPacket, threshold int) error {
	items = s.wireItems(items)
	if !compressible(items) {
		threshold = noCompression
	}
	var body []byte
	binary := false
	if s.eio3 {
		body, binary = appendEIO3Payload(make([]byte, 0, payloadSize(items)), items, !s.b64)
	} else {
		body = appendPayload(make([]byte, 0, payloadSize(items)), items)
	}
	switch {
	case s.jsonp != nil:
		return sendPayloadAs(c, appendJSONP(make([]byte, 0, len(body)+len(s.jsonp)+16), s.jsonp, body), threshold, jsonpContentType)
	case binary:
		return sendPayloadAs(c, body, threshold, "application/octet-stream")
	}
	return sendPayload(c, body, threshold)
}

// compressible reports whether a payload of items may be compressed: one
// of its packets was not emitted with Compress(false).
func compressible(items []outPacket) bool {
	for _, p := range items {
		if p.ctrl == 0 && !p.plain {
			return true
		}
	}
	return false
}

// payloadSize is a polling payload's length, or a bit more, for its
// buffer: binary data may go in base64.
func payloadSize(items []outPacket) int {
	size := 0
	for _, p := range items {
		size += len(p.data)*4/3 + 4
	}
	return size
}

// appendPayload appends packets as a protocol v4 polling payload: joined
// by the record separator, binary ones in base64, a NOOP when there is
// none.
func appendPayload(body []byte, items []outPacket) []byte {
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
	return body
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
	if s.jsonp != nil {
		payload, ok := jsonpPayload(body)
		if !ok {
			return s.answerPost(c, nil) // no "d": ignored, as by Node
		}
		body = payload
	}
	s.posting.Store(true)
	defer s.posting.Store(false)
	if s.eio3 {
		return s.pollPostEIO3(c, body)
	}
	packets, _ := splitPayload(body, 0)
	for _, p := range packets {
		typ, data, binary, err := decodePollingPacket(p)
		if err == nil {
			err = s.received(typ, data, binary)
		}
		if err != nil {
			return s.answerPost(c, err)
		}
	}
	return s.answerPost(c, nil)
}

// answerPost answers a polling POST: "ok", or, when err (a bad packet)
// is not nil, 400 after closing the session.
func (s *session) answerPost(c fiber.Ctx, err error) error {
	if err != nil {
		s.cfg.log("warn", "closing session on bad packet", "sid", s.sid, "remote", c.IP(), "error", err.Error())
		s.close(err, false)
		return s.eng.httpError(c, codeBadRequest, "reason", err.Error(), "sid", s.sid)
	}
	c.Set(fiber.HeaderContentType, "text/html")
	return c.SendString("ok")
}

// pollPostEIO3 is pollPost's decoding for a v3 session: the payload is
// binary when sent as application/octet-stream, text otherwise. A
// malformed payload handles none of its packets.
func (s *session) pollPostEIO3(c fiber.Ctx, body []byte) error {
	binary := bytes.HasPrefix(c.Request().Header.ContentType(), []byte("application/octet-stream"))
	packets, err := decodeEIO3Payload(body, binary)
	if err == nil {
		for _, p := range packets {
			if err = s.received(p.typ, p.data, p.binary); err != nil {
				break
			}
		}
	}
	return s.answerPost(c, err)
}
