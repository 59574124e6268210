package redisadapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
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
		o.Logger = defaultLogger("socketio sharded redis adapter: ")
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
// subscriptions use a connection of their own per server (with a
// *redis.ClusterClient, one per hash slot of the channels subscribed, so
// that each connects to its slot's master and subscribes again there
// after a reconnection, as Redis refuses an SSUBSCRIBE across slots). Use
// one factory per server. Broadcasts (with acks too), FetchSockets,
// SocketsJoin, SocketsLeave, DisconnectSockets and ServerSideEmit (with
// acks too) reach every node; requests that wait for other nodes end after
// RequestsTimeout (or the operator's timeout) with an error wrapping
// socketio.ErrAdapterTimeout, and fail at once with ErrUnavailable while a
// subscriber connection is lost. Everything published goes through one ordered, pipelined outbox.
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
	nodes  nodePool[*shardedNode]
}

func (f *shardedFactory) create(host socketio.AdapterHost) socketio.Adapter {
	n := f.nodes.acquire(host.Name(), func() *shardedNode { return newShardedNode(f) })
	return newShardedAdapter(n, host)
}

// shardRoute says which adapter a channel's messages go to.
type shardRoute struct {
	a        *shardedAdapter
	response bool
}

// shardSub is one subscriber connection: the only one for a standalone
// Redis, one per hash slot for a cluster (a connection resubscribes all
// its channels in one SSUBSCRIBE when it reconnects, which Redis Cluster
// refuses with CROSSSLOT when they are in different slots).
type shardSub struct {
	ps   *redis.PubSub
	slot int
	n    int           // channels subscribed on it
	stop chan struct{} // closed (before ps) when the connection goes
}

// close ends the connection and its receiver.
func (s *shardSub) close() {
	close(s.stop)
	_ = s.ps.Close()
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
	// confirms wakes register when Redis confirms a namespace channel.
	confirms confirmations

	mu       sync.Mutex
	routes   map[string]shardRoute
	want     map[string]bool // channels that should be subscribed
	dirty    []string        // channels whose wish changed
	barriers []chan struct{}
	wake     chan struct{}

	// Owned by the subscriber goroutine (and read at close, after it
	// ended).
	shards  map[int]*shardSub    // by slot (-1 for a standalone Redis)
	chShard map[string]*shardSub // subscribed channel -> its connection
}

