package socketio

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/contrib/v3/websocket"
	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"
)

// Engine.IO HTTP error codes (engine.io-protocol v4), answered as JSON
// with status 400 (403 for Forbidden) and reported by OnConnectionError.
// They are the Node server's Server.errors.
const (
	CodeUnknownTransport           = 0
	CodeUnknownSID                 = 1
	CodeBadHandshakeMethod         = 2
	CodeBadRequest                 = 3
	CodeForbidden                  = 4
	CodeUnsupportedProtocolVersion = 5
)

const (
	codeUnknownTransport   = CodeUnknownTransport
	codeUnknownSID         = CodeUnknownSID
	codeBadHandshakeMethod = CodeBadHandshakeMethod
	codeBadRequest         = CodeBadRequest
	codeForbidden          = CodeForbidden
	codeUnsupportedVersion = CodeUnsupportedProtocolVersion
)

// libraryWriteBuffers backs the websocket library's rare own writes.
var libraryWriteBuffers = &sync.Pool{}

// wsReadBufferSize is the websocket library's read buffer per connection
// unless the application sets one. The library reads through fasthttp's
// hijacked connection, which is buffered already (the server's
// ReadBufferSize), so its own buffer only has to hold a frame header or a
// control frame (the library's minimum is 125 bytes); larger payloads are
// read straight through it. An idle connection keeps this buffer for its
// life, so the middleware's default of 1 KiB is mostly memory spent for
// nothing (measured: 770 bytes less per idle connection).
const wsReadBufferSize = 256

var engineErrorMessages = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
}

// engine is the Engine.IO server behind one handler: it routes HTTP
// requests to sessions, opens sessions and upgrades them. It knows nothing
// of Socket.IO: newHandler gives each session the layer above.
type engine struct {
	cfg        *Config
	newHandler func(*session) engineHandler
	upgrader   fiber.Handler
	sessions   sync.Map // sid -> *session
	count      atomic.Int64
	closing    atomic.Bool
	wg         sync.WaitGroup
	// ownReader: WebSocket frames are read by frameReader straight from
	// the socket rather than by the websocket library.
	ownReader bool
	// deflate is set when WebSocket sessions may send compressed messages
	// (EnableCompression, PerMessageDeflateThreshold not negative): only
	// then do broadcasts look at each receiver's threshold.
	deflate bool
	// connErrors and headers, when not nil, hold the OnConnectionError and
	// OnHeaders callbacks of the server the engine serves.
	connErrors *atomic.Pointer[func(*ConnectionError)]
	headers    *atomic.Pointer[func(fiber.Ctx, bool)]
	// observers, when not nil, are the server's EngineObservers.
	observers *engineObservers
	// clientFiles serves Config.ClientFiles, nil when none.
	clientFiles *clientFiles
	// pickProtocol: the websocket.Config lists no Subprotocols, so a
	// handshake offering some gets the first, as from the Node server.
	pickProtocol bool
	// polling and websocket are the transports served; upgrades whether a
	// polling session may upgrade (Transports, DisablePolling,
	// DisableUpgrades).
	polling, websocket, upgrades bool
}

func newEngine(cfg *Config, newHandler func(*session) engineHandler, wsConfig ...websocket.Config) *engine {
	e := &engine{cfg: cfg, newHandler: newHandler, clientFiles: newClientFiles(cfg.ClientFiles, cfg.ClientVersion)}
	e.polling = !cfg.DisablePolling && cfg.serves("polling")
	e.websocket = cfg.serves("websocket")
	e.upgrades = e.polling && e.websocket && !cfg.DisableUpgrades
	var wc websocket.Config
	if len(wsConfig) > 0 {
		wc = wsConfig[0]
	}
	if wc.WriteBufferPool == nil {
		// The session's worker frames and writes packets itself; the
		// library writes only the odd close frame. A shared pool spares
		// every connection a write buffer it would hold for its life.
		wc.WriteBufferPool = libraryWriteBuffers
	}
	if wc.ReadBufferSize == 0 {
		wc.ReadBufferSize = wsReadBufferSize
	}
	// Compressed frames (permessage-deflate) are read by the library, and
	// so is every frame where the system has no raw socket I/O.
	e.ownReader = rawSocketIO && !cfg.libraryIO && !wc.EnableCompression
	// A Parser's messages are compressed each for itself: broadcasts do
	// not share a frame of the default encoding.
	e.deflate = wc.EnableCompression && cfg.PerMessageDeflateThreshold >= 0 && cfg.Parser == nil
	e.pickProtocol = wc.Subprotocols == nil
	e.upgrader = websocket.New(e.serveWebSocket, wc)
	return e
}

