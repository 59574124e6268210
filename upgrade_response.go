package socketio

import (
	"sync"

	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"
)

// wsUpgradeKey carries, in the request locals, the *wsUpgrade of a
// WebSocket handshake from the endpoint to the upgraded connection.
const wsUpgradeKey = "socketio.upgrade"

// wsUpgrade is what the endpoint hands to the connection it upgrades. The
// websocket middleware copies the request locals before it upgrades, so
// the endpoint puts a pointer there and fills in ctx once the middleware
// has accepted the upgrade.
type wsUpgrade struct {
	// sid is the id of the session a handshake opens (chosen before the
	// upgrade, for the cookie); empty on an upgrade of a polling session.
	sid string
	// refused marks a WebSocket accepted only to be closed (its session
	// was upgraded already).
	refused bool
	// url and secure describe the handshake request of a new session (its
	// URI, TLS), for Handshake.
	url    string
	secure bool
	// eio3 marks the handshake of an Engine.IO v3 session.
	eio3 bool
	// ctx is the request being upgraded, set when fasthttp was told not
	// to write the 101 response: the connection writes it instead (see
	// takeResponse). Cleared once read: fasthttp reuses the context
	// when the hijack handler returns.
	ctx *fasthttp.RequestCtx
}

// deferResponse asks fasthttp, once the websocket middleware accepted
// the upgrade of c, to leave the 101 response to the connection: a new
// session writes it together with its OPEN packet, one write instead of
// two. fasthttp writes the response after every handler has returned and
// hands the hijacked connection over after that, so the response takes
// what an enclosing middleware sets after this handler, and the context
// is still whole when the connection reads it.
func (u *wsUpgrade) deferResponse(c fiber.Ctx) {
	rc := c.RequestCtx()
	if !rc.Hijacked() {
		return // the middleware refused the upgrade and answered it
	}
	rc.HijackSetNoResponse(true)
	u.ctx = rc
}

// takeResponse returns a copy of the header of the 101 response fasthttp
// left to the connection (nil when fasthttp wrote it), for
// responseBytes. It runs in the hijack handler, while the request context
// is still valid: the response is what fasthttp would have written.
//
// It copies the header rather than serializing it: fasthttp's
// serialization needs a 1 KiB stack frame, which would grow the stack of
// the hijack handler's fresh goroutine for that alone; the connection's
// own goroutine serializes it where its stack grows anyway.
func (u *wsUpgrade) takeResponse() *fasthttp.ResponseHeader {
	if u == nil || u.ctx == nil {
		return nil
	}
	h := responseHeaders.Get().(*fasthttp.ResponseHeader)
	u.ctx.Response.Header.CopyTo(h)
	u.ctx = nil
	return h
}

// responseHeaders holds the header copies of takeResponse.
var responseHeaders = sync.Pool{New: func() any { return new(fasthttp.ResponseHeader) }}

// responseBytes serializes a header from takeResponse into a buffer of
// upgradeResponses, and gives the header back (nil for nil).
func responseBytes(h *fasthttp.ResponseHeader) *[]byte {
	if h == nil {
		return nil
	}
	p := upgradeResponses.Get().(*[]byte)
	*p = h.AppendBytes((*p)[:0])
	h.Reset()
	responseHeaders.Put(h)
	return p
}

// upgradeResponses holds the buffers of 101 responses waiting for the
// first frames of their connection. A buffer goes back after that first
// write, so an idle connection keeps none.
var upgradeResponses = sync.Pool{New: func() any {
	b := make([]byte, 0, 512)
	return &b
}}

// maxPooledResponse is the largest buffer upgradeResponses takes back.
const maxPooledResponse = 4 << 10

// releaseResponse returns the buffer of a written 101 response.
func releaseResponse(p *[]byte, buf []byte) {
	if cap(buf) > maxPooledResponse {
		return
	}
	*p = buf[:0]
	upgradeResponses.Put(p)
}
