package redisadapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	socketio "github.com/fiber-socketio/socketio"
	"github.com/redis/go-redis/v9"
)

// This file is the sharded adapter: the protocol of Node's
// createShardedAdapter (@socket.io/redis-adapter 8.3.0), built on the
// ClusterAdapter messages of socket.io-adapter and Redis 7 sharded pub/sub
// (SSUBSCRIBE, SPUBLISH, PUBSUB SHARDNUMSUB). Its wire format is in
// sharded_messages.go.

// SubscriptionMode says which rooms of a namespace get a sharded channel of
// their own (ShardedOptions.SubscriptionMode). Every node of a cluster
// should use the same mode.
type SubscriptionMode string

// The subscription modes of Node's createShardedAdapter.
const (
	// SubscriptionStatic uses two channels per namespace and node: the
	// namespace's channel, which carries every message, and the node's
	// response channel.
	SubscriptionStatic SubscriptionMode = "static"
	// SubscriptionDynamic (the default) also gives every public room (a
	// room that is not a socket id) a channel of its own, subscribed by the
	// nodes where the room has members; a broadcast to exactly one such room
	// goes there. Node's peers decide by length that a 20-character room is
	// a socket id and publish to it on the namespace's channel; socket ids
	// of this package are UUIDs, so a Go node subscribes to the channels of
	// its sockets' own rooms too (which is where a Node peer sends them).
	SubscriptionDynamic SubscriptionMode = "dynamic"
	// SubscriptionDynamicPrivate gives every room, socket-id rooms included,
	// a channel of its own.
	SubscriptionDynamicPrivate SubscriptionMode = "dynamic-private"
)

// ShardedOptions configure the sharded adapter. The zero value is Node's
// defaults.
type ShardedOptions struct {
	// ChannelPrefix is the prefix of the channel names ("socket.io" when
	// empty); every node of a cluster must use the same.
	ChannelPrefix string
	// SubscriptionMode is SubscriptionDynamic when empty.
	SubscriptionMode SubscriptionMode
	// RequestsTimeout bounds the requests that wait for the other nodes
	// (FetchSockets without an operator timeout, ServerSideEmitWithAck);
	// 5 s when zero.
	RequestsTimeout time.Duration
	// Logger receives the adapter's warnings and errors (lost and restored
	// subscriptions, failed publishes); nil logs through slog.Default.
	Logger func(level, msg string, fields ...any)
}

// ErrSubscriptionMode is what NewSharded panics with (wrapped) when
// ShardedOptions.SubscriptionMode is not one of the three modes.
var ErrSubscriptionMode = errors.New("redisadapter: unknown subscription mode")

func (o ShardedOptions) normalized() ShardedOptions {
	if o.ChannelPrefix == "" {
		o.ChannelPrefix = "socket.io"
	}
	if o.SubscriptionMode == "" {
		o.SubscriptionMode = SubscriptionDynamic
	}
	if o.RequestsTimeout <= 0 {
		o.RequestsTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = func(level, msg string, fields ...any) {
			l := slog.LevelInfo
			switch level {
			case "warn":
				l = slog.LevelWarn
			case "error":
				l = slog.LevelError
			}
			slog.Default().Log(context.Background(), l, "socketio sharded redis adapter: "+msg, fields...)
		}
	}
	return o
}

// NewSharded returns the factory of the sharded adapter, for
// Server.SetAdapter: the counterpart of Node's createShardedAdapter
// (@socket.io/redis-adapter 8.x), which needs Redis 7 or later. Go and
// Node servers using it with the same Redis, ChannelPrefix and
// SubscriptionMode serve one cluster.
//
// client publishes (SPUBLISH) and answers PUBSUB SHARDNUMSUB; the
// subscriptions use a connection of their own per server (per master node
// with a *redis.ClusterClient). Use one factory per server. Broadcasts
// (with acks too), FetchSockets, SocketsJoin, SocketsLeave,
// DisconnectSockets and ServerSideEmit (with acks too) reach every node;
// requests that wait for other nodes end after RequestsTimeout (or the
// operator's timeout) with an error wrapping socketio.ErrAdapterTimeout,
// and fail at once with ErrUnavailable while the subscriber connection is
// lost. Everything published goes through one ordered, pipelined outbox.
//
// NewSharded panics with an error wrapping ErrSubscriptionMode when
// opts.SubscriptionMode is not one of the three modes.
func NewSharded(client redis.UniversalClient, opts ShardedOptions) socketio.AdapterFactory {
	opts = opts.normalized()
	switch opts.SubscriptionMode {
	case SubscriptionStatic, SubscriptionDynamic, SubscriptionDynamicPrivate:
	default:
		panic(fmt.Errorf("%w: %q", ErrSubscriptionMode, opts.SubscriptionMode))
	}
	f := &shardedFactory{client: client, opts: opts}
	return f.create
}