// firstProtocol returns the first subprotocol a WebSocket handshake
// offers (its Sec-WebSocket-Protocol header, a comma-separated list), nil
// when none.
func firstProtocol(offer []byte) []byte {
	if i := bytes.IndexByte(offer, ','); i >= 0 {
		offer = offer[:i]
	}
	return bytes.TrimSpace(offer)
}

// serve is the fiber handler: GET and POST for polling, GET with an upgrade
// for WebSocket, OPTIONS for preflight.
func (e *engine) serve(c fiber.Ctx) error {
	if e.clientFiles != nil && c.Method() == fiber.MethodGet {
		if name := clientFileName(c.Path()); name != "" {
			return e.serveClientFile(c, name)
		}
	}
	q, code := parseEngineQuery(c.RequestCtx().QueryArgs(), e.polling, e.websocket, e.cfg.AllowEIO3)
	switch code {
	case codeUnknownTransport:
		return e.httpError(c, code, "transport", q.transport)
	case codeUnsupportedVersion:
		return e.httpError(c, code, "EIO", q.eio)
	}
	if done, err := e.applyHTTPPolicy(c); done {
		return err
	}
	transport, sid := q.transport, q.sid
	// Shutdown refuses new sessions only: the requests of a closing
	// session still take its last packets (the DISCONNECT, the CLOSE).
	if sid == "" && e.closing.Load() {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"code": codeBadRequest, "message": "Server shutting down"})
	}
	if transport == "websocket" {
		if !websocket.IsWebSocketUpgrade(c) {
			return e.httpError(c, codeBadRequest, "reason", "websocket transport without an upgrade request")
		}
		if sid != "" {
			s := e.lookup(sid)
			if s == nil || s.closed() {
				return e.httpError(c, codeUnknownSID, "sid", sid)
			}
			u := &wsUpgrade{}
			if !e.upgrades {
				e.cfg.log("warn", "websocket refused: upgrades are not allowed (AllowUpgrades)", "sid", sid, "remote", c.IP())
				u.refused = true
			} else if s.transport.Load() != onPolling || !s.claimUpgrade() {
				// As the Node server does: accept, then close at once.
				e.cfg.log("warn", "websocket refused: session already upgraded or upgrading", "sid", sid, "remote", c.IP())
				u.refused = true
			} else {
				e.reportHeaders(c, false)
			}
			return e.upgrade(c, u)
		}
		if done, err := e.allowHandshake(c); done {
			return err
		}
		sid, err := e.sessionID(c)
		if err != nil {
			return e.refuseSessionID(c, err)
		}
		rc := c.RequestCtx()
		u := &wsUpgrade{sid: sid, url: string(rc.RequestURI()), secure: rc.IsTLS(), eio3: q.eio == "3"}
		e.setSessionCookie(c, u.sid)
		e.reportHeaders(c, true)
		return e.upgrade(c, u)
	}
	// As Node's engine.io: no cache or proxy may keep a polling response
	// (the client's "t" parameter busts only the caches that heed it).
	c.Set(fiber.HeaderCacheControl, "no-store")
	if sid == "" {
		if c.Method() != fiber.MethodGet {
			return e.httpError(c, codeBadHandshakeMethod, "method", c.Method())
		}
		if done, err := e.allowHandshake(c); done {
			return err
		}
		return e.handshakePolling(c, q.eio == "3")
	}
	s := e.lookup(sid)
	if s != nil && s.closed() {
		if c.Method() == fiber.MethodGet && s.endLinger() {
			// A GET that raced the client's CLOSE gets the NOOP it would
			// have got had it arrived first.
			return s.writePayload(c, []outPacket{{data: noopPacket}}, noCompression)
		}
		// A session closed without a flush is gone even while its worker
		// has not yet unregistered it; a graceful close keeps serving its
		// GETs until the last packets are taken.
		if !s.graceful {
			s = nil
		}
	}
	if s == nil {
		return e.httpError(c, codeUnknownSID, "sid", sid,
			"hint", "the session is closed, or this node never had it: behind a load balancer, polling needs sticky sessions")
	}
	if s.transport.Load() != onPolling {
		return e.httpError(c, codeBadRequest, "reason", "polling request on a session upgraded to websocket", "sid", sid)
	}
	switch c.Method() {
	case fiber.MethodGet:
		e.reportHeaders(c, false)
		return s.pollGet(c)
	case fiber.MethodPost:
		e.reportHeaders(c, false)
		return s.pollPost(c)
	}
	return e.httpError(c, codeBadRequest, "method", c.Method())
}

