// Package redisadapter is a socketio.Adapter that joins the servers of a
// cluster through Redis pub/sub, speaking the protocol of Node's
// @socket.io/redis-adapter (8.x, default options), so Go and Node servers
// can serve one cluster together and a Node process using
// @socket.io/redis-emitter (5.x) can emit into it.
//
// Plug it in with one line, before serving:
//
//	srv.SetAdapter(redisadapter.New(client, redisadapter.Options{}))
//
// Tested with @socket.io/redis-adapter 8.3.0, @socket.io/redis-emitter
// 5.1.0, socket.io and socket.io-client 4.8.4 (with node-redis 4.7.1),
// go-redis 9.23.0 and redis-server 7.0.15 (Debian 12).
//
// Every namespace of the server gets an adapter with its own uid; they
// share one subscriber connection per server. Broadcasts, room changes of
// other nodes' sockets (SocketsJoin, SocketsLeave, DisconnectSockets),
// FetchSockets, ServerSideEmit (with acks) and broadcasts with aggregated
// acks reach every node. Requests that wait for other nodes end after
// Options.RequestsTimeout with an error wrapping socketio.ErrAdapterTimeout.
//
// A client's binary answer to a broadcast with acks travels as msgpack
// bin, as Node's adapters send it: a Node requester gets a Buffer, a Go
// requester the Buffer JSON {"type":"Buffer","data":[...]} that
// socketio.Adapter.BroadcastWithAck documents. As that JSON is how the
// socketio package hands binary answers to the adapter, a client that
// answers with a plain object of exactly that shape (the members "type",
// "Buffer", and "data", integers from 0 to 255) reaches a Node requester
// as a Buffer too.
//
// Everything a node publishes goes through one ordered, pipelined outbox:
// Emit and the fire-and-forget requests never wait on Redis.
//
// When Redis goes away, local delivery goes on; the operations that need
// the other nodes' answers fail at once with ErrUnavailable; the
// subscriber reconnects and resubscribes by itself, and cross-node
// delivery resumes (messages published meanwhile may be lost, as with
// Node's adapter). Loss and recovery are logged through Options.Logger.
//
// Two more adapters speak the protocol of socket.io-adapter's
// ClusterAdapter: NewSharded (Node's createShardedAdapter, Redis 7 sharded
// pub/sub) and NewStreams (Node's @socket.io/redis-streams-adapter, Redis
// streams), which also keeps lost sessions in Redis so that
// connection-state recovery works across nodes.
package redisadapter

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	socketio "github.com/fiber-socketio/socketio"
	"github.com/redis/go-redis/v9"
)

// Options configure the adapter. The zero value is Node's defaults.
type Options struct {
	// Key is the prefix of the channel names ("socket.io" when empty);
	// every node of a cluster must use the same.
	Key string
	// RequestsTimeout bounds the requests that wait for the other nodes
	// (FetchSockets, ServerSideEmitWithAck); 5 s when zero.
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel sends this node's answers on the
	// requester's own response channel instead of the shared one (Node's
	// option of the same name).
	PublishOnSpecificResponseChannel bool
	// Logger receives the adapter's warnings and errors (lost and restored
	// subscriptions, failed publishes); nil logs through slog.Default.
	Logger func(level, msg string, fields ...any)
}

func (o Options) normalized() Options {
	if o.Key == "" {
		o.Key = "socket.io"
	}
	if o.RequestsTimeout <= 0 {
		o.RequestsTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = defaultLogger("socketio redis adapter: ")
	}
	return o
}

// Errors of the adapter.
var (
	// ErrClosed is returned by the requests of an adapter that was closed.
	ErrClosed = errors.New("redisadapter: adapter closed")
	// ErrUnavailable is returned at once by the operations that need the
	// other nodes' answers (ServerCount, hence EmitWithAck; FetchSockets;
	// ServerSideEmitWithAck) while the subscriber connection is lost.
	ErrUnavailable = errors.New("redisadapter: redis subscription lost, reconnecting")
)

// New returns the adapter factory for Server.SetAdapter. client publishes
// and answers PUBSUB NUMSUB; the subscriptions use a connection of their
// own, one per server. Use one factory per server (a second server given
// the same factory gets a connection of its own too).
func New(client redis.UniversalClient, opts Options) socketio.AdapterFactory {
	f := &factory{client: client, opts: opts.normalized()}
	return f.create
}

// factory hands out the nodes of the servers it serves.
type factory struct {
	client redis.UniversalClient
	opts   Options
	nodes  nodePool[*node]
}