// shardedFactory hands out the nodes of the servers it serves.
type shardedFactory struct {
	client redis.UniversalClient
	opts   ShardedOptions
	mu     sync.Mutex
	nodes  []*shardedNode
}

func (f *shardedFactory) create(host socketio.AdapterHost) socketio.Adapter {
	f.mu.Lock()
	var n *shardedNode
	for _, c := range f.nodes {
		if c.reserve(host.Name()) {
			n = c
			break
		}
	}
	if n == nil {
		n = newShardedNode(f)
		n.reserve(host.Name())
		f.nodes = append(f.nodes, n)
	}
	f.mu.Unlock()
	return newShardedAdapter(n, host)
}

func (f *shardedFactory) drop(n *shardedNode) {
	f.mu.Lock()
	for i, c := range f.nodes {
		if c == n {
			f.nodes = append(f.nodes[:i], f.nodes[i+1:]...)
			break
		}
	}
	f.mu.Unlock()
}

// shardRoute says which adapter a channel's messages go to.
type shardRoute struct {
	a        *shardedAdapter
	response bool
}

// shardSub is one subscriber connection: the only one for a standalone
// Redis, one per master node for a cluster.
type shardSub struct {
	ps      *redis.PubSub
	healthy bool // read and written by its receive goroutine only
}

// shardedNode is one server's subscriptions and outbox, shared by the
// adapters of its namespaces. A single goroutine (subscriber) issues every
// SSUBSCRIBE and SUNSUBSCRIBE, in the order the wishes changed.
type shardedNode struct {
	f      *shardedFactory
	client redis.UniversalClient
	opts   ShardedOptions
	stop   chan struct{}
	wg     sync.WaitGroup // receivers and callbacks
	subWG  sync.WaitGroup // the subscriber goroutine
	out    outbox
	// down counts the subscriber connections that are lost.
	down atomic.Int32

	mu       sync.Mutex
	names    map[string]bool
	routes   map[string]shardRoute
	want     map[string]bool // channels that should be subscribed
	dirty    []string        // channels whose wish changed
	barriers []chan struct{}
	waiters  map[string]chan struct{}
	wake     chan struct{}

	// Owned by the subscriber goroutine (and read at close, after it
	// ended).
	shards  map[string]*shardSub
	chShard map[string]*shardSub // subscribed channel -> its connection
}

func newShardedNode(f *shardedFactory) *shardedNode {
	n := &shardedNode{
		f:       f,
		client:  f.client,
		opts:    f.opts,
		stop:    make(chan struct{}),
		names:   map[string]bool{},
		routes:  map[string]shardRoute{},
		want:    map[string]bool{},
		waiters: map[string]chan struct{}{},
		wake:    make(chan struct{}, 1),
		shards:  map[string]*shardSub{},
		chShard: map[string]*shardSub{},
	}
	n.out.init()
	n.subWG.Add(1)
	go n.subscriber()
	go n.send()
	return n
}

func (n *shardedNode) reserve(name string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.names[name] {
		return false
	}
	n.names[name] = true
	return true
}

// setWant records that channel should (or should no longer) be
// subscribed, routed to a; the subscriber goroutine applies it.
func (n *shardedNode) setWant(a *shardedAdapter, channel string, response, on bool) {
	n.mu.Lock()
	if on {
		n.routes[channel] = shardRoute{a: a, response: response}
		n.want[channel] = true
	} else {
		if r, ok := n.routes[channel]; ok && r.a == a {
			delete(n.routes, channel)
		}
		delete(n.want, channel)
	}
	n.dirty = append(n.dirty, channel)
	n.mu.Unlock()
	n.kick()
}

