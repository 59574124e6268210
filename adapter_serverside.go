package socketio

import (
	"sync"
)

// This file is the server-side emit of the Node server
// (io.serverSideEmit): events sent from one node to the same namespace of
// the other nodes of a cluster, carried by a multi-node adapter that
// implements ServerSideEmitter.

// ServerSideListener handles an event that another node sent with
// ServerSideEmit: args are raw JSON values. ack is nil when the sender
// asked for no answer; otherwise call it once with the answer (raw JSON),
// which the sender receives among its responses.
type ServerSideListener func(args [][]byte, ack func(response []byte))

// serverEventRegistry holds the ServerSideListeners of a namespace.
type serverEventRegistry struct {
	mu sync.RWMutex
	m  map[string][]ServerSideListener
}

func (r *serverEventRegistry) on(event string, fn ServerSideListener) {
	r.mu.Lock()
	if r.m == nil {
		r.m = map[string][]ServerSideListener{}
	}
	r.m[event] = append(r.m[event], fn)
	r.mu.Unlock()
}

func (r *serverEventRegistry) get(event string) []ServerSideListener {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.m[event]
}

// OnServerSideEmit adds a listener for event sent by another node's
// ServerSideEmit (io.serverSideEmit of a Node node) to this namespace. On a
// dynamic parent namespace it listens on every child.
func (n *Namespace) OnServerSideEmit(event string, fn ServerSideListener) {
	n.serverEvents.on(event, fn)
}

// dispatchServerEvent runs the listeners of a server-side event, the
// namespace's then its parent's; ack answers once.
func (n *Namespace) dispatchServerEvent(event string, args [][]byte, ack func([]byte)) {
	var once func([]byte)
	if ack != nil {
		var o sync.Once
		once = func(r []byte) { o.Do(func() { ack(r) }) }
	}
	fns := n.serverEvents.get(event)
	if n.parent != nil {
		fns = append(fns[:len(fns):len(fns)], n.parent.serverEvents.get(event)...)
	}
	for _, fn := range fns {
		func() {
			defer func() {
				if r := recover(); r != nil {
					cfg := n.srv.config()
					cfg.log("error", "server-side listener panicked", "namespace", n.name, "event", event, "panic", r)
				}
			}()
			fn(args, once)
		}()
	}
}

// ServerSideEmit sends event with args (raw JSON values) to this
// namespace on the other nodes of the cluster, where the
// OnServerSideEmit listeners receive it; this node's listeners do not.
// With a single-node adapter it does nothing.
func (n *Namespace) ServerSideEmit(event string, args ...[]byte) error {
	return n.serverSideEmit(event, args, nil)
}

// ServerSideEmitWithAck is ServerSideEmit asking each other node for an
// answer: cb is called once, with every node's answer, or with those
// received so far and an error (wrapping ErrAdapterTimeout) when some did
// not answer within the adapter's request timeout. With a single-node
// adapter cb runs at once with no response.
func (n *Namespace) ServerSideEmitWithAck(event string, args [][]byte, cb func(responses [][]byte, err error)) error {
	if cb == nil {
		cb = func([][]byte, error) {}
	}
	return n.serverSideEmit(event, args, cb)
}

func (n *Namespace) serverSideEmit(event string, args [][]byte, cb func([][]byte, error)) error {
	if reservedEvent(event) {
		return ErrReservedEventName
	}
	nsps, err := n.Operator().targets()
	if err != nil {
		return err
	}
	if cb == nil {
		for _, t := range nsps {
			if e, ok := t.adp().(ServerSideEmitter); ok {
				if err := e.ServerSideEmit(event, args, nil); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// Gather the answers of every target namespace, then call cb once.
	var (
		mu        sync.Mutex
		pending   = 1
		responses [][]byte
		firstErr  error
	)
	finish := func(rs [][]byte, err error) {
		mu.Lock()
		responses = append(responses, rs...)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		pending--
		done := pending == 0
		all, e := responses, firstErr
		mu.Unlock()
		if done {
			cb(all, e)
		}
	}
	for _, t := range nsps {
		e, ok := t.adp().(ServerSideEmitter)
		if !ok {
			continue
		}
		mu.Lock()
		pending++
		mu.Unlock()
		if err := e.ServerSideEmit(event, args, finish); err != nil {
			return err
		}
	}
	finish(nil, nil)
	return nil
}

// OnServerSideEmit adds a listener on the main namespace (see
// Namespace.OnServerSideEmit).
func (s *Server) OnServerSideEmit(event string, fn ServerSideListener) {
	s.main().OnServerSideEmit(event, fn)
}

// ServerSideEmit sends event to the main namespace of the other nodes (see
// Namespace.ServerSideEmit).
func (s *Server) ServerSideEmit(event string, args ...[]byte) error {
	return s.main().ServerSideEmit(event, args...)
}

// ServerSideEmitWithAck sends event to the main namespace of the other
// nodes and gathers their answers (see Namespace.ServerSideEmitWithAck).
func (s *Server) ServerSideEmitWithAck(event string, args [][]byte, cb func(responses [][]byte, err error)) error {
	return s.main().ServerSideEmitWithAck(event, args, cb)
}
