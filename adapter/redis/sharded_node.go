package redisadapter

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// This file is the sharded adapter's node: one server's subscriber
// connections (one per hash slot on a Redis Cluster), the goroutine that
// applies the subscriptions in order, and its outbox.

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
