package redisadapter

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	socketio "github.com/fiber-socketio/socketio"
)

// Request types of @socket.io/redis-adapter.
const (
	typeSockets = iota
	typeAllRooms
	typeRemoteJoin
	typeRemoteLeave
	typeRemoteDisconnect
	typeRemoteFetch
	typeServerSideEmit
	typeBroadcast
	typeBroadcastClientCount
	typeBroadcastAck
)

// adapter is the Adapter of one namespace: rooms are kept by the in-memory
// adapter (embedded), operations are carried to the other nodes.
type adapter struct {
	socketio.Adapter
	node *node
	host socketio.AdapterHost
	nsp  string
	uid  string

	prefix  string // broadcast channel prefix, key#nsp#
	pattern string // its subscription pattern
	reqCh   string
	resCh   string
	ownCh   string // the specific response channel, resCh + uid + #

	requester // requests go on reqCh
	once      sync.Once
}

func newAdapter(n *node, host socketio.AdapterHost) *adapter {
	nsp := host.Name()
	key := n.opts.Key
	a := &adapter{
		Adapter: socketio.NewMemoryAdapter(host),
		node:    n,
		host:    host,
		nsp:     nsp,
		uid:     newUID(),
		prefix:  key + "#" + nsp + "#",
		reqCh:   key + "-request#" + nsp + "#",
		resCh:   key + "-response#" + nsp + "#",
	}
	a.pattern = a.prefix + "*"
	a.ownCh = a.resCh + a.uid + "#"
	a.requester.init(func(msg []byte) error { return n.out.publish(a.reqCh, msg) }, n.async, n.opts.RequestsTimeout)
	n.register(a)
	return a
}

// channels are the plain subscriptions of the namespace.
func (a *adapter) channels() []string { return []string{a.reqCh, a.resCh, a.ownCh} }

// Broadcast delivers to the local sockets at once, then queues the packet
// for the other nodes (unless Local). It never waits on Redis; a failed
// publish is logged (the local sockets have the packet).
func (a *adapter) Broadcast(pkt *socketio.Packet, opts socketio.BroadcastOptions) error {
	if err := a.Adapter.Broadcast(pkt, opts); err != nil {
		return err
	}
	if opts.Flags.Local {
		return nil
	}
	msg, err := encodeBroadcast(a.uid, pkt, opts)
	if err != nil {
		return err
	}
	channel := a.prefix
	if len(opts.Rooms) == 1 {
		channel += opts.Rooms[0] + "#"
	}
	a.node.out.post(channel, msg)
	return nil
}

// BroadcastWithAck publishes a BROADCAST request, then delivers locally;
// every other node reports its client count and relays its clients' acks.
func (a *adapter) BroadcastWithAck(pkt *socketio.Packet, opts socketio.BroadcastOptions, clientCount func(int), ack func([]byte)) error {
	if opts.Flags.Local {
		return a.Adapter.BroadcastWithAck(pkt, opts, clientCount, ack)
	}
	id := newUID()
	msg, err := encodeBroadcastRequest(a.uid, id, pkt, opts)
	if err != nil {
		return err
	}
	if err := a.publishWithAcks(id, msg, opts.Flags.Timeout, clientCount, ack); err != nil {
		return err
	}
	return a.Adapter.BroadcastWithAck(pkt, opts, clientCount, ack)
}

// ServerCount is the number of subscribers of the request channel: every
// node serving the namespace, this one included.
func (a *adapter) ServerCount(ctx context.Context) (int, error) {
	if a.node.down.Load() {
		return 0, ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, a.node.opts.RequestsTimeout)
	defer cancel()
	res, err := a.node.client.PubSubNumSub(ctx, a.reqCh).Result()
	if err != nil {
		return 0, fmt.Errorf("redisadapter: server count: %w", err)
	}
	n := int(res[a.reqCh])
	if n < 1 {
		n = 1
	}
	return n, nil
}

