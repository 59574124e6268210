package redisadapter

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// This file is a node's outbox, for either adapter: everything a node
// publishes goes through one queue and one sender, in order, pipelined.
// Broadcasts and fire-and-forget requests do not wait (an Emit never waits
// on Redis, which matters while Redis is away); requests that expect
// answers wait for their publish to succeed or fail.

// maxQueued bounds the outbox; past it new messages are dropped (and the
// drop is logged) until the sender catches up.
const maxQueued = 1 << 14

// maxBatch bounds one pipeline.
const maxBatch = 512

// publishCmd queues the publish of one message in a pipeline:
// redis.Pipeliner.Publish (PUBLISH) for the classic adapter,
// redis.Pipeliner.SPublish (SPUBLISH) for the sharded one.
type publishCmd func(p redis.Pipeliner, ctx context.Context, channel string, message any) *redis.IntCmd

type outMsg struct {
	channel string
	payload []byte
	done    chan error // nil for a message nobody waits for
}

type outbox struct {
	// Set by init.
	client  redis.UniversalClient
	cmd     publishCmd
	timeout time.Duration // of one pipeline (RequestsTimeout)
	logger  func(level, msg string, fields ...any)
	stop    <-chan struct{} // the node's; closing it ends the sender
	done    chan struct{}   // closed when the sender ended
	wake    chan struct{}

	mu       sync.Mutex
	queue    []outMsg
	closed   bool
	dropping bool
	failing  bool
}

// init prepares the outbox and starts its sender, which publishes with
// cmd on client until stop is closed.
func (o *outbox) init(client redis.UniversalClient, cmd publishCmd, timeout time.Duration,
	logger func(level, msg string, fields ...any), stop <-chan struct{}) {
	o.client, o.cmd, o.timeout, o.logger, o.stop = client, cmd, timeout, logger, stop
	o.wake = make(chan struct{}, 1)
	o.done = make(chan struct{})
	go o.send()
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
func (o *outbox) post(channel string, payload []byte) {
	if o.push(outMsg{channel: channel, payload: payload}) {
		return
	}
	o.mu.Lock()
	first := !o.dropping && !o.closed
	o.dropping = true
	o.mu.Unlock()
	if first {
		o.logger("error", "outbox full, dropping messages for the other nodes", "queued", maxQueued)
	}
}

// publish queues a message and waits until it is published (or failed).
func (o *outbox) publish(channel string, payload []byte) error {
	done := make(chan error, 1)
	if !o.push(outMsg{channel: channel, payload: payload, done: done}) {
		return ErrClosed
	}
	return <-done
}

// send is the sender goroutine. When the node closes it flushes what is
// queued (bounded by a second) and fails the rest.
func (o *outbox) send() {
	defer close(o.done)
	for {
		select {
		case <-o.wake:
		case <-o.stop:
			o.mu.Lock()
			o.closed = true
			o.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			for batch := o.take(); batch != nil; batch = o.take() {
				o.flush(ctx, batch)
			}
			cancel()
			return
		}
		for batch := o.take(); batch != nil; batch = o.take() {
			ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
			o.flush(ctx, batch)
			cancel()
		}
	}
}

// flush publishes a batch in one pipeline. The first failure of an outage
// is logged, then nothing until a publish succeeds again (logged too).
func (o *outbox) flush(ctx context.Context, batch []outMsg) {
	cmds := make([]*redis.IntCmd, len(batch))
	_, _ = o.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range batch {
			cmds[i] = o.cmd(p, ctx, m.channel, m.payload)
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
	o.mu.Lock()
	wasFailing := o.failing
	o.failing = failed != nil
	if failed == nil {
		o.dropping = false
	}
	o.mu.Unlock()
	switch {
	case failed != nil && !wasFailing:
		o.logger("error", "publish failed; other nodes miss this node's messages until Redis answers again",
			"error", failed.Error())
	case failed == nil && wasFailing:
		o.logger("info", "publish restored")
	}
}