func (n *shardedNode) kick() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// sync waits (at most timeout) until the subscriber applied every wish
// recorded before the call.
func (n *shardedNode) sync(timeout time.Duration) {
	done := make(chan struct{})
	n.mu.Lock()
	n.barriers = append(n.barriers, done)
	n.mu.Unlock()
	n.kick()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-n.stop:
	}
}

// register subscribes a's channels and waits (briefly) for Redis to
// confirm the namespace channel, so that the node counts in PUBSUB
// SHARDNUMSUB before it serves clients.
func (n *shardedNode) register(a *shardedAdapter) {
	wait := make(chan struct{})
	n.mu.Lock()
	n.waiters[a.channel] = wait
	n.mu.Unlock()
	n.setWant(a, a.channel, false, true)
	n.setWant(a, a.resChannel, true, true)
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-wait:
	case <-t.C:
		n.opts.Logger("warn", "subscription not confirmed yet", "namespace", a.nsp)
	}
}

// unregister removes a's subscriptions (and waits for Redis to apply it);
// the last one closes the node.
func (n *shardedNode) unregister(a *shardedAdapter, channels []string) {
	n.mu.Lock()
	delete(n.waiters, a.channel)
	delete(n.names, a.nsp)
	last := len(n.names) == 0
	n.mu.Unlock()
	for _, ch := range channels {
		n.setWant(a, ch, false, false)
	}
	if !last {
		n.sync(n.opts.RequestsTimeout)
		return
	}
	n.f.drop(n)
	n.sync(time.Second)
	close(n.stop)
	n.subWG.Wait()
	for _, s := range n.shards {
		_ = s.ps.Close()
	}
	n.wg.Wait()
	<-n.out.done
}

// subscriber applies the subscription wishes, in order, until the node
// closes.
func (n *shardedNode) subscriber() {
	defer n.subWG.Done()
	for {
		select {
		case <-n.wake:
		case <-n.stop:
			return
		}
		for n.apply() {
		}
	}
}

// apply performs the pending wishes; false when there were none.
func (n *shardedNode) apply() bool {
	n.mu.Lock()
	dirty, barriers := n.dirty, n.barriers
	n.dirty, n.barriers = nil, nil
	on := make(map[string]bool, len(dirty))
	for _, ch := range dirty {
		on[ch] = n.want[ch]
	}
	n.mu.Unlock()
	if len(dirty) == 0 && len(barriers) == 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.RequestsTimeout)
	defer cancel()
	subs := map[*shardSub][]string{}
	var fresh []string
	unsubs := map[*shardSub][]string{}
	seen := map[string]bool{}
	for _, ch := range dirty {
		if seen[ch] {
			continue
		}
		seen[ch] = true
		s := n.chShard[ch]
		switch {
		case on[ch] && s == nil:
			fresh = append(fresh, ch)
		case !on[ch] && s != nil:
			unsubs[s] = append(unsubs[s], ch)
			delete(n.chShard, ch)
		}
	}
	for s, chs := range unsubs {
		if err := s.ps.SUnsubscribe(ctx, chs...); err != nil {
			n.opts.Logger("warn", "unsubscribe failed", "channels", chs, "error", err.Error())
		}
	}
	for _, ch := range fresh {
		key, err := n.shardKey(ctx, ch)
		if err != nil {
			n.opts.Logger("warn", "no shard for channel", "channel", ch, "error", err.Error())
			continue
		}
		s := n.shards[key]
		if s == nil {
			// A new connection opens subscribed to its first channel, so
			// that a cluster client connects to the owner of its slot.
			s = &shardSub{ps: n.client.SSubscribe(ctx, ch), healthy: true}
			n.shards[key] = s
			n.wg.Add(1)
			go n.receive(s)
			n.chShard[ch] = s
			continue
		}
		subs[s] = append(subs[s], ch)
		n.chShard[ch] = s
	}
	for s, chs := range subs {
		if err := s.ps.SSubscribe(ctx, chs...); err != nil {
			// go-redis keeps them and subscribes again when it reconnects.
			n.opts.Logger("warn", "subscribe failed, retrying on reconnect", "channels", chs, "error", err.Error())
		}
	}
	for _, b := range barriers {
		close(b)
	}
	return true
}