// engineQuery is what the Engine.IO endpoint reads of a request's query:
// the protocol version, the transport and the session id (empty for a
// handshake). Everything else (the client's cache-busting "t", the
// application's own parameters) is left to the application; the EIO 3
// "b64" is read by the handshake of such a session.
type engineQuery struct {
	eio       string
	transport string
	sid       string
}

// queryOK is the code of parseEngineQuery for a query it accepts.
const queryOK = -1

// parseEngineQuery reads the Engine.IO parameters of a query and checks
// them as the Node server does, in its order: the transport first (one of
// those served), then the protocol version (4, or 3 when eio3 is set). It
// returns queryOK or the Engine.IO error code; q carries the values read
// either way, for the log.
func parseEngineQuery(args *fasthttp.Args, polling, ws, eio3 bool) (q engineQuery, code int) {
	q = engineQuery{
		eio:       string(args.Peek("EIO")),
		transport: transportName(args.Peek("transport")),
		sid:       string(args.Peek("sid")),
	}
	switch {
	case q.transport == "websocket" && ws, q.transport == "polling" && polling:
	default:
		return q, codeUnknownTransport
	}
	if q.eio != "4" && (q.eio != "3" || !eio3) {
		return q, codeUnsupportedVersion
	}
	return q, queryOK
}

// transportName is string(b), without an allocation for the two names
// every request carries.
func transportName(b []byte) string {
	switch string(b) {
	case "websocket":
		return "websocket"
	case "polling":
		return "polling"
	}
	return string(b)
}

// httpError answers an Engine.IO HTTP error and logs why.
func (e *engine) httpError(c fiber.Ctx, code int, fields ...any) error {
	status := fiber.StatusBadRequest
	if code == codeForbidden {
		status = fiber.StatusForbidden
	}
	msg := engineErrorMessages[code]
	e.cfg.log("warn", "engine.io request refused: "+msg, append([]any{"code", code, "remote", c.IP()}, fields...)...)
	e.reportConnError(c, code, status, fields...)
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.SendString(`{"code":` + strconv.Itoa(code) + `,"message":"` + msg + `"}`)
}

func (e *engine) lookup(sid string) *session {
	if v, ok := e.sessions.Load(sid); ok {
		return v.(*session)
	}
	return nil
}

func (e *engine) remove(s *session) {
	if _, ok := e.sessions.LoadAndDelete(s.sid); ok {
		e.count.Add(-1)
	}
}

