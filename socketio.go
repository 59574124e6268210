// Package socketio is a Socket.IO v5 / Engine.IO v4 server for Fiber v3,
// talking to the official socket.io-client over WebSocket, HTTP
// long-polling, and polling upgraded to WebSocket.
//
// Mount the handler on GET and POST of one path:
//
//	h := socketio.New(func(kws *socketio.Websocket) { ... })
//	app.Get("/socket.io/", h)
//	app.Post("/socket.io/", h)
//
// The package-level functions and variables drive a default Server; use
// NewServer for an independent one.
package socketio

import (
	"context"
	"regexp"
	"sync"
	"sync/atomic"

	"github.com/gofiber/contrib/v3/websocket"
	"github.com/gofiber/fiber/v3"
)

// Server is a Socket.IO server: its listeners, namespaces, live sockets and
// settings. One app can mount several independent servers.
type Server struct {
	cfg       Config
	listeners registry
	sockets   socketIndex
	nsps      namespaces

	mu       sync.Mutex
	engines  []*engine
	shutdown bool
	adapters AdapterFactory
	// gathers are the broadcast acks still waiting for answers, which
	// Shutdown ends.
	gathers map[*ackGather]struct{}
	// recovery is cfg.ConnectionStateRecovery, read by broadcasts.
	recovery atomic.Pointer[RecoveryConfig]
	// burst tracks broadcasts to many sockets (burst.go).
	burst burst
	// connErrors is the OnConnectionError callback, nil when none.
	connErrors atomic.Pointer[func(*ConnectionError)]
	// newNamespaces are the OnNewNamespace callbacks, nil when none.
	newNamespaces atomic.Pointer[[]func(*Namespace)]
	// headers is the OnHeaders callback, nil when none.
	headers atomic.Pointer[func(fiber.Ctx, bool)]
	// observers are the EngineObservers.
	observers engineObservers
	// attributeHooks are the OnAttributeSet callbacks, nil when none.
	attributeHooks atomic.Pointer[[]func(*Websocket, string, any)]
}

// OnAttributeSet adds fn to the callbacks that run after SetAttribute
// stored a value on any socket of the server (in middlewares too, before
// the socket is connected), with the key and the value, on the caller's
// goroutine; nil removes them all. A panic in fn is recovered and logged.
// Monitoring tools use it to follow socket.data as Node's admin UI does.
func (s *Server) OnAttributeSet(fn func(kws *Websocket, key string, value any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fn == nil {
		s.attributeHooks.Store(nil)
		return
	}
	var list []func(*Websocket, string, any)
	if cur := s.attributeHooks.Load(); cur != nil {
		list = append(list, *cur...)
	}
	list = append(list, fn)
	s.attributeHooks.Store(&list)
}

// OnAttributeSet adds fn on the default server (see
// Server.OnAttributeSet).
func OnAttributeSet(fn func(kws *Websocket, key string, value any)) {
	defaultServer.OnAttributeSet(fn)
}

// handler is one mounted handler: its New callback and its engine.
type handler struct {
	srv      *Server
	callback func(*Websocket)
	eng      *engine
}

// NewServer returns a server with its own settings (see DefaultConfig).
func NewServer(cfg Config) *Server {
	s := &Server{cfg: cfg.normalized()}
	s.recovery.Store(s.cfg.ConnectionStateRecovery)
	s.namespace("/", nil, false)
	return s
}

var defaultServer = NewServer(DefaultConfig())

// DefaultServer returns the server the package-level functions (New, On,
// Of, Emit, ...) drive, for what takes a *Server: the admin module's
// Instrument, say, in an app written against the package-level API.
func DefaultServer() *Server { return defaultServer }

// Handler returns the fiber handler serving Engine.IO and Socket.IO;
// callback runs for every socket that connects, after the CONNECT reply
// and before the EventConnect listeners. Mount it on GET and POST (and
// OPTIONS for preflight) of one path. config configures the WebSocket
// upgrade; without Subprotocols in it, a client offering subprotocols gets
// the first one, as from the Node server.
func (s *Server) Handler(callback func(kws *Websocket), config ...websocket.Config) fiber.Handler {
	h := &handler{srv: s, callback: callback}
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	h.eng = newEngine(&cfg, func(sess *session) engineHandler {
		return &client{srv: s, h: h, sess: sess}
	}, config...)
	h.eng.connErrors = &s.connErrors
	h.eng.headers = &s.headers
	h.eng.observers = &s.observers
	s.mu.Lock()
	s.engines = append(s.engines, h.eng)
	s.mu.Unlock()
	return h.eng.serve
}

// New returns the handler of the default server, taking a snapshot of the
// package-level tunables first.
func New(callback func(kws *Websocket), config ...websocket.Config) fiber.Handler {
	defaultServer.mu.Lock()
	defaultServer.cfg = DefaultConfig().normalized()
	defaultServer.recovery.Store(defaultServer.cfg.ConnectionStateRecovery)
	defaultServer.mu.Unlock()
	return defaultServer.Handler(callback, config...)
}

// ClientsCount returns how many Engine.IO sessions (clients, each with
// one socket per namespace it joined) the server holds on this node,
// across its handlers, as Node's io.engine.clientsCount.
func (s *Server) ClientsCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := int64(0)
	for _, e := range s.engines {
		n += e.count.Load()
	}
	return int(n)
}