// shardKey is the connection a channel is subscribed on: the master node
// owning its slot for a cluster, the only one otherwise.
func (n *shardedNode) shardKey(ctx context.Context, channel string) (string, error) {
	cc, ok := n.client.(*redis.ClusterClient)
	if !ok {
		return "", nil
	}
	c, err := cc.MasterForKey(ctx, channel)
	if err != nil {
		return "", err
	}
	return c.Options().Addr, nil
}

// shardNumSub is PUBSUB SHARDNUMSUB of channel (summed over the masters
// of a cluster, as Node's adapter does).
func (n *shardedNode) shardNumSub(ctx context.Context, channel string) (int, error) {
	if cc, ok := n.client.(*redis.ClusterClient); ok {
		var total atomic.Int64
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			res, err := c.PubSubShardNumSub(ctx, channel).Result()
			if err != nil {
				return err
			}
			total.Add(res[channel])
			return nil
		})
		return int(total.Load()), err
	}
	res, err := n.client.PubSubShardNumSub(ctx, channel).Result()
	if err != nil {
		return 0, err
	}
	return int(res[channel]), nil
}

// receive reads one subscriber connection until it is closed. go-redis
// reconnects and resubscribes when the connection breaks; this loop logs
// it and keeps reading.
func (n *shardedNode) receive(s *shardSub) {
	defer n.wg.Done()
	ctx := context.Background()
	backoff := 50 * time.Millisecond
	for {
		msg, err := s.ps.ReceiveTimeout(ctx, 15*time.Second)
		select {
		case <-n.stop:
			if err != nil {
				return
			}
		default:
		}
		if err != nil {
			if errors.Is(err, redis.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_ = s.ps.Ping(pctx)
				cancel()
				continue
			}
			if s.healthy {
				s.healthy = false
				n.down.Add(1)
				n.opts.Logger("warn", "redis subscription lost, reconnecting", "error", err.Error())
			}
			select {
			case <-n.stop:
				return
			case <-time.After(backoff):
			}
			if backoff < 2*time.Second {
				backoff *= 2
			}
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			if !s.healthy {
				s.healthy = true
				n.down.Add(-1)
				n.opts.Logger("info", "redis subscription restored")
			}
			if m.Kind == "ssubscribe" {
				n.mu.Lock()
				if w := n.waiters[m.Channel]; w != nil {
					close(w)
					delete(n.waiters, m.Channel)
				}
				n.mu.Unlock()
			}
		case *redis.Message:
			n.mu.Lock()
			r, ok := n.routes[m.Channel]
			n.mu.Unlock()
			if !ok {
				continue
			}
			if r.response {
				r.a.onResponse([]byte(m.Payload))
			} else {
				r.a.onMessage([]byte(m.Payload))
			}
		}
	}
}

// async runs fn on a goroutine the node waits for when it closes.
func (n *shardedNode) async(fn func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn()
	}()
}

// post queues a message nobody waits for; a full outbox drops it.
func (n *shardedNode) post(channel string, payload []byte) {
	if n.out.push(outMsg{channel: channel, payload: payload}) {
		return
	}
	n.out.mu.Lock()
	first := !n.out.dropping && !n.out.closed
	n.out.dropping = true
	n.out.mu.Unlock()
	if first {
		n.opts.Logger("error", "outbox full, dropping messages for the other nodes", "queued", maxQueued)
	}
}

// publish queues a message and waits until it is published (or failed).
func (n *shardedNode) publish(channel string, payload []byte) error {
	done := make(chan error, 1)
	if !n.out.push(outMsg{channel: channel, payload: payload, done: done}) {
		return ErrClosed
	}
	return <-done
}

// send is the sender goroutine. When the node closes it flushes what is
// queued (bounded by a second) and fails the rest.
func (n *shardedNode) send() {
	defer close(n.out.done)
	for {
		select {
		case <-n.out.wake:
		case <-n.stop:
			n.out.mu.Lock()
			n.out.closed = true
			n.out.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			for batch := n.out.take(); batch != nil; batch = n.out.take() {
				n.flush(ctx, batch)
			}
			cancel()
			return
		}
		for batch := n.out.take(); batch != nil; batch = n.out.take() {
			ctx, cancel := context.WithTimeout(context.Background(), n.opts.RequestsTimeout)
			n.flush(ctx, batch)
			cancel()
		}
	}
}

