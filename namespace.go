package socketio

import (
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
)

// Middleware runs before a socket counts as connected. It sees the socket
// (handshake auth, headers, query, address) and must call next exactly
// once: with nil to go on, or with an error to refuse the connection with
// CONNECT_ERROR carrying err.Error() as the message (and, when err has a
// Data() []byte method, that raw JSON as the client's err.data).
type Middleware func(kws *Websocket, next func(error))

// ConnectError is a middleware error that carries data for the client: the
// CONNECT_ERROR it causes has Message as err.message and Data (raw JSON)
// as err.data on the client.
type ConnectError struct {
	// Message is the client's err.message.
	Message string
	// Payload is the client's err.data, raw JSON (nil for none).
	Payload []byte
}

// Error returns the message.
func (e *ConnectError) Error() string { return e.Message }

// Data returns the payload, the client's err.data.
func (e *ConnectError) Data() []byte { return e.Payload }

// Namespace is a Socket.IO namespace: a channel multiplexed on the
// client's connection, with its own listeners, middlewares, sockets and
// rooms (kept by its Adapter).
//
// A namespace returned by OfFunc or OfRegexp is a parent: it has no sockets
// of its own; its listeners and middlewares apply to every child namespace
// created for a matching name, and its operators address every child.
type Namespace struct {
	srv         *Server
	name        string
	listeners   *registry
	middlewares atomic.Pointer[[]Middleware]
	sockets     sync.Map // socket id -> *Websocket
	// socketCount is the number of entries of sockets.
	socketCount atomic.Int64
	adapter     atomic.Pointer[adapterRef]
	// ackIDs numbers the outbound acks of every socket of the namespace, so
	// one broadcast with ack uses one id for all its receivers.
	ackIDs atomic.Uint64
	// serverEvents are the OnServerSideEmit listeners.
	serverEvents serverEventRegistry
	// roomListeners are the OnRoom listeners (room_events.go).
	roomListeners atomic.Pointer[[]RoomListener]
	// offsets numbers the stored packets of connection-state recovery;
	// held indexes the buffers of lost sockets by id (recovery.go).
	offsets atomic.Uint64
	held    sync.Map

	// parent is the dynamic namespace (OfFunc) this one was created for.
	parent *Namespace
	// children are the namespaces created for a parent, in creation order.
	childMu  sync.Mutex
	children []*Namespace
	isParent bool

	// ephemeral: the namespace was created for a client's CONNECT and is
	// removed once nothing holds it (see namespace_cleanup.go); refs and
	// removed are guarded by srv.nsps.mu.
	ephemeral     atomic.Bool
	refs          int
	removed       bool
	adapterClosed atomic.Bool
}

// adapterRef boxes an Adapter for atomic replacement.
type adapterRef struct{ a Adapter }

func newNamespace(srv *Server, name string, parent *Namespace) *Namespace {
	n := &Namespace{srv: srv, name: name, listeners: &registry{}, parent: parent}
	n.offsets.Store(randomOffsetBase())
	n.adapter.Store(&adapterRef{a: srv.newAdapter(n)})
	return n
}

// adp returns the namespace's adapter.
func (n *Namespace) adp() Adapter { return n.adapter.Load().a }

// Adapter returns the adapter holding the namespace's rooms (nil for a
// dynamic parent namespace).
func (n *Namespace) Adapter() Adapter {
	if n.isParent {
		return nil
	}
	return n.adp()
}

// Name returns the namespace's name, e.g. "/admin" ("" for a dynamic
// parent namespace).
func (n *Namespace) Name() string { return n.name }

// On adds a listener for event on this namespace's sockets. Listeners added
// with the package-level On (or Server.On) run too, before these.
func (n *Namespace) On(event string, callback EventCallback) { n.listeners.on(event, callback) }

// Use adds a middleware to the namespace.
func (n *Namespace) Use(mw Middleware) {
	n.srv.mu.Lock()
	defer n.srv.mu.Unlock()
	var next []Middleware
	if old := n.middlewares.Load(); old != nil {
		next = append(next, *old...)
	}
	next = append(next, mw)
	n.middlewares.Store(&next)
}

func (n *Namespace) add(kws *Websocket) {
	if _, loaded := n.sockets.Swap(kws.id, kws); !loaded {
		n.socketCount.Add(1)
	}
}

func (n *Namespace) remove(kws *Websocket) {
	if n.sockets.CompareAndDelete(kws.id, kws) {
		n.socketCount.Add(-1)
	}
}

// SocketsCount returns how many sockets are connected to the namespace on
// this node, as Node's io.of(name).sockets.size.
func (n *Namespace) SocketsCount() int { return int(n.socketCount.Load()) }

