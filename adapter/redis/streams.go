package redisadapter

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"

	socketio "github.com/fiber-socketio/socketio"
	"github.com/redis/go-redis/v9"
)

// This file is the streams adapter: the protocol of Node's
// @socket.io/redis-streams-adapter. Broadcasts and room operations go
// through a Redis stream (XADD, read by every node with XREAD), requests
// and their answers through pub/sub; lost sessions are kept in Redis, so
// connection-state recovery works across nodes.

// StreamsOptions configure the streams adapter. The zero value is Node's
// createAdapter defaults.
type StreamsOptions struct {
	// StreamName is the name of the stream, or the prefix of the streams
	// when StreamCount > 1. Default "socket.io".
	StreamName string
	// StreamCount spreads the namespaces over this many streams
	// (StreamName-0, StreamName-1, ...), each namespace on one stream as
	// Node's hash of its name picks it. Default 1.
	StreamCount int
	// ChannelPrefix prefixes the pub/sub channels of requests and answers.
	// Default "socket.io".
	ChannelPrefix string
	// MaxLen bounds the stream (XADD MAXLEN ~). A client can recover only
	// while the last packet it received is still in the stream. Default
	// 10,000.
	MaxLen int64
	// ReadCount is the COUNT of one XREAD. Default 100.
	ReadCount int64
	// BlockTime is the BLOCK of one XREAD. Default 5 s.
	BlockTime time.Duration
	// SessionKeyPrefix prefixes the keys of the lost sessions. Default
	// "sio:session:".
	SessionKeyPrefix string
	// RequestsTimeout bounds the requests that wait for other nodes
	// (FetchSockets, ServerSideEmitWithAck), one write to Redis, and a
	// session's restore. Default 5 s.
	RequestsTimeout time.Duration
	// Logger receives warnings (Redis lost and back, malformed messages).
	Logger func(level, msg string, fields ...any)
}

func (o StreamsOptions) normalized() StreamsOptions {
	if o.StreamName == "" {
		o.StreamName = "socket.io"
	}
	if o.StreamCount <= 0 {
		o.StreamCount = 1
	}
	if o.ChannelPrefix == "" {
		o.ChannelPrefix = "socket.io"
	}
	if o.MaxLen <= 0 {
		o.MaxLen = 10_000
	}
	if o.ReadCount <= 0 {
		o.ReadCount = 100
	}
	if o.BlockTime <= 0 {
		o.BlockTime = 5 * time.Second
	}
	if o.SessionKeyPrefix == "" {
		o.SessionKeyPrefix = "sio:session:"
	}
	if o.RequestsTimeout <= 0 {
		o.RequestsTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = func(string, string, ...any) {}
	}
	return o
}

// NewStreams returns the factory of the streams adapter, for
// Server.SetAdapter: the counterpart of Node's createAdapter of
// @socket.io/redis-streams-adapter (0.3), with the same defaults, so Go
// and Node servers using it with the same Redis and options serve one
// cluster.
//
// It is a socketio.PacketStore: with connection-state recovery on, every
// stored packet is added to the stream first and its entry id is the
// offset the client receives; a lost socket's session (id, rooms,
// attributes) is kept in Redis for MaxDisconnectionDuration, and a client
// that reconnects to any node gets it back with the packets of the stream
// addressed to it since its offset. With recovery on, local delivery of a
// broadcast waits for its XADD (as with Node's adapter); when Redis does
// not take it, the broadcast is delivered locally without an offset and
// the failure is logged. With recovery off, broadcasts are delivered
// locally at once, as with the other adapters.
//
// Sharded pub/sub (Node's useShardedPubSub) is not supported.
func NewStreams(client redis.UniversalClient, opts StreamsOptions) socketio.AdapterFactory {
	f := &streamsFactory{client: client, opts: opts.normalized()}
	return f.create
}

// streamsFactory hands out the nodes of the servers it serves.
type streamsFactory struct {
	client redis.UniversalClient
	opts   StreamsOptions
	nodes  nodePool[*streamsNode]
}