// flush publishes a batch with SPUBLISH in one pipeline.
func (n *shardedNode) flush(ctx context.Context, batch []outMsg) {
	cmds := make([]*redis.IntCmd, len(batch))
	_, _ = n.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range batch {
			cmds[i] = p.SPublish(ctx, m.channel, m.payload)
		}
		return nil
	})
	var failed error
	for i, m := range batch {
		err := cmds[i].Err()
		if err != nil && failed == nil {
			failed = err
		}
		if m.done != nil {
			m.done <- err
		}
	}
	n.out.mu.Lock()
	wasFailing := n.out.failing
	n.out.failing = failed != nil
	if failed == nil {
		n.out.dropping = false
	}
	n.out.mu.Unlock()
	switch {
	case failed != nil && !wasFailing:
		n.opts.Logger("error", "publish failed; other nodes miss this node's messages until Redis answers again",
			"error", failed.Error())
	case failed == nil && wasFailing:
		n.opts.Logger("info", "publish restored")
	}
}

// randomID is 8 random bytes in hex, as the uids and request ids of
// Node's ClusterAdapter.
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// shardedAdapter is the Adapter of one namespace: rooms are kept by the
// in-memory adapter (embedded), operations are carried to the other nodes.
type shardedAdapter struct {
	socketio.Adapter
	node *shardedNode
	host socketio.AdapterHost
	nsp  string
	uid  string
	mode SubscriptionMode

	channel    string // prefix#nsp#
	resChannel string // prefix#nsp#uid#

	// roomMu serializes the room changes in the dynamic modes, so that
	// members counts the local members of every room exactly.
	roomMu  sync.Mutex
	members map[string]int
	own     map[string]bool // rooms with a channel of their own
	sids    map[string]bool // local sockets
	// roomsClosed is set by Close: rooms change no subscription after it.
	roomsClosed bool

	mu       sync.Mutex
	closed   bool
	requests map[string]*pending
	acks     map[string]*ackRequest
	once     sync.Once
}

func newShardedAdapter(n *shardedNode, host socketio.AdapterHost) *shardedAdapter {
	nsp := host.Name()
	a := &shardedAdapter{
		Adapter:  socketio.NewMemoryAdapter(host),
		node:     n,
		host:     host,
		nsp:      nsp,
		uid:      randomID(),
		mode:     n.opts.SubscriptionMode,
		channel:  n.opts.ChannelPrefix + "#" + nsp + "#",
		members:  map[string]int{},
		own:      map[string]bool{},
		sids:     map[string]bool{},
		requests: map[string]*pending{},
		acks:     map[string]*ackRequest{},
	}
	a.resChannel = a.channel + a.uid + "#"
	n.register(a)
	return a
}

// looksLikeASocketID is Node's guess: a socket id has 20 characters.
func looksLikeASocketID(room string) bool { return len(room) == 20 }

// dynamicChannel is the channel of a room of its own.
func (a *shardedAdapter) dynamicChannel(room string) string { return a.channel + room + "#" }

// ownChannel reports whether a room created on this node gets a channel
// of its own: in dynamic mode the public rooms, and the socket-id rooms a
// Node peer would publish to on their own channel (those not 20
// characters long); in dynamic-private mode every room.
func (a *shardedAdapter) ownChannel(room string, private bool) bool {
	switch a.mode {
	case SubscriptionDynamicPrivate:
		return true
	case SubscriptionDynamic:
		return !private || !looksLikeASocketID(room)
	}
	return false
}

// broadcastChannel is the channel of a broadcast without acks, as Node's
// computeChannel picks it.
func (a *shardedAdapter) broadcastChannel(opts socketio.BroadcastOptions) string {
	if len(opts.Rooms) == 1 {
		r := opts.Rooms[0]
		if a.mode == SubscriptionDynamicPrivate || a.mode == SubscriptionDynamic && !looksLikeASocketID(r) {
			return a.dynamicChannel(r)
		}
	}
	return a.channel
}