// ClientsCount returns the default server's number of Engine.IO sessions
// (see Server.ClientsCount).
func ClientsCount() int { return defaultServer.ClientsCount() }

// config returns the server's settings.
func (s *Server) config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// SetAdapter makes factory create the adapter of every namespace (nil
// restores NewMemoryAdapter). Call it before serving: the adapters of the
// namespaces that exist already are replaced (and closed) too, which is only
// safe while they have no sockets.
func (s *Server) SetAdapter(factory AdapterFactory) {
	s.mu.Lock()
	s.adapters = factory
	s.mu.Unlock()
	s.nsps.byName.Range(func(_, v any) bool {
		n := v.(*Namespace)
		old := n.adapter.Swap(&adapterRef{a: s.newAdapter(n)})
		if old != nil {
			_ = old.a.Close()
		}
		return true
	})
}

// newAdapter creates the adapter of n with the installed factory.
func (s *Server) newAdapter(n *Namespace) Adapter {
	s.mu.Lock()
	f := s.adapters
	s.mu.Unlock()
	if f == nil {
		f = NewMemoryAdapter
	}
	return f(nspHost{n})
}

// On adds a listener for event on every socket of every namespace.
func (s *Server) On(event string, callback EventCallback) { s.listeners.on(event, callback) }

// Use adds a middleware to the main namespace.
func (s *Server) Use(mw Middleware) { s.Of("/").Use(mw) }

// EmitTo sends a "message" to the socket with id uuid.
func (s *Server) EmitTo(uuid string, message []byte, mType ...int) error {
	kws := s.sockets.get(uuid)
	if kws == nil || !kws.IsAlive() {
		return ErrorInvalidConnection
	}
	kws.Emit(message, mType...)
	return nil
}

// EmitToList sends a "message" to each listed socket, ignoring failures.
func (s *Server) EmitToList(uuids []string, message []byte, mType ...int) {
	for _, id := range uuids {
		_ = s.EmitTo(id, message, mType...)
	}
}

// Broadcast sends a "message" to every connected socket, in every
// namespace. The packet is encoded once per namespace and the same bytes
// are queued for every receiver.
func (s *Server) Broadcast(message []byte, mType ...int) {
	s.nsps.byName.Range(func(_, v any) bool {
		s.broadcast(v.(*Namespace), "", message, mType...)
		return true
	})
}

// broadcast sends a "message" through the namespace's adapter to all its
// sockets but the one with id skip.
func (s *Server) broadcast(nsp *Namespace, skip string, message []byte, mType ...int) {
	pkt := &Packet{Nsp: nsp.name, Event: EventMessage, Args: [][]byte{message}}
	if len(mType) > 0 && mType[0] == BinaryMessage {
		pkt.Args = [][]byte{placeholder0}
		pkt.Attachments = [][]byte{message}
	}
	if nsp.recoveryOn() {
		pkt.Offset = formatOffset(nsp.nextOffset())
	}
	var opts BroadcastOptions
	if skip != "" {
		opts.Except = []string{skip}
	}
	if err := nsp.adp().Broadcast(pkt, opts); err != nil {
		cfg := s.config()
		cfg.log("error", "broadcast failed", "namespace", nsp.name, "error", err.Error())
	}
}

// placeholder0 is the argument standing for the first binary attachment.
var placeholder0 = []byte(`{"_placeholder":true,"num":0}`)

// Fire runs the listeners of event for every connected socket.
func (s *Server) Fire(event string, data []byte) {
	s.sockets.each(func(kws *Websocket) bool {
		kws.Fire(event, data)
		return true
	})
}

