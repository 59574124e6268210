package redisadapter

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// This file is the node's outbox: everything a node publishes goes through
// one queue and one sender, in order, pipelined. Broadcasts and
// fire-and-forget requests do not wait (an Emit never waits on Redis,
// which matters while Redis is away); requests that expect answers wait
// for their publish to succeed or fail.

// maxQueued bounds the outbox; past it new messages are dropped (and the
// drop is logged) until the sender catches up.
const maxQueued = 1 << 14

// maxBatch bounds one pipeline.
const maxBatch = 512

type outMsg struct {
	channel string
	payload []byte
	done    chan error // nil for a message nobody waits for
}

type outbox struct {
	mu       sync.Mutex
	queue    []outMsg
	closed   bool
	wake     chan struct{}
	done     chan struct{}
	dropping bool
	failing  bool
}

func (o *outbox) init() {
	o.wake = make(chan struct{}, 1)
	o.done = make(chan struct{})
}

// push queues m; false when the outbox is full or closed.
func (o *outbox) push(m outMsg) bool {
	o.mu.Lock()
	if o.closed || len(o.queue) >= maxQueued {
		o.mu.Unlock()
		return false
	}
	o.queue = append(o.queue, m)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return true
}

// take removes up to maxBatch messages.
func (o *outbox) take() []outMsg {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := min(len(o.queue), maxBatch)
	if n == 0 {
		return nil
	}
	batch := append([]outMsg(nil), o.queue[:n]...)
	rest := copy(o.queue, o.queue[n:])
	clear(o.queue[rest:])
	o.queue = o.queue[:rest]
	return batch
}

// post queues a message nobody waits for; a full outbox drops it.
func (n *node) post(channel string, payload []byte) {
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
func (n *node) publish(channel string, payload []byte) error {
	done := make(chan error, 1)
	if !n.out.push(outMsg{channel: channel, payload: payload, done: done}) {
		return ErrClosed
	}
	return <-done
}

// send is the sender goroutine. When the node closes it flushes what is
// queued (bounded by a second) and fails the rest.
func (n *node) send() {
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

// flush publishes a batch in one pipeline. The first failure of an outage
// is logged, then nothing until a publish succeeds again (logged too).
func (n *node) flush(ctx context.Context, batch []outMsg) {
	cmds := make([]*redis.IntCmd, len(batch))
	_, _ = n.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range batch {
			cmds[i] = p.Publish(ctx, m.channel, m.payload)
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