func (a *shardedAdapter) dynamic() bool { return a.mode != SubscriptionStatic }

// created and deleted run under roomMu when a room gets its first or loses
// its last local member.
func (a *shardedAdapter) created(room string) {
	if !a.roomsClosed && a.ownChannel(room, a.sids[room]) {
		a.own[room] = true
		a.node.setWant(a, a.dynamicChannel(room), false, true)
	}
}

func (a *shardedAdapter) deleted(room string) {
	if !a.roomsClosed && a.own[room] {
		delete(a.own, room)
		a.node.setWant(a, a.dynamicChannel(room), false, false)
	}
}

// joined counts socket id in rooms it was not in (before lists its rooms
// before the change). The caller holds roomMu.
func (a *shardedAdapter) joined(id string, before []string, rooms []string) {
	had := make(map[string]bool, len(before)+len(rooms))
	for _, r := range before {
		had[r] = true
	}
	a.sids[id] = true
	for _, r := range rooms {
		if had[r] {
			continue
		}
		had[r] = true
		a.members[r]++
		if a.members[r] == 1 {
			a.created(r)
		}
	}
}

// left uncounts socket id from room. The caller holds roomMu.
func (a *shardedAdapter) left(room string) {
	if a.members[room] <= 1 {
		delete(a.members, room)
		a.deleted(room)
		return
	}
	a.members[room]--
}

// AddAll adds socket id to rooms.
func (a *shardedAdapter) AddAll(id string, rooms []string) {
	if !a.dynamic() {
		a.Adapter.AddAll(id, rooms)
		return
	}
	a.roomMu.Lock()
	defer a.roomMu.Unlock()
	before := a.Adapter.SocketRooms(id)
	a.Adapter.AddAll(id, rooms)
	a.joined(id, before, rooms)
}

// Del removes socket id from room.
func (a *shardedAdapter) Del(id, room string) {
	if !a.dynamic() {
		a.Adapter.Del(id, room)
		return
	}
	a.roomMu.Lock()
	defer a.roomMu.Unlock()
	a.delLocked(id, room)
}

func (a *shardedAdapter) delLocked(id, room string) {
	in := false
	for _, r := range a.Adapter.SocketRooms(id) {
		if r == room {
			in = true
			break
		}
	}
	a.Adapter.Del(id, room)
	if in {
		a.left(room)
	}
}

// DelAll removes socket id from every room.
func (a *shardedAdapter) DelAll(id string) {
	if !a.dynamic() {
		a.Adapter.DelAll(id)
		return
	}
	a.roomMu.Lock()
	defer a.roomMu.Unlock()
	before := a.Adapter.SocketRooms(id)
	a.Adapter.DelAll(id)
	for _, r := range before {
		a.left(r)
	}
	delete(a.sids, id)
}

// addSockets and delSockets apply a selection's room change locally.
func (a *shardedAdapter) addSockets(opts socketio.BroadcastOptions, rooms []string) error {
	if !a.dynamic() {
		return a.Adapter.AddSockets(opts, rooms)
	}
	a.roomMu.Lock()
	defer a.roomMu.Unlock()
	socks, err := a.Adapter.FetchSockets(context.Background(), opts)
	if err != nil {
		return err
	}
	for _, s := range socks {
		a.Adapter.AddAll(s.ID, rooms)
		a.joined(s.ID, s.Rooms, rooms)
	}
	return nil
}

func (a *shardedAdapter) delSockets(opts socketio.BroadcastOptions, rooms []string) error {
	if !a.dynamic() {
		return a.Adapter.DelSockets(opts, rooms)
	}
	a.roomMu.Lock()
	defer a.roomMu.Unlock()
	socks, err := a.Adapter.FetchSockets(context.Background(), opts)
	if err != nil {
		return err
	}
	for _, s := range socks {
		for _, r := range rooms {
			a.delLocked(s.ID, r)
		}
	}
	return nil
}

// Broadcast delivers to the local sockets at once, then queues the packet
// for the other nodes (unless Local), on the room's own channel when
// Node's adapter would use it. It never waits on Redis.
func (a *shardedAdapter) Broadcast(pkt *socketio.Packet, opts socketio.BroadcastOptions) error {
	if err := a.Adapter.Broadcast(pkt, opts); err != nil {
		return err
	}
	if opts.Flags.Local {
		return nil
	}
	msg, err := a.encodeBroadcast(pkt, opts, "")
	if err != nil {
		return err
	}
	a.node.post(a.broadcastChannel(opts), msg)
	return nil
}