// Socket returns the socket connected to the namespace on this node whose
// id (the client's socket.id) is id, nil when there is none, as Node's
// io.of(name).sockets.get(id).
func (n *Namespace) Socket(id string) *Websocket { return n.socket(id) }

// Sockets returns the sockets connected to the namespace on this node, as
// the values of Node's io.of(name).sockets (FetchSockets describes those
// of every node).
func (n *Namespace) Sockets() []*Websocket {
	list := make([]*Websocket, 0, n.SocketsCount())
	n.sockets.Range(func(_, v any) bool {
		list = append(list, v.(*Websocket))
		return true
	})
	return list
}

// socket returns the connected socket id, nil when it is not here.
func (n *Namespace) socket(id string) *Websocket {
	if v, ok := n.sockets.Load(id); ok {
		return v.(*Websocket)
	}
	return nil
}

// middlewareChain returns the middlewares a connecting socket runs: the
// parent's (for a dynamic child) first, then the namespace's own.
func (n *Namespace) middlewareChain() []Middleware {
	var own, inherited []Middleware
	if p := n.middlewares.Load(); p != nil {
		own = *p
	}
	if n.parent != nil {
		if p := n.parent.middlewares.Load(); p != nil {
			inherited = *p
		}
	}
	if len(inherited) == 0 {
		return own
	}
	return append(inherited[:len(inherited):len(inherited)], own...)
}

// runMiddlewares runs the middlewares mws (a namespace's
// middlewareChain) in order, then done(nil); the first error stops the
// chain and goes to done. A panicking middleware refuses the connection.
func runMiddlewares(mws []Middleware, kws *Websocket, done func(error)) {
	var step func(i int)
	step = func(i int) {
		if i == len(mws) {
			done(nil)
			return
		}
		var once sync.Once
		func() {
			defer func() {
				if r := recover(); r != nil {
					kws.logError("middleware panicked", "panic", r)
					once.Do(func() { done(ErrListenerPanic) })
				}
			}()
			mws[i](kws, func(err error) {
				once.Do(func() {
					if err != nil {
						done(err)
						return
					}
					step(i + 1)
				})
			})
		}()
	}
	step(0)
}

// dynamicNamespace matches namespace names that were not declared.
type dynamicNamespace struct {
	match func(name string, auth []byte) bool
	// parent holds the listeners and middlewares every child uses.
	parent *Namespace
}

// namespaces is the server's namespace table.
type namespaces struct {
	mu      sync.Mutex
	byName  sync.Map // name -> *Namespace
	dynamic []dynamicNamespace
	// declared turns true once a namespace other than "/" is declared;
	// until then every namespace is accepted, as the Fiber socketio
	// middleware did.
	declared atomic.Bool
}

// Of returns the namespace called name, creating it.
func (s *Server) Of(name string) *Namespace {
	if name == "" || name[0] != '/' {
		name = "/" + name
	}
	if name != "/" {
		s.nsps.declared.Store(true)
	}
	return s.namespace(name, nil, false)
}

// Namespaces returns the server's namespaces, "/" included, sorted by
// name, as Node's io._nsps holds them: the declared ones, and the children
// of dynamic namespaces while they serve clients.
func (s *Server) Namespaces() []*Namespace {
	var list []*Namespace
	s.nsps.byName.Range(func(_, v any) bool {
		list = append(list, v.(*Namespace))
		return true
	})
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	return list
}

// namespace returns the namespace called name, creating it (as a child of
// parent when parent is not nil) before anyone can see it. An ephemeral
// one is removed once nothing holds it (namespace_cleanup.go); asking for
// a namespace that is not ephemeral keeps one that was.
func (s *Server) namespace(name string, parent *Namespace, ephemeral bool) *Namespace {
	if v, ok := s.nsps.byName.Load(name); ok {
		if n := v.(*Namespace); ephemeral || !n.ephemeral.Load() {
			return n
		}
	}
	n, created := s.createNamespace(name, parent, ephemeral)
	if created && name != "/" {
		s.reportNewNamespace(n)
	}
	return n
}

// createNamespace is namespace under the table's lock; created reports a
// namespace made by this call.
func (s *Server) createNamespace(name string, parent *Namespace, ephemeral bool) (n *Namespace, created bool) {
	s.nsps.mu.Lock()
	defer s.nsps.mu.Unlock()
	if v, ok := s.nsps.byName.Load(name); ok {
		n := v.(*Namespace)
		if !ephemeral {
			n.ephemeral.Store(false) // declared (Of): kept from now on
		}
		return n, false
	}
	n = newNamespace(s, name, parent)
	if name == "/" {
		n.listeners = &s.listeners
	} else {
		n.ephemeral.Store(ephemeral)
	}
	s.nsps.byName.Store(name, n)
	if parent != nil {
		parent.childMu.Lock()
		parent.children = append(parent.children, n)
		parent.childMu.Unlock()
	}
	return n, true
}

