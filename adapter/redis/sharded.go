package redisadapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
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
	clusterNsp
	node *shardedNode
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

	once sync.Once
}

func newShardedAdapter(n *shardedNode, host socketio.AdapterHost) *shardedAdapter {
	nsp := host.Name()
	a := &shardedAdapter{
		clusterNsp: newClusterNsp(host, n.opts.Logger, n.async),
		node:       n,
		mode:       n.opts.SubscriptionMode,
		channel:    n.opts.ChannelPrefix + "#" + nsp + "#",
		members:    map[string]int{},
		own:        map[string]bool{},
		sids:       map[string]bool{},
	}
	a.reply, a.join, a.leave = a.respond, a.addSockets, a.delSockets
	a.count, a.encode, a.send = a.ServerCount, a.encodeMsg, a.postMsg
	a.post = func(msg []byte) { n.out.post(a.channel, msg) }
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
