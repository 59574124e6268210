package redisadapter

import "sync"

// nodePool is the node bookkeeping of a factory, for either adapter: a
// server's namespaces share one node, and the namespaces of a second
// server given the same factory get a node of their own (a namespace name
// is served at most once per node).
type nodePool[N comparable] struct {
	mu    sync.Mutex
	nodes []N
	names map[N]map[string]bool // namespaces served (reserved or live)
}

// acquire reserves namespace name on the first node that does not serve
// it yet, or on a node made by newNode (called under the pool's lock) when
// every node does.
func (p *nodePool[N]) acquire(name string, newNode func() N) N {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range p.nodes {
		if !p.names[n][name] {
			p.names[n][name] = true
			return n
		}
	}
	n := newNode()
	if p.names == nil {
		p.names = map[N]map[string]bool{}
	}
	p.names[n] = map[string]bool{name: true}
	p.nodes = append(p.nodes, n)
	return n
}

// release frees namespace name of n. It reports whether n serves no
// namespace any more; the pool has then forgotten n, which its caller
// closes.
func (p *nodePool[N]) release(n N, name string) (last bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := p.names[n]
	delete(names, name)
	if len(names) > 0 {
		return false
	}
	delete(p.names, n)
	for i, c := range p.nodes {
		if c == n {
			p.nodes = append(p.nodes[:i], p.nodes[i+1:]...)
			break
		}
	}
	return true
}
