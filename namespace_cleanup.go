package socketio

import "slices"

// CleanupEmptyChildNamespaces removes a child namespace of OfFunc or
// OfRegexp once its last socket has left (and closes its adapter), as the
// Node server's option of the same name does; a client connecting to the
// name later gets a new one. Off by default, as in Node: a child keeps its
// rooms and listeners added to it directly until the server stops.
//
// Namespaces served while none is declared (no Of other than "/", no
// OfFunc) are always removed that way: a client could otherwise create any
// number of them.
var CleanupEmptyChildNamespaces = false

// An ephemeral namespace is held by its sockets, by each CONNECT in
// progress for it, and by the buffers that connection-state recovery keeps
// for its lost sockets; the last release removes it from the server and
// closes its adapter. A CONNECT that finds it removed looks the name up
// again and gets a new one.

// connectNamespace returns the namespace a CONNECT with the auth payload
// auth asks for (nil when it is not served), and whether the connect holds
// a reference on it, to hand to its socket or give back with release.
func (s *Server) connectNamespace(name string, auth []byte) (*Namespace, bool) {
	for {
		n := s.lookupNamespace(name, auth)
		if n == nil || !n.ephemeral.Load() {
			return n, false
		}
		if testHookEphemeralLookup != nil {
			testHookEphemeralLookup(n)
		}
		s.nsps.mu.Lock()
		if !n.removed {
			n.refs++
			s.nsps.mu.Unlock()
			return n, true
		}
		s.nsps.mu.Unlock()
	}
}

// testHookEphemeralLookup, when set (by tests), runs between the lookup of
// an ephemeral namespace and the reference taken on it.
var testHookEphemeralLookup func(n *Namespace)

// retain adds a reference to n when it is ephemeral, and reports whether it
// did. The caller holds one already (n cannot be removed meanwhile).
func (n *Namespace) retain() bool {
	if !n.ephemeral.Load() {
		return false
	}
	n.srv.nsps.mu.Lock()
	n.refs++
	n.srv.nsps.mu.Unlock()
	return true
}

// release gives back a reference taken by connectNamespace or retain; the
// last one removes an ephemeral namespace.
func (n *Namespace) release() {
	s := n.srv
	s.nsps.mu.Lock()
	n.refs--
	if n.refs > 0 || n.removed || !n.ephemeral.Load() {
		s.nsps.mu.Unlock()
		return
	}
	n.removed = true
	s.nsps.byName.CompareAndDelete(n.name, n)
	s.nsps.mu.Unlock()
	if p := n.parent; p != nil {
		p.childMu.Lock()
		if i := slices.Index(p.children, n); i >= 0 {
			p.children = slices.Delete(p.children, i, i+1)
		}
		p.childMu.Unlock()
	}
	n.closeAdapter()
}

// closeAdapter closes the namespace's adapter once (a removal and Shutdown
// may both try).
func (n *Namespace) closeAdapter() {
	if !n.adapterClosed.CompareAndSwap(false, true) {
		return
	}
	if err := n.adp().Close(); err != nil {
		cfg := n.srv.config()
		cfg.log("error", "adapter close failed", "namespace", n.name, "error", err.Error())
	}
}

// releaseNamespace gives back the socket's reference on its namespace, once.
func (kws *Websocket) releaseNamespace() {
	if kws.nspRef.CompareAndSwap(true, false) {
		kws.nsp.release()
	}
}