// open creates and registers a session and starts its worker. A session
// that starts on a WebSocket gets its OPEN packet queued first. eio3 marks
// a session of Engine.IO protocol v3, b64 one whose client asked for
// binary messages in base64 on polling.
func (e *engine) open(sid string, req *requestInfo, w *wsConn, eio3, b64 bool, jsonp []byte) *session {
	kind := onPolling
	if w != nil {
		kind = onWebSocket
	}
	s := newSession(e, sid, kind, req)
	s.eio3, s.b64, s.jsonp = eio3, b64, jsonp
	if w != nil {
		s.ws.Store(w)
		s.q.deflateMin.Store(int64(w.deflateMin))
		s.prepareConn(w)
		_ = s.q.pushQuiet(outPacket{data: e.openPacket(s.sid, false)})
	}
	s.handler = e.newHandler(s)
	e.sessions.Store(s.sid, s)
	e.count.Add(1)
	e.wg.Add(1) // until the session's finish
	s.start()
	s.observeOpen()
	switch {
	case w != nil && eio3:
		// A v3 session's OPEN goes eio3OpenDelay after the 101, held in
		// the queue with what follows it (the CONNECT of "/").
		s.q.hold()
		time.AfterFunc(eio3OpenDelay, s.q.release)
	case w != nil:
		// On the connection's reader, before it reads: no worker needed.
		s.flushInline()
	}
	if eio3 {
		// A v3 client is connected to the main namespace at once.
		if h, ok := s.handler.(interface{ onOpenEIO3() }); ok {
			h.onOpenEIO3()
		}
	}
	return s
}

// eio3OpenDelay is how long after the 101 response a WebSocket session of
// Engine.IO v3 gets its OPEN packet. The Node server sends it a few
// milliseconds after the 101 (it draws the session id on its thread pool
// in between: 9 ms under strace on this machine), and clients of the v3
// era, the protocol's own v3 test suite among them, may start listening
// for messages only once the WebSocket's open event has fired: an OPEN
// that arrives in the same read as the 101 is lost to them.
const eio3OpenDelay = 10 * time.Millisecond

// openPacket is the Engine.IO OPEN packet for a session.
func (e *engine) openPacket(sid string, upgrades bool) []byte {
	b := make([]byte, 0, 128)
	b = append(b, eioOpen)
	b = append(b, `{"sid":"`...)
	b = append(b, sid...)
	if upgrades {
		b = append(b, `","upgrades":["websocket"],"pingInterval":`...)
	} else {
		b = append(b, `","upgrades":[],"pingInterval":`...)
	}
	b = strconv.AppendInt(b, e.cfg.PingInterval.Milliseconds(), 10)
	b = append(b, `,"pingTimeout":`...)
	b = strconv.AppendInt(b, e.cfg.PingTimeout.Milliseconds(), 10)
	b = append(b, `,"maxPayload":`...)
	b = strconv.AppendInt(b, e.cfg.MaxPayload, 10)
	return append(b, '}')
}

// handshakePolling opens a polling session; the OPEN packet is the body
// (for a v3 session, a payload of it).
func (e *engine) handshakePolling(c fiber.Ctx, eio3 bool) error {
	sid, err := e.sessionID(c)
	if err != nil {
		return e.refuseSessionID(c, err)
	}
	args := c.RequestCtx().QueryArgs()
	b64 := eio3 && args.Has("b64")
	var jsonp []byte
	if args.Has("j") && e.cfg.AllowEIO3 {
		jsonp = jsonpHead(args.Peek("j"))
		b64 = eio3 // a script takes text only
	}
	s := e.open(sid, requestFromCtx(c), nil, eio3, b64, jsonp)
	e.setSessionCookie(c, s.sid)
	e.reportHeaders(c, true)
	c.Set(fiber.HeaderContentType, "text/plain; charset=UTF-8")
	open := e.openPacket(s.sid, e.upgrades)
	if eio3 {
		open, _ = appendEIO3Payload(nil, []outPacket{{data: open}}, false)
	}
	if jsonp != nil {
		c.Set(fiber.HeaderContentType, jsonpContentType)
		return c.Send(appendJSONP(nil, jsonp, open))
	}
	return c.Send(open)
}