// OnNewNamespace adds fn to the callbacks that receive every namespace the
// server creates from now on, other than "/": declared with Of, or made
// for a client's CONNECT (a child of OfFunc, OfRegexp or OfFuncAuth, or an
// undeclared name while none is declared), as Node's
// io.on("new_namespace"); nil removes them all. fn runs before the
// namespace serves its first client (for a child, on the reader of the
// client whose CONNECT made it), so the middlewares and listeners it adds
// apply to that client too. A panic in it is recovered and logged.
func (s *Server) OnNewNamespace(fn func(*Namespace)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fn == nil {
		s.newNamespaces.Store(nil)
		return
	}
	var list []func(*Namespace)
	if cur := s.newNamespaces.Load(); cur != nil {
		list = append(list, *cur...)
	}
	list = append(list, fn)
	s.newNamespaces.Store(&list)
}

// OnNewNamespace adds fn on the default server (see
// Server.OnNewNamespace).
func OnNewNamespace(fn func(*Namespace)) { defaultServer.OnNewNamespace(fn) }

// reportNewNamespace passes n to the OnNewNamespace callbacks.
func (s *Server) reportNewNamespace(n *Namespace) {
	list := s.newNamespaces.Load()
	if list == nil {
		return
	}
	for _, fn := range *list {
		s.callNewNamespace(fn, n)
	}
}

func (s *Server) callNewNamespace(fn func(*Namespace), n *Namespace) {
	defer func() {
		if r := recover(); r != nil {
			cfg := s.config()
			cfg.log("error", "OnNewNamespace callback panicked", "namespace", n.name, "panic", r)
		}
	}()
	fn(n)
}

// OfFunc serves every namespace whose name match accepts. The returned
// parent namespace holds the listeners and middlewares they share (its
// middlewares run before a child's own), and its operators address every
// child; each matching name gets its own child Namespace, with its own
// sockets and rooms, the first time a client connects to it.
func (s *Server) OfFunc(match func(name string) bool) *Namespace {
	return s.OfFuncAuth(func(name string, _ []byte) bool { return match(name) })
}

// OfFuncAuth is OfFunc with a matcher that also sees the auth payload of
// the CONNECT (its raw JSON object, nil when the client sent none), as
// Node's io.of((name, auth, next) => ...). As there, the matcher decides
// whether a child is created: once it exists, a CONNECT to that name finds
// it without asking the matcher again (unless CleanupEmptyChildNamespaces
// removed it meanwhile), so checks that must hold for every client belong
// in the parent's middlewares (Use). It runs on the connecting session's
// reader and may block it, not other sessions.
func (s *Server) OfFuncAuth(match func(name string, auth []byte) bool) *Namespace {
	parent := &Namespace{srv: s, listeners: &registry{}, isParent: true}
	s.nsps.mu.Lock()
	s.nsps.dynamic = append(s.nsps.dynamic, dynamicNamespace{match: match, parent: parent})
	s.nsps.mu.Unlock()
	s.nsps.declared.Store(true)
	return parent
}

// OfRegexp serves every namespace whose name re matches.
func (s *Server) OfRegexp(re *regexp.Regexp) *Namespace {
	return s.OfFunc(re.MatchString)
}

// lookupNamespace returns the namespace a CONNECT with the auth payload
// auth asks for, or nil when it is not served.
func (s *Server) lookupNamespace(name string, auth []byte) *Namespace {
	if v, ok := s.nsps.byName.Load(name); ok {
		return v.(*Namespace)
	}
	if name == "/" || !s.nsps.declared.Load() {
		// Undeclared names are served while none is declared; each lives
		// while it has sockets (a client could make any number).
		return s.namespace(name, nil, true)
	}
	s.nsps.mu.Lock()
	dyn := s.nsps.dynamic
	s.nsps.mu.Unlock()
	for _, d := range dyn {
		if s.matches(d, name, auth) {
			return s.namespace(name, d.parent, s.config().CleanupEmptyChildNamespaces)
		}
	}
	return nil
}

// matches runs the matcher of a dynamic namespace; a panic counts as no
// match (the CONNECT is refused) and is logged, and the server goes on.
func (s *Server) matches(d dynamicNamespace, name string, auth []byte) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			cfg := s.config()
			cfg.log("error", "dynamic namespace matcher panicked; namespace refused", "namespace", name, "panic", r)
			ok = false
		}
	}()
	return d.match(name, auth)
}