// FetchSockets returns the local sockets and those the other nodes
// report. When some node does not answer in time it returns what it has
// with an error wrapping socketio.ErrAdapterTimeout.
func (a *adapter) FetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]socketio.RemoteSocket, error) {
	local, others, err := fetchLocal(ctx, a.Adapter, a.ServerCount, opts)
	if err != nil || others <= 0 {
		return local, err
	}
	id := newUID()
	msg, err := encodeJSON(map[string]any{
		"uid": a.uid, "requestId": id, "type": typeRemoteFetch,
		"opts": map[string]any{"rooms": nonNil(opts.Rooms), "except": nonNil(opts.Except)},
	})
	if err != nil {
		return local, err
	}
	// Node's adapter waits RequestsTimeout, whatever the operator's timeout.
	p, err := a.await(ctx, id, typeRemoteFetch, others, msg, 0)
	return fetched(local, p, err, "fetchSockets: %d of %d nodes answered")
}

// AddSockets applies locally at once and asks the other nodes to apply.
func (a *adapter) AddSockets(opts socketio.BroadcastOptions, rooms []string) error {
	if err := a.Adapter.AddSockets(opts, rooms); err != nil || opts.Flags.Local {
		return err
	}
	return a.request(typeRemoteJoin, opts, map[string]any{"rooms": nonNil(rooms)})
}

// DelSockets applies locally at once and asks the other nodes to apply.
func (a *adapter) DelSockets(opts socketio.BroadcastOptions, rooms []string) error {
	if err := a.Adapter.DelSockets(opts, rooms); err != nil || opts.Flags.Local {
		return err
	}
	return a.request(typeRemoteLeave, opts, map[string]any{"rooms": nonNil(rooms)})
}

// DisconnectSockets applies locally at once and asks the other nodes to
// apply.
func (a *adapter) DisconnectSockets(opts socketio.BroadcastOptions, closeConn bool) error {
	if err := a.Adapter.DisconnectSockets(opts, closeConn); err != nil || opts.Flags.Local {
		return err
	}
	return a.request(typeRemoteDisconnect, opts, map[string]any{"close": closeConn})
}

// request queues a fire-and-forget request about the selected sockets
// (Node's adapter does not wait for these either).
func (a *adapter) request(typ int, opts socketio.BroadcastOptions, extra map[string]any) error {
	m := map[string]any{
		"uid": a.uid, "type": typ,
		"opts": map[string]any{"rooms": nonNil(opts.Rooms), "except": nonNil(opts.Except)},
	}
	for k, v := range extra {
		m[k] = v
	}
	msg, err := encodeJSON(m)
	if err != nil {
		return err
	}
	a.node.out.post(a.reqCh, msg)
	return nil
}

// ServerSideEmit sends a server-side event to the other nodes; with ack it
// waits for one answer per other node.
func (a *adapter) ServerSideEmit(event string, args [][]byte, ack func([][]byte, error)) error {
	data, err := eventData(event, args)
	if err != nil {
		return err
	}
	if ack == nil {
		msg, err := encodeJSON(map[string]any{"uid": a.uid, "type": typeServerSideEmit, "data": data})
		if err != nil {
			return err
		}
		a.node.out.post(a.reqCh, msg)
		return nil
	}
	count, err := a.ServerCount(context.Background())
	if err != nil {
		return err
	}
	if count-1 <= 0 {
		a.node.async(func() { ack(nil, nil) })
		return nil
	}
	id := newUID()
	msg, err := encodeJSON(map[string]any{"uid": a.uid, "requestId": id, "type": typeServerSideEmit, "data": data})
	if err != nil {
		return err
	}
	// Publish now (an error is the caller's), wait on a goroutine.
	return a.collect(id, typeServerSideEmit, count-1, msg, ack)
}

// Close unsubscribes the namespace and ends its pending requests.
func (a *adapter) Close() error {
	a.once.Do(func() {
		a.closeRequests()
		a.node.unregister(a)
		_ = a.Adapter.Close()
	})
	return nil
}

// toOptions converts wire options.
func toOptions(w *wireOpts) socketio.BroadcastOptions {
	var o socketio.BroadcastOptions
	if w == nil {
		return o
	}
	o.Rooms, o.Except = w.Rooms, w.Except
	o.Flags.Volatile = w.Flags.Volatile
	o.Flags.NoCompress = w.Flags.NoCompress
	if w.Flags.Timeout > 0 {
		o.Flags.Timeout = time.Duration(w.Flags.Timeout * float64(time.Millisecond))
	}
	return o
}

// sortedRooms sorts a copy.
func sortedRooms(r []string) []string {
	out := append([]string(nil), r...)
	sort.Strings(out)
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