func (f *streamsFactory) create(host socketio.AdapterHost) socketio.Adapter {
	n := f.nodes.acquire(host.Name(), func() *streamsNode { return newStreamsNode(f) })
	return newStreamsAdapter(n, host)
}

// streamName is the stream of namespace nsp, as Node's computeStreamName
// picks it (its hash may be negative, and so the index).
func streamName(nsp string, opts StreamsOptions) string {
	if opts.StreamCount == 1 {
		return opts.StreamName
	}
	return opts.StreamName + "-" + strconv.Itoa(int(jsHashCode(nsp)%int32(opts.StreamCount)))
}

// jsHashCode is Node's hashCode: a 32-bit hash of the UTF-16 code units.
func jsHashCode(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = h*31 + int32(0xD800+(r>>10))
			r = 0xDC00 + (r & 0x3FF)
		}
		h = h*31 + int32(r)
	}
	return h
}

// streamsAdapter is the Adapter of one namespace.
type streamsAdapter struct {
	clusterNsp
	node      *streamsNode
	stream    string
	channel   string // prefix#nsp#: requests of every node
	myChannel string // prefix#nsp#uid#: answers to this node
	once      sync.Once
}

func newStreamsAdapter(n *streamsNode, host socketio.AdapterHost) *streamsAdapter {
	nsp := host.Name()
	a := &streamsAdapter{
		clusterNsp: newClusterNsp(host, n.opts.Logger, n.async),
		node:       n,
		stream:     streamName(nsp, n.opts),
		channel:    n.opts.ChannelPrefix + "#" + nsp + "#",
	}
	a.myChannel = a.channel + a.uid + "#"
	a.reply, a.join, a.leave = a.respond, a.Adapter.AddSockets, a.Adapter.DelSockets
	a.count, a.encode, a.send = a.ServerCount, a.encodeEphemeral, a.addEntry
	a.ackWire = toMsgpack // a broadcast with acks goes on a channel
	a.post = func(msg []byte) { n.out.post(a.channel, msg) }
	a.requester.init(func(msg []byte) error { return n.out.publish(a.channel, msg) }, n.async, n.opts.RequestsTimeout)
	n.register(a)
	return a
}

// StoresPackets reports that the stream keeps the stored packets.
func (a *streamsAdapter) StoresPackets() bool { return true }

// Broadcast adds the broadcast to the stream (unless Local) and delivers
// it to the local sockets. It does not wait for Redis. With
// connection-state recovery on, the local delivery follows the XADD, in
// the order of the calls, with the entry id as the packet's offset when
// the namespace asked for one; with recovery off, it is done at once.
func (a *streamsAdapter) Broadcast(pkt *socketio.Packet, opts socketio.BroadcastOptions) error {
	if opts.Flags.Local {
		pkt.Offset = ""
		return a.Adapter.Broadcast(pkt, opts)
	}
	fields, err := a.broadcastEntry(pkt, opts)
	if err != nil {
		return err
	}
	if !a.host.Recovery() {
		a.node.writer.add(a.stream, fields, nil)
		pkt.Offset = ""
		return a.Adapter.Broadcast(pkt, opts)
	}
	cp, copts := copyPacket(pkt), copyOptions(opts)
	stored := pkt.Offset != ""
	a.node.writer.add(a.stream, fields, func(id string, err error) {
		// Not added (the writer logs the failure): delivered on this
		// node only, without an offset.
		cp.Offset = ""
		if err == nil && stored {
			cp.Offset = id
		}
		_ = a.Adapter.Broadcast(cp, copts)
	})
	return nil
}

// ServerCount is PUBSUB NUMSUB of the namespace channel: every node
// serving the namespace, this one included.
func (a *streamsAdapter) ServerCount(ctx context.Context) (int, error) {
	if a.node.down.Load() {
		return 0, ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, a.node.opts.RequestsTimeout)
	defer cancel()
	res, err := a.node.client.PubSubNumSub(ctx, a.channel).Result()
	if err != nil {
		return 0, fmt.Errorf("redisadapter: server count: %w", err)
	}
	return max(int(res[a.channel]), 1), nil
}