func (f *factory) create(host socketio.AdapterHost) socketio.Adapter {
	n := f.nodes.acquire(host.Name(), func() *node { return newNode(f) })
	return newAdapter(n, host)
}

// node is one server's subscriber connection, shared by the adapters of
// its namespaces.
type node struct {
	f      *factory
	client redis.UniversalClient
	opts   Options
	ps     *redis.PubSub
	stop   chan struct{}
	done   chan struct{}
	// wg counts the goroutines publishing answers and running callbacks.
	wg sync.WaitGroup
	// down is set while the subscriber connection is lost.
	down atomic.Bool
	out  outbox
	// confirms wakes register when Redis confirms a request channel.
	confirms confirmations
	// requestHook, when set, is called with the type of every request of
	// another node before this node handles it; true drops the request
	// unanswered. It is a test hook (unexported, nil in production): the
	// fault tests use it to stop a node at a known point, after it counted
	// in PUBSUB NUMSUB and before it answers.
	requestHook atomic.Pointer[func(typ int) bool]

	mu       sync.Mutex
	channels map[string]*adapter // request and response channels
	patterns map[string]*adapter // broadcast patterns
}

func newNode(f *factory) *node {
	n := &node{
		f:        f,
		client:   f.client,
		opts:     f.opts,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		channels: map[string]*adapter{},
		patterns: map[string]*adapter{},
	}
	// Subscribe with no channel yet: the connection opens with the first
	// namespace's subscriptions.
	n.ps = f.client.Subscribe(context.Background())
	n.out.init(f.client, redis.Pipeliner.Publish, f.opts.RequestsTimeout, f.opts.Logger, n.stop)
	go n.receive()
	return n
}

// register subscribes a's channels and waits (briefly) for Redis to
// confirm the request channel, so that the node counts in PUBSUB NUMSUB
// before it serves clients.
func (n *node) register(a *adapter) {
	n.mu.Lock()
	for _, ch := range a.channels() {
		n.channels[ch] = a
	}
	n.patterns[a.pattern] = a
	n.mu.Unlock()
	wait := n.confirms.expect(a.reqCh)
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.RequestsTimeout)
	defer cancel()
	if err := n.ps.PSubscribe(ctx, a.pattern); err != nil {
		n.opts.Logger("warn", "subscribe failed, retrying on reconnect", "namespace", a.nsp, "error", err.Error())
	}
	subscribe(n.ps, wait, &n.down, n.opts.RequestsTimeout, n.opts.Logger, a.nsp, a.channels()...)
}

// unregister removes a's subscriptions; the last one closes the node.
func (n *node) unregister(a *adapter) {
	n.mu.Lock()
	for _, ch := range a.channels() {
		delete(n.channels, ch)
	}
	delete(n.patterns, a.pattern)
	n.mu.Unlock()
	n.confirms.forget(a.reqCh)
	if n.f.nodes.release(n, a.nsp) {
		close(n.stop)
		_ = n.ps.Close()
		<-n.done
		n.wg.Wait()
		<-n.out.done
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = n.ps.PUnsubscribe(ctx, a.pattern)
	_ = n.ps.Unsubscribe(ctx, a.channels()...)
}

// receive reads the subscriber connection until the node closes.
func (n *node) receive() {
	defer close(n.done)
	readSubscription(n.ps, n.stop, n.opts.Logger,
		func() { n.down.Store(true) }, func() { n.down.Store(false) },
		func(msg any) {
			switch m := msg.(type) {
			case *redis.Subscription:
				n.confirms.confirmed(m.Channel)
			case *redis.Message:
				n.route(m)
			}
		})
}

// route hands a message to the adapter of its namespace.
func (n *node) route(m *redis.Message) {
	n.mu.Lock()
	var a *adapter
	if m.Pattern != "" {
		a = n.patterns[m.Pattern]
	} else {
		a = n.channels[m.Channel]
	}
	n.mu.Unlock()
	if a == nil {
		return
	}
	payload := []byte(m.Payload)
	switch {
	case m.Pattern != "":
		a.onBroadcast(m.Channel, payload)
	case m.Channel == a.reqCh:
		a.onRequest(payload)
	default:
		a.onResponse(payload)
	}
}

// async runs fn on a goroutine the node waits for when it closes.
func (n *node) async(fn func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn()
	}()
}

// uidAlphabet is the alphabet of Node's uid2.
const uidAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// newUID returns 6 random characters, as Node's uid2(6).
func newUID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = uidAlphabet[int(b[i])%len(uidAlphabet)]
	}
	return string(b[:])
}
