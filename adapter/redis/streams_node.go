package redisadapter

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// This file is the streams adapter's node: one server's subscriber
// connection (the namespaces' request and answer channels), its readers
// (one XREAD loop per stream its namespaces use), and its writers (the
// outbox for PUBLISH, the stream writer for XADD and SET).

type streamsNode struct {
	f      *streamsFactory
	client redis.UniversalClient
	opts   StreamsOptions
	ps     *redis.PubSub
	stop   chan struct{}
	done   chan struct{} // closed when the subscriber loop ended
	// wg counts the goroutines answering and running callbacks.
	wg      sync.WaitGroup
	readers sync.WaitGroup
	readCtx context.Context
	cancel  context.CancelFunc
	// blocked are the readers' connections, which CLIENT UNBLOCK wakes
	// when the node closes.
	blocked  sync.Map    // stream -> blockedReader
	down     atomic.Bool // the subscriber connection is lost
	out      outbox
	writer   streamWriter
	confirms confirmations

	mu       sync.Mutex
	channels map[string]*streamsAdapter
	streams  map[string]map[string]*streamsAdapter // stream -> namespace -> adapter
}

func newStreamsNode(f *streamsFactory) *streamsNode {
	n := &streamsNode{
		f:        f,
		client:   f.client,
		opts:     f.opts,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		channels: map[string]*streamsAdapter{},
		streams:  map[string]map[string]*streamsAdapter{},
	}
	n.readCtx, n.cancel = context.WithCancel(context.Background())
	n.ps = f.client.Subscribe(context.Background())
	n.out.init(f.client, redis.Pipeliner.Publish, f.opts.RequestsTimeout, f.opts.Logger, n.stop)
	n.writer.init(f.client, f.opts, n.stop, n.down.Load)
	go n.receive()
	return n
}

// register routes a's stream and channels to it, starts reading its
// stream, and waits (briefly) for Redis to confirm the namespace channel,
// so that the node counts in PUBSUB NUMSUB before it serves clients.
func (n *streamsNode) register(a *streamsAdapter) {
	n.mu.Lock()
	n.channels[a.channel] = a
	n.channels[a.myChannel] = a
	byNsp := n.streams[a.stream]
	if byNsp == nil {
		byNsp = map[string]*streamsAdapter{}
		n.streams[a.stream] = byNsp
		n.readers.Add(1)
		go n.read(a.stream)
	}
	byNsp[a.nsp] = a
	n.mu.Unlock()
	wait := n.confirms.expect(a.channel)
	subscribe(n.ps, wait, &n.down, n.opts.RequestsTimeout, n.opts.Logger, a.nsp, a.channel, a.myChannel)
}

