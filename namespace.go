package socketio

import (
	"regexp"
	"sync"
	"sync/atomic"
)

// Middleware runs before a socket counts as connected. It sees the socket
// (handshake auth, headers, query, address) and must call next exactly
// once: with nil to go on, or with an error to refuse the connection with
// CONNECT_ERROR carrying err.Error() as the message (and, when err has a
// Data() []byte method, that raw JSON as the client's err.data).
type Middleware func(kws *Websocket, next func(error))

// Namespace is a Socket.IO namespace: a channel multiplexed on the
// client's connection, with its own listeners, middlewares and sockets.
type Namespace struct {
	srv         *Server
	name        string
	listeners   *registry
	middlewares atomic.Pointer[[]Middleware]
	sockets     sync.Map // id -> *Websocket
}

func newNamespace(srv *Server, name string) *Namespace {
	return &Namespace{srv: srv, name: name, listeners: &registry{}}
}

// Name returns the namespace's name, e.g. "/admin".
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

func (n *Namespace) add(kws *Websocket)    { n.sockets.Store(kws, struct{}{}) }
func (n *Namespace) remove(kws *Websocket) { n.sockets.Delete(kws) }

func (n *Namespace) each(fn func(*Websocket) bool) {
	n.sockets.Range(func(k, _ any) bool { return fn(k.(*Websocket)) })
}

// runMiddlewares runs the middlewares in order, then done(nil); the first
// error stops the chain and goes to done. A panicking middleware refuses
// the connection.
func (n *Namespace) runMiddlewares(kws *Websocket, done func(error)) {
	var mws []Middleware
	if p := n.middlewares.Load(); p != nil {
		mws = *p
	}
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
	match func(name string) bool
	// parent shares listeners and middlewares with every child.
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
	return s.namespace(name)
}

func (s *Server) namespace(name string) *Namespace {
	if v, ok := s.nsps.byName.Load(name); ok {
		return v.(*Namespace)
	}
	s.nsps.mu.Lock()
	defer s.nsps.mu.Unlock()
	if v, ok := s.nsps.byName.Load(name); ok {
		return v.(*Namespace)
	}
	n := newNamespace(s, name)
	if name == "/" {
		n.listeners = &s.listeners
	}
	s.nsps.byName.Store(name, n)
	return n
}

// OfFunc serves every namespace whose name match accepts. The returned
// namespace holds the listeners and middlewares they share; each matching
// name gets its own Namespace for rooms and sockets.
func (s *Server) OfFunc(match func(name string) bool) *Namespace {
	parent := newNamespace(s, "")
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

// lookupNamespace returns the namespace a CONNECT asks for, or nil when it
// is not served.
func (s *Server) lookupNamespace(name string) *Namespace {
	if v, ok := s.nsps.byName.Load(name); ok {
		return v.(*Namespace)
	}
	if name == "/" || !s.nsps.declared.Load() {
		return s.namespace(name)
	}
	s.nsps.mu.Lock()
	dyn := s.nsps.dynamic
	s.nsps.mu.Unlock()
	for _, d := range dyn {
		if d.match(name) {
			n := s.namespace(name)
			n.listeners = d.parent.listeners
			if mw := d.parent.middlewares.Load(); mw != nil {
				n.middlewares.Store(mw)
			}
			return n
		}
	}
	return nil
}