// upgrade hands c to the websocket middleware, with u in its locals.
func (e *engine) upgrade(c fiber.Ctx, u *wsUpgrade) error {
	c.Locals(wsUpgradeKey, u)
	if e.pickProtocol {
		// As the Node server (its ws library) does: a client offering
		// subprotocols (socket.io-client's protocols option) fails the
		// handshake unless one is chosen. One set by an OnHeaders
		// callback stays.
		const h = "Sec-WebSocket-Protocol"
		if p := firstProtocol(c.Request().Header.Peek(h)); len(p) > 0 && len(c.Response().Header.Peek(h)) == 0 {
			c.Response().Header.SetBytesV(h, p)
		}
	}
	if err := e.upgrader(c); err != nil {
		return err
	}
	u.deferResponse(c)
	return nil
}

// serveWebSocket is the websocket middleware's handler. It runs on the
// goroutine fasthttp started for the hijacked connection, which holds the
// request context (a few KiB) until the handler returns. So it hands the
// connection to a goroutine of its own and returns at once: fasthttp keeps
// hijacked connections open after their handler returns (the middleware
// sets Server.KeepHijackedConns; the session closes the connection), and
// the middleware's pooled Conn is replaced by a copy that stays valid.
func (e *engine) serveWebSocket(conn *websocket.Conn) {
	own := new(websocket.Conn)
	*own = *conn
	u, _ := conn.Locals(wsUpgradeKey).(*wsUpgrade)
	response := u.takeResponse()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		// The handshake needs more than a new goroutine's 2 KiB:
		// growing now costs less than deep in it (see growStack).
		growStack()
		e.serveConn(own, u, response)
	}()
}

// serveConn runs on an upgraded connection until it closes. response,
// when not nil, is the header of the 101 response still to be written
// (see takeResponse): a new session sends it with its OPEN packet; any
// other connection first.
func (e *engine) serveConn(conn *websocket.Conn, u *wsUpgrade, response *fasthttp.ResponseHeader) {
	w := newWSConn(conn)
	w.b64 = conn.Query("b64") != ""
	w.deflateMin = deflateThreshold(response, e.cfg.PerMessageDeflateThreshold)
	w.response = responseBytes(response)
	// A v3 session's OPEN goes in a write of its own, after the 101 (see
	// eio3OpenDelay).
	if u == nil || u.sid == "" || u.eio3 {
		if err := w.writeResponse(); err != nil {
			w.shutdown(0)
			return
		}
	}
	if u != nil && u.refused {
		w.shutdown(refusedCloseTimeout)
		return
	}
	if sid := conn.Query("sid"); sid != "" {
		s := e.lookup(sid)
		if s == nil {
			w.shutdown(0)
			return
		}
		s.prepareConn(w)
		if !s.startProbe(w) || !s.serveUpgrade(w) {
			s.endProbe(w)
			s.upgradeClaim.Store(false)
			s.upgrading.Store(false)
			w.shutdown(refusedCloseTimeout)
			return
		}
		if h, ok := s.handler.(interface{ onUpgrade() }); ok {
			h.onUpgrade()
		}
		s.readLoop(w)
		return
	}
	sid := newSID()
	if u != nil && u.sid != "" {
		sid = u.sid
	}
	s := e.open(sid, requestFromConn(conn, u), w, u != nil && u.eio3, false, nil)
	if w.fr != nil {
		if !s.readHandshake(w) {
			return
		}
		// A fresh goroutine, with a small stack, waits on the idle
		// connection (see readHandshake).
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			s.readLoop(w)
		}()
		return
	}
	s.readLoop(w)
}

// closeAll closes every session (Shutdown).
func (e *engine) closeAll(reason error) {
	e.closing.Store(true)
	e.sessions.Range(func(_, v any) bool {
		v.(*session).close(reason, true)
		return true
	})
}

// abortAll cuts the transport of every session still registered: their
// workers stop writing and finish at once.
func (e *engine) abortAll() {
	e.sessions.Range(func(_, v any) bool {
		v.(*session).abort()
		return true
	})
}

// newSID returns a random 20-character session id.
func newSID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