// respond publishes an answer on the requester's channel.
func (a *streamsAdapter) respond(requester string, typ int, data map[string]any) {
	if requester == "" {
		return
	}
	msg, err := a.encodeEphemeral(typ, data)
	if err != nil {
		a.logger("error", "encode response", "namespace", a.nsp, "error", err.Error())
		return
	}
	a.node.out.post(a.channel+requester+"#", msg)
}

// onPublished handles a message of the namespace channel or of this
// node's channel.
func (a *streamsAdapter) onPublished(payload []byte) {
	m, atts, err := decodeCluster(payload)
	if err != nil {
		a.logger("warn", "malformed message", "namespace", a.nsp, "error", err.Error())
		return
	}
	a.dispatch(m, atts, "")
}

// Close unsubscribes the namespace's channels and ends its pending
// requests.
func (a *streamsAdapter) Close() error {
	a.once.Do(func() {
		a.closeRequests()
		a.node.unregister(a)
		_ = a.Adapter.Close()
	})
	return nil
}

// PersistSession keeps the session in Redis (SET PX) for the time left
// until its deadline, as Node's adapter keeps it: {sid, pid, rooms,
// data}, msgpack in base64, and the socket leaves its rooms here.
func (a *streamsAdapter) PersistSession(s *socketio.Session) {
	a.Adapter.DelAll(s.ID)
	ttl := time.Until(s.Deadline)
	if ttl <= 0 {
		return
	}
	value, err := encodeSession(s)
	if err != nil {
		a.logger("warn", "session not persisted", "namespace", a.nsp, "error", err.Error())
		return
	}
	a.node.writer.set(a.node.opts.SessionKeyPrefix+s.PID, value, ttl)
}

// streamOffset is the form of a stream entry id.
var streamOffset = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// nextOffset is the entry id right after offset (an exclusive XRANGE
// start that Redis before 6.2 also takes, as Node's adapter computes it).
func nextOffset(offset string) string {
	for i := len(offset) - 1; i >= 0; i-- {
		if offset[i] == '-' {
			seq, _ := strconv.ParseUint(offset[i+1:], 10, 64)
			return offset[:i+1] + strconv.FormatUint(seq+1, 10)
		}
	}
	return offset
}

// restoreMaxReads bounds the XRANGE calls of one restore, as Node's
// RESTORE_SESSION_MAX_XRANGE_CALLS.
const restoreMaxReads = 100

// RestoreSession takes the session out of Redis and reads the stream
// after offset for the broadcasts addressed to its rooms. The offset must
// still be in the stream.
func (a *streamsAdapter) RestoreSession(pid, offset string) (*socketio.Session, error) {
	if !streamOffset.MatchString(offset) {
		return nil, fmt.Errorf("%w: %q is not a stream offset", socketio.ErrRecoveryOffsetUnknown, offset)
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.node.opts.RequestsTimeout)
	defer cancel()
	key := a.node.opts.SessionKeyPrefix + pid
	var get *redis.StringCmd
	_, err := a.node.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, key)
		p.Del(ctx, key)
		return nil
	})
	if err != nil && err != redis.Nil {
		return nil, fmt.Errorf("redisadapter: restore session: %w", err)
	}
	raw, err := get.Result()
	if err == redis.Nil {
		return nil, socketio.ErrSessionNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redisadapter: restore session: %w", err)
	}
	s, err := decodeSession(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", socketio.ErrSessionNotFound, err)
	}
	if entries, err := a.node.client.XRange(ctx, a.stream, offset, offset).Result(); err != nil || len(entries) == 0 {
		return nil, fmt.Errorf("%w: %s is no longer in the stream", socketio.ErrRecoveryOffsetUnknown, offset)
	}
	for i := 0; i < restoreMaxReads; i++ {
		entries, err := a.node.client.XRangeN(ctx, a.stream, nextOffset(offset), "+", 1000).Result()
		if err != nil {
			return nil, fmt.Errorf("redisadapter: restore session: %w", err)
		}
		if len(entries) == 0 {
			break
		}
		for _, e := range entries {
			offset = e.ID
			if p := a.missedPacket(e, s.Rooms); p != nil {
				s.Missed = append(s.Missed, p)
			}
		}
	}
	return s, nil
}