// BroadcastWithAck publishes the broadcast with a request id on the
// namespace channel, then delivers locally; every other node reports its
// client count and relays its clients' acks.
func (a *shardedAdapter) BroadcastWithAck(pkt *socketio.Packet, opts socketio.BroadcastOptions, clientCount func(int), ack func([]byte)) error {
	if opts.Flags.Local {
		return a.Adapter.BroadcastWithAck(pkt, opts, clientCount, ack)
	}
	id := randomID()
	msg, err := a.encodeBroadcast(pkt, opts, id)
	if err != nil {
		return err
	}
	timeout := opts.Flags.Timeout
	if timeout <= 0 {
		timeout = a.node.opts.RequestsTimeout
	}
	ar := &ackRequest{clientCount: clientCount, ack: ack}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return ErrClosed
	}
	a.acks[id] = ar
	ar.timer = time.AfterFunc(timeout, func() {
		a.mu.Lock()
		delete(a.acks, id)
		a.mu.Unlock()
	})
	a.mu.Unlock()
	if err := a.node.publish(a.channel, msg); err != nil {
		a.mu.Lock()
		delete(a.acks, id)
		a.mu.Unlock()
		ar.timer.Stop()
		return fmt.Errorf("redisadapter: publish broadcast with ack: %w", err)
	}
	return a.Adapter.BroadcastWithAck(pkt, opts, clientCount, ack)
}

// ServerCount is PUBSUB SHARDNUMSUB of the namespace channel: every node
// serving the namespace, this one included.
func (a *shardedAdapter) ServerCount(ctx context.Context) (int, error) {
	if a.node.down.Load() > 0 {
		return 0, ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, a.node.opts.RequestsTimeout)
	defer cancel()
	n, err := a.node.shardNumSub(ctx, a.channel)
	if err != nil {
		return 0, fmt.Errorf("redisadapter: server count: %w", err)
	}
	return max(n, 1), nil
}

// FetchSockets returns the local sockets and those the other nodes
// report. When some node does not answer in time it returns what it has
// with an error wrapping socketio.ErrAdapterTimeout.
func (a *shardedAdapter) FetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]socketio.RemoteSocket, error) {
	local, err := a.Adapter.FetchSockets(ctx, opts)
	if err != nil || opts.Flags.Local {
		return local, err
	}
	count, err := a.ServerCount(ctx)
	if err != nil {
		return local, err
	}
	if count <= 1 {
		return local, nil
	}
	id := randomID()
	msg, err := a.encodeMsg(msgFetchSockets, map[string]any{"opts": wireOptions(opts, false), "requestId": id})
	if err != nil {
		return local, err
	}
	timeout := opts.Flags.Timeout
	if timeout <= 0 {
		timeout = a.node.opts.RequestsTimeout
	}
	p, err := a.await(ctx, id, msgFetchSockets, count-1, msg, timeout)
	if p == nil {
		return local, err
	}
	out := append(local, p.sockets...)
	if errors.Is(err, ErrClosed) {
		return out, err
	}
	if err != nil {
		return out, fmt.Errorf("%w: fetchSockets: only %d responses received out of %d", socketio.ErrAdapterTimeout, p.got, p.expected)
	}
	return out, nil
}

