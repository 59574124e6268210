package socketio

import (
	"fmt"

	"github.com/gofiber/fiber/v3"
)

// ConnectionError is a request the Engine.IO endpoint refused, as the Node
// server reports it with its engine's "connection_error" event: a
// handshake with an unknown transport or protocol version, a request for a
// session this node does not have (behind a load balancer without sticky
// sessions, say), a bad method, a refused origin, a handshake refused by
// AllowRequest.
type ConnectionError struct {
	// Code is the Engine.IO error code answered (CodeUnknownTransport ...
	// CodeUnsupportedProtocolVersion).
	Code int
	// Message is the answer's message, e.g. "Session ID unknown".
	Message string
	// Status is the HTTP status answered: 400, 403, or the status of the
	// *fiber.Error AllowRequest returned.
	Status int
	// Context is what the server knows of the cause: "transport", "sid",
	// "method", "origin", "EIO", "reason", "error", "hint", as they apply.
	Context map[string]any
	// Request is the refused request. It is valid only while the callback
	// runs (Fiber reuses it afterwards): copy what you keep.
	Request fiber.Ctx
}

// Error returns the message with the context, so a ConnectionError can be
// logged as an error.
func (e *ConnectionError) Error() string {
	return fmt.Sprintf("socketio: connection refused: %s (code %d, status %d) %v", e.Message, e.Code, e.Status, e.Context)
}

// OnConnectionError sets fn to receive every request the server's
// Engine.IO endpoint refuses (see ConnectionError), as Node's
// io.engine.on("connection_error"); nil removes it. fn runs on the
// request's goroutine before the answer is written; a panic in it is
// recovered and logged.
func (s *Server) OnConnectionError(fn func(*ConnectionError)) {
	if fn == nil {
		s.connErrors.Store(nil)
		return
	}
	s.connErrors.Store(&fn)
}

// OnConnectionError sets fn on the default server (see
// Server.OnConnectionError).
func OnConnectionError(fn func(*ConnectionError)) { defaultServer.OnConnectionError(fn) }

// reportConnError passes a refused request to the OnConnectionError
// callback, if any; fields are key, value pairs of its context.
func (e *engine) reportConnError(c fiber.Ctx, code, status int, fields ...any) {
	if e.connErrors == nil {
		return
	}
	fn := e.connErrors.Load()
	if fn == nil {
		return
	}
	ctx := make(map[string]any, len(fields)/2)
	for i := 0; i+1 < len(fields); i += 2 {
		if k, ok := fields[i].(string); ok {
			ctx[k] = fields[i+1]
		}
	}
	defer func() {
		if r := recover(); r != nil {
			e.cfg.log("error", "OnConnectionError callback panicked", "panic", r)
		}
	}()
	(*fn)(&ConnectionError{Code: code, Message: engineErrorMessages[code], Status: status, Context: ctx, Request: c})
}

// OnHeaders sets fn to run before the endpoint answers a request of a
// session: with initial set on the handshake (the first polling GET, or
// the WebSocket that opens a session), unset on every later polling
// request and on the upgrade to WebSocket. Headers fn sets on c (c.Set,
// c.Cookie) go out with that response, the 101 of a WebSocket included,
// as with Node's io.engine.on("initial_headers") and ("headers"); nil
// removes it. Refused requests do not reach it (see OnConnectionError). A
// panic in fn is recovered and logged.
func (s *Server) OnHeaders(fn func(c fiber.Ctx, initial bool)) {
	if fn == nil {
		s.headers.Store(nil)
		return
	}
	s.headers.Store(&fn)
}

// OnHeaders sets fn on the default server (see Server.OnHeaders).
func OnHeaders(fn func(c fiber.Ctx, initial bool)) { defaultServer.OnHeaders(fn) }

// reportHeaders runs the OnHeaders callback, if any, on c.
func (e *engine) reportHeaders(c fiber.Ctx, initial bool) {
	if e.headers == nil {
		return
	}
	fn := e.headers.Load()
	if fn == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			e.cfg.log("error", "OnHeaders callback panicked", "panic", r)
		}
	}()
	(*fn)(c, initial)
}