// Shutdown stops accepting sessions, closes every session (after the
// packets already queued), waits for their workers and closes the
// namespaces' adapters. As with the Node server's close, clients get no
// DISCONNECT: they see their transport close ("transport close") and
// reconnect, to another node behind a load balancer, say; with
// connection-state recovery, each socket's session is kept as for a lost
// connection, so an adapter that shares sessions between nodes (the
// Redis Streams adapter) lets the client recover it there. The sockets'
// EventDisconnect reason is ErrServerShutdown. Every pending ack fails before it
// returns: a socket's with ErrAckDisconnected, a broadcast's with an error
// wrapping ErrServerShutdown and ErrAckDisconnected (see
// BroadcastOperator.EmitWithAck).
// It returns ctx.Err() when they are not all done in time, after cutting
// the connections still open (their workers and the adapters then end in
// the background). Calling it again is harmless.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	engines := append([]*engine(nil), s.engines...)
	s.mu.Unlock()
	s.sockets.each(func(kws *Websocket) bool {
		kws.lose(ErrServerShutdown)
		return true
	})
	for _, e := range engines {
		e.closeAll(ErrServerShutdown)
	}
	s.failGathers()
	done := make(chan struct{})
	go func() {
		for _, e := range engines {
			e.wg.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
		s.closeAdapters()
		return nil
	case <-ctx.Done():
		// Out of time: cut the connections still being flushed (a client
		// that does not read would hold its worker until the write
		// timeout), so nothing outlives the deadline for long.
		for _, e := range engines {
			e.abortAll()
		}
		go func() {
			<-done
			s.closeAdapters()
		}()
		return ctx.Err()
	}
}

// trackGather registers a broadcast ack gathering until it ends, so that
// Shutdown can end it.
func (s *Server) trackGather(g *ackGather) {
	s.mu.Lock()
	if s.gathers == nil {
		s.gathers = map[*ackGather]struct{}{}
	}
	s.gathers[g] = struct{}{}
	s.mu.Unlock()
}

func (s *Server) untrackGather(g *ackGather) {
	s.mu.Lock()
	delete(s.gathers, g)
	s.mu.Unlock()
}

// failGathers ends every broadcast ack gathering still waiting: Shutdown
// has disconnected its receivers on this node.
func (s *Server) failGathers() {
	s.mu.Lock()
	gathers := s.gathers
	s.gathers = nil
	s.mu.Unlock()
	for g := range gathers {
		g.fail(true)
	}
}

// closeAdapters closes the adapter of every namespace.
func (s *Server) closeAdapters() {
	s.nsps.byName.Range(func(_, v any) bool {
		v.(*Namespace).releaseHeld()
		v.(*Namespace).closeAdapter()
		return true
	})
}

// Of returns the namespace called name on the default server, creating it.
// Declaring a namespace other than "/" makes the server refuse namespaces
// that were not declared (as the Node server does); until then every
// namespace is accepted, as the Fiber socketio middleware did.
func Of(name string) *Namespace { return defaultServer.Of(name) }

// OfFunc serves, on the default server, every namespace whose name match
// accepts (see Server.OfFunc).
func OfFunc(match func(name string) bool) *Namespace { return defaultServer.OfFunc(match) }

// OfFuncAuth is OfFunc with a matcher that also sees the CONNECT's auth
// payload (see Server.OfFuncAuth).
func OfFuncAuth(match func(name string, auth []byte) bool) *Namespace {
	return defaultServer.OfFuncAuth(match)
}

// OfRegexp serves, on the default server, every namespace whose name re
// matches (see Server.OfFunc).
func OfRegexp(re *regexp.Regexp) *Namespace { return defaultServer.OfRegexp(re) }

// On adds a listener for event on every socket of the default server.
func On(event string, callback func(payload *EventPayload)) { defaultServer.On(event, callback) }

// Use adds a middleware to the default server's main namespace.
func Use(mw Middleware) { defaultServer.Use(mw) }

// EmitTo sends a "message" to the socket with id uuid.
func EmitTo(uuid string, message []byte, mType ...int) error {
	return defaultServer.EmitTo(uuid, message, mType...)
}

// EmitToList sends a "message" to each listed socket, ignoring failures.
func EmitToList(uuids []string, message []byte, mType ...int) {
	defaultServer.EmitToList(uuids, message, mType...)
}

// SetAdapter installs the adapter factory of the default server (see
// Server.SetAdapter).
func SetAdapter(factory AdapterFactory) { defaultServer.SetAdapter(factory) }

// Broadcast sends a "message" to every connected socket.
func Broadcast(message []byte, mType ...int) { defaultServer.Broadcast(message, mType...) }

// Fire runs the listeners of event for every connected socket.
func Fire(event string, data []byte) { defaultServer.Fire(event, data) }

// Shutdown drains the default server (see Server.Shutdown).
func Shutdown(ctx context.Context) error { return defaultServer.Shutdown(ctx) }