// await publishes a request and waits until expected answers arrived, ctx
// ends or timeout passes. The request's fields may be read once await
// returned; the error is non-nil when it is not complete.
func (a *shardedAdapter) await(ctx context.Context, id string, typ, expected int, msg []byte, timeout time.Duration) (*pending, error) {
	p := &pending{typ: typ, expected: expected, done: make(chan struct{})}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil, ErrClosed
	}
	a.requests[id] = p
	a.mu.Unlock()
	if err := a.node.publish(a.channel, msg); err != nil {
		a.mu.Lock()
		delete(a.requests, id)
		a.mu.Unlock()
		return nil, fmt.Errorf("redisadapter: publish request: %w", err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	var err error
	select {
	case <-p.done:
	case <-t.C:
		err = socketio.ErrAdapterTimeout
	case <-ctx.Done():
		err = ctx.Err()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.requests, id)
	if err == nil && p.got < p.expected {
		err = ErrClosed
	}
	return p, err
}

// AddSockets applies locally at once and asks the other nodes to apply.
func (a *shardedAdapter) AddSockets(opts socketio.BroadcastOptions, rooms []string) error {
	if err := a.addSockets(opts, rooms); err != nil || opts.Flags.Local {
		return err
	}
	return a.postMsg(msgSocketsJoin, map[string]any{"opts": wireOptions(opts, false), "rooms": nonNil(rooms)})
}

// DelSockets applies locally at once and asks the other nodes to apply.
func (a *shardedAdapter) DelSockets(opts socketio.BroadcastOptions, rooms []string) error {
	if err := a.delSockets(opts, rooms); err != nil || opts.Flags.Local {
		return err
	}
	return a.postMsg(msgSocketsLeave, map[string]any{"opts": wireOptions(opts, false), "rooms": nonNil(rooms)})
}

// DisconnectSockets applies locally at once and asks the other nodes to
// apply.
func (a *shardedAdapter) DisconnectSockets(opts socketio.BroadcastOptions, closeConn bool) error {
	if err := a.Adapter.DisconnectSockets(opts, closeConn); err != nil || opts.Flags.Local {
		return err
	}
	return a.postMsg(msgDisconnectSockets, map[string]any{"opts": wireOptions(opts, false), "close": closeConn})
}

// ServerSideEmit sends a server-side event to the other nodes; with ack it
// waits (on a goroutine) for one answer per other node.
func (a *shardedAdapter) ServerSideEmit(event string, args [][]byte, ack func([][]byte, error)) error {
	data, err := eventData(event, args)
	if err != nil {
		return err
	}
	if ack == nil {
		return a.postMsg(msgServerSideEmit, map[string]any{"packet": data})
	}
	count, err := a.ServerCount(context.Background())
	if err != nil {
		return err
	}
	if count-1 <= 0 {
		a.node.async(func() { ack(nil, nil) })
		return nil
	}
	id := randomID()
	msg, err := a.encodeMsg(msgServerSideEmit, map[string]any{"requestId": id, "packet": data})
	if err != nil {
		return err
	}
	p := &pending{typ: msgServerSideEmit, expected: count - 1, done: make(chan struct{})}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return ErrClosed
	}
	a.requests[id] = p
	a.mu.Unlock()
	if err := a.node.publish(a.channel, msg); err != nil {
		a.mu.Lock()
		delete(a.requests, id)
		a.mu.Unlock()
		return fmt.Errorf("redisadapter: publish server-side emit: %w", err)
	}
	a.node.async(func() {
		t := time.NewTimer(a.node.opts.RequestsTimeout)
		defer t.Stop()
		select {
		case <-p.done:
		case <-t.C:
		}
		a.mu.Lock()
		delete(a.requests, id)
		responses, got, closed := p.responses, p.got, a.closed
		a.mu.Unlock()
		switch {
		case got < p.expected && closed:
			ack(responses, ErrClosed)
		case got < p.expected:
			ack(responses, fmt.Errorf("%w: only %d responses received out of %d", socketio.ErrAdapterTimeout, got, p.expected))
		default:
			ack(responses, nil)
		}
	})
	return nil
}

// Close unsubscribes the namespace's channels (its rooms' too) and ends
// its pending requests.
func (a *shardedAdapter) Close() error {
	a.once.Do(func() {
		a.mu.Lock()
		a.closed = true
		for id, p := range a.requests {
			close(p.done)
			delete(a.requests, id)
		}
		for id, ar := range a.acks {
			ar.timer.Stop()
			delete(a.acks, id)
		}
		a.mu.Unlock()
		channels := []string{a.channel, a.resChannel}
		a.roomMu.Lock()
		for r := range a.own {
			channels = append(channels, a.dynamicChannel(r))
		}
		a.roomsClosed = true
		a.roomMu.Unlock()
		a.node.unregister(a, channels)
		_ = a.Adapter.Close()
	})
	return nil
}