// unregister removes a's routes; the last one closes the node.
func (n *streamsNode) unregister(a *streamsAdapter) {
	n.mu.Lock()
	delete(n.channels, a.channel)
	delete(n.channels, a.myChannel)
	delete(n.streams[a.stream], a.nsp)
	n.mu.Unlock()
	n.confirms.forget(a.channel)
	if n.f.nodes.release(n, a.nsp) {
		close(n.stop)
		n.cancel()
		_ = n.ps.Close()
		<-n.done
		n.stopReaders()
		n.wg.Wait()
		<-n.out.done
		<-n.writer.done
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = n.ps.Unsubscribe(ctx, a.channel, a.myChannel)
}

// receive reads the subscriber connection until the node closes.
func (n *streamsNode) receive() {
	defer close(n.done)
	readSubscription(n.ps, n.stop, n.opts.Logger,
		func() { n.down.Store(true) }, func() { n.down.Store(false) },
		func(msg any) {
			switch m := msg.(type) {
			case *redis.Subscription:
				n.confirms.confirmed(m.Channel)
			case *redis.Message:
				n.mu.Lock()
				a := n.channels[m.Channel]
				n.mu.Unlock()
				if a != nil {
					a.onPublished([]byte(m.Payload))
				}
			}
		})
}

// read reads stream from its end at the start, until the node closes,
// and hands each entry to the adapter of its namespace. After an error it
// goes on from the last entry it read, so nothing the stream still holds
// is missed.
func (n *streamsNode) read(stream string) {
	defer n.readers.Done()
	var (
		r     redis.Cmdable
		conn  *redis.Conn
		owner *redis.Client
	)
	// open takes a connection for the reader: at the start, and after an
	// error, which may leave the connection broken.
	open := func() {
		if conn != nil {
			_ = conn.Close()
		}
		n.blocked.Delete(stream)
		r = n.client
		if conn, owner = n.readerConn(stream); conn != nil {
			r = conn
		}
	}
	open()
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	offset := "" // not known yet
	healthy := true
	backoff := 50 * time.Millisecond
	for {
		var err error
		if offset == "" {
			offset, err = n.lastEntry(stream)
		}
		if err == nil && conn != nil {
			if _, ok := n.blocked.Load(stream); !ok {
				if id, err := conn.ClientID(n.readCtx).Result(); err == nil {
					n.blocked.Store(stream, blockedReader{owner, id})
				}
			}
		}
		if n.readCtx.Err() != nil {
			return
		}
		var res []redis.XStream
		if err == nil {
			res, err = r.XRead(n.readCtx, &redis.XReadArgs{
				Streams: []string{stream, offset},
				Count:   n.opts.ReadCount,
				Block:   n.opts.BlockTime,
			}).Result()
		}
		if n.readCtx.Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			open()
			if healthy {
				healthy = false
				n.opts.Logger("warn", "redis stream read failed, retrying", "stream", stream, "error", err.Error())
			}
			select {
			case <-n.stop:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		if !healthy {
			healthy = true
			n.opts.Logger("info", "redis stream read again", "stream", stream)
		}
		backoff = 50 * time.Millisecond
		for _, s := range res {
			for _, e := range s.Messages {
				offset = e.ID
				n.deliver(stream, e)
			}
		}
	}
}

// readerConn is a connection of its own for the reader of stream, so that
// CLIENT UNBLOCK can end its wait when the node closes; nil when the
// client cannot give one (the reader then uses the pool, and the node's
// close waits for its XREAD to time out, at most BlockTime).
// With it comes the client of the server the connection is to.
func (n *streamsNode) readerConn(stream string) (*redis.Conn, *redis.Client) {
	switch c := n.client.(type) {
	case *redis.Client:
		return c.Conn(), c
	case *redis.ClusterClient:
		ctx, cancel := context.WithTimeout(n.readCtx, n.opts.RequestsTimeout)
		defer cancel()
		if m, err := c.MasterForKey(ctx, stream); err == nil {
			return m.Conn(), m
		}
	}
	return nil, nil
}

// blockedReader is a reader's connection: its id, on the server of owner.
type blockedReader struct {
	owner *redis.Client
	id    int64
}

// stopReaders wakes the readers' blocked XREADs until they all ended (a
// reader may be about to block when the first CLIENT UNBLOCK comes).
func (n *streamsNode) stopReaders() {
	done := make(chan struct{})
	go func() { n.readers.Wait(); close(done) }()
	for {
		n.blocked.Range(func(_, v any) bool {
			b := v.(blockedReader)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = b.owner.ClientUnblock(ctx, b.id).Err()
			cancel()
			return true
		})
		select {
		case <-done:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// lastEntry is the id of the last entry of stream, "0-0" when it has none
// (everything added from now on is then read). The reader starts there
// rather than at "$", which would miss what is added between two XREADs
// until it has read an entry.
func (n *streamsNode) lastEntry(stream string) (string, error) {
	ctx, cancel := context.WithTimeout(n.readCtx, n.opts.RequestsTimeout)
	defer cancel()
	last, err := n.client.XRevRangeN(ctx, stream, "+", "-", 1).Result()
	switch {
	case err != nil:
		return "", err
	case len(last) == 0:
		return "0-0", nil
	}
	return last[0].ID, nil
}

// deliver hands entry e of stream to the adapter of its namespace.
func (n *streamsNode) deliver(stream string, e redis.XMessage) {
	nsp, _ := e.Values["nsp"].(string)
	n.mu.Lock()
	a := n.streams[stream][nsp]
	n.mu.Unlock()
	if a == nil {
		return
	}
	m, atts, err := decodeEntry(e.Values)
	if err != nil {
		a.logger("warn", "malformed stream entry", "namespace", nsp, "id", e.ID, "error", err.Error())
		return
	}
	a.dispatch(m, atts, e.ID)
}

// async runs fn on a goroutine the node waits for when it closes.
func (n *streamsNode) async(fn func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn()
	}()
}