func newShardedNode(f *shardedFactory) *shardedNode {
	n := &shardedNode{
		f:       f,
		client:  f.client,
		opts:    f.opts,
		stop:    make(chan struct{}),
		routes:  map[string]shardRoute{},
		want:    map[string]bool{},
		wake:    make(chan struct{}, 1),
		shards:  map[int]*shardSub{},
		chShard: map[string]*shardSub{},
	}
	n.out.init(f.client, redis.Pipeliner.SPublish, f.opts.RequestsTimeout, f.opts.Logger, n.stop)
	n.subWG.Add(1)
	go n.subscriber()
	return n
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
// SHARDNUMSUB before it serves clients; it does not wait while the
// subscription is lost (the channels are subscribed on reconnection).
func (n *shardedNode) register(a *shardedAdapter) {
	wait := n.confirms.expect(a.channel)
	n.setWant(a, a.channel, false, true)
	n.setWant(a, a.resChannel, true, true)
	if n.down.Load() > 0 {
		return // Redis is away: the subscription comes with the reconnection
	}
	awaitConfirmed(wait, n.opts.Logger, a.nsp)
}

// unregister removes a's subscriptions (and waits for Redis to apply it);
// the last one closes the node.
func (n *shardedNode) unregister(a *shardedAdapter, channels []string) {
	n.confirms.forget(a.channel)
	last := n.f.nodes.release(n, a.nsp)
	for _, ch := range channels {
		n.setWant(a, ch, false, false)
	}
	if !last {
		n.sync(n.opts.RequestsTimeout)
		return
	}
	n.sync(time.Second)
	close(n.stop)
	n.subWG.Wait()
	for _, s := range n.shards {
		s.close()
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
			s.n--
		}
	}
	for s, chs := range unsubs {
		if s.n == 0 && s.slot >= 0 {
			// A cluster's slot without channels: its connection goes.
			delete(n.shards, s.slot)
			s.close()
			continue
		}
		if err := s.ps.SUnsubscribe(ctx, chs...); err != nil {
			n.opts.Logger("warn", "unsubscribe failed", "channels", chs, "error", err.Error())
		}
	}
	for _, ch := range fresh {
		slot := n.slot(ch)
		s := n.shards[slot]
		if s == nil {
			// A new connection opens subscribed to its first channel, so
			// that a cluster client connects to the owner of its slot.
			s = &shardSub{ps: n.client.SSubscribe(ctx, ch), slot: slot, n: 1, stop: make(chan struct{})}
			n.shards[slot] = s
			n.wg.Add(1)
			go n.receive(s)
			n.chShard[ch] = s
			continue
		}
		subs[s] = append(subs[s], ch)
		n.chShard[ch] = s
		s.n++
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

// slot is the connection a channel is subscribed on: its hash slot for a
// cluster, -1 (the only connection) otherwise.
func (n *shardedNode) slot(channel string) int {
	if _, ok := n.client.(*redis.ClusterClient); !ok {
		return -1
	}
	return hashSlot(channel)
}

// hashSlot is the Redis Cluster hash slot of key: CRC16 (XMODEM) of its
// hash tag (the text between its first "{" and the next "}", when not
// empty) or of the whole key, modulo 16384.
func hashSlot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

// shardNumSub is PUBSUB SHARDNUMSUB of channel, asked of the master owning
// its slot for a cluster (the other masters count no subscriber of it).
func (n *shardedNode) shardNumSub(ctx context.Context, channel string) (int, error) {
	var c redis.Cmdable = n.client
	if cc, ok := n.client.(*redis.ClusterClient); ok {
		m, err := cc.MasterForKey(ctx, channel)
		if err != nil {
			return 0, err
		}
		c = m
	}
	res, err := c.PubSubShardNumSub(ctx, channel).Result()
	if err != nil {
		return 0, err
	}
	return int(res[channel]), nil
}

// receive reads one subscriber connection until it is closed.
func (n *shardedNode) receive(s *shardSub) {
	defer n.wg.Done()
	lost := false // whether this connection counts in down
	defer func() {
		if lost { // closed while lost
			n.down.Add(-1)
		}
	}()
	readSubscription(s.ps, s.stop, n.opts.Logger,
		func() { lost = true; n.down.Add(1) }, func() { lost = false; n.down.Add(-1) },
		func(msg any) {
			switch m := msg.(type) {
			case *redis.Subscription:
				if m.Kind == "ssubscribe" {
					n.confirms.confirmed(m.Channel)
				}
			case *redis.Message:
				n.mu.Lock()
				r, ok := n.routes[m.Channel]
				n.mu.Unlock()
				switch {
				case !ok:
				case r.response:
					r.a.onResponse([]byte(m.Payload))
				default:
					r.a.onMessage([]byte(m.Payload))
				}
			}
		})
}

// async runs fn on a goroutine the node waits for when it closes.
func (n *shardedNode) async(fn func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn()
	}()
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

	requester // requests go on the namespace channel
	once      sync.Once
}

func newShardedAdapter(n *shardedNode, host socketio.AdapterHost) *shardedAdapter {
	nsp := host.Name()
	a := &shardedAdapter{
		Adapter: socketio.NewMemoryAdapter(host),
		node:    n,
		host:    host,
		nsp:     nsp,
		uid:     randomID(),
		mode:    n.opts.SubscriptionMode,
		channel: n.opts.ChannelPrefix + "#" + nsp + "#",
		members: map[string]int{},
		own:     map[string]bool{},
		sids:    map[string]bool{},
	}
	a.resChannel = a.channel + a.uid + "#"
	a.requester.init(func(msg []byte) error { return n.out.publish(a.channel, msg) }, n.async, n.opts.RequestsTimeout)
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
	return a.eachLocal(opts, func(s socketio.RemoteSocket) {
		a.Adapter.AddAll(s.ID, rooms)
		a.joined(s.ID, s.Rooms, rooms)
	})
}

func (a *shardedAdapter) delSockets(opts socketio.BroadcastOptions, rooms []string) error {
	if !a.dynamic() {
		return a.Adapter.DelSockets(opts, rooms)
	}
	return a.eachLocal(opts, func(s socketio.RemoteSocket) {
		for _, r := range rooms {
			a.delLocked(s.ID, r)
		}
	})
}

// eachLocal runs fn, under roomMu, for each local socket opts selects.
func (a *shardedAdapter) eachLocal(opts socketio.BroadcastOptions, fn func(s socketio.RemoteSocket)) error {
	a.roomMu.Lock()
	defer a.roomMu.Unlock()
	socks, err := a.Adapter.FetchSockets(context.Background(), opts)
	if err != nil {
		return err
	}
	for _, s := range socks {
		fn(s)
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
	a.node.out.post(a.broadcastChannel(opts), msg)
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
	if err := a.publishWithAcks(id, msg, opts.Flags.Timeout, clientCount, ack); err != nil {
		return err
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
	local, others, err := fetchLocal(ctx, a.Adapter, a.ServerCount, opts)
	if err != nil || others <= 0 {
		return local, err
	}
	id := randomID()
	msg, err := a.encodeMsg(msgFetchSockets, map[string]any{"opts": wireOptions(opts, false), "requestId": id})
	if err != nil {
		return local, err
	}
	p, err := a.await(ctx, id, msgFetchSockets, others, msg, opts.Flags.Timeout)
	return fetched(local, p, err, "fetchSockets: only %d responses received out of %d")
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
	return a.collect(id, msgServerSideEmit, count-1, msg, ack)
}

// Close unsubscribes the namespace's channels (its rooms' too) and ends
// its pending requests.
func (a *shardedAdapter) Close() error {
	a.once.Do(func() {
		a.closeRequests()
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
