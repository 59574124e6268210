package redisadapter

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// This file is the streams adapter's writer: a node's XADDs and SETs go
// through one queue and one goroutine, pipelined, and the callback of
// each XADD runs on that goroutine in the order of the calls, so the
// local deliveries of a namespace's broadcasts keep their order.

type writeOp struct {
	stream string // XADD to stream, or
	values []any
	key    string // SET key value PX ttl
	value  string
	ttl    time.Duration
	done   func(id string, err error) // of an XADD; may be nil
}

type streamWriter struct {
	client  redis.UniversalClient
	maxLen  int64
	timeout time.Duration
	logger  func(level, msg string, fields ...any)
	stop    <-chan struct{}
	done    chan struct{}
	wake    chan struct{}
	// down reports that the node lost Redis: writes then fail at once,
	// so that local deliveries do not wait for a timeout.
	down func() bool

	mu       sync.Mutex
	queue    []writeOp
	dropping bool
	failing  bool
}

func (w *streamWriter) init(client redis.UniversalClient, opts StreamsOptions, stop <-chan struct{}, down func() bool) {
	w.client, w.maxLen, w.timeout, w.logger, w.stop, w.down = client, opts.MaxLen, opts.RequestsTimeout, opts.Logger, stop, down
	w.wake = make(chan struct{}, 1)
	w.done = make(chan struct{})
	go w.run()
}

// add queues the XADD of values to stream; done receives the entry id,
// or the error when Redis did not take it (also when the queue is full or
// the node closed).
func (w *streamWriter) add(stream string, values []any, done func(string, error)) {
	w.push(writeOp{stream: stream, values: values, done: done})
}

// set queues SET key value PX ttl.
func (w *streamWriter) set(key, value string, ttl time.Duration) {
	w.push(writeOp{key: key, value: value, ttl: ttl})
}

func (w *streamWriter) push(op writeOp) {
	w.mu.Lock()
	if len(w.queue) >= maxQueued {
		if !w.dropping {
			w.dropping = true
			w.logger("warn", "redis stream writer full, dropping writes until it catches up")
		}
		w.mu.Unlock()
		if op.done != nil {
			op.done("", ErrUnavailable)
		}
		return
	}
	w.queue = append(w.queue, op)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// take removes up to maxBatch operations.
func (w *streamWriter) take() []writeOp {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := min(len(w.queue), maxBatch)
	ops := make([]writeOp, n)
	copy(ops, w.queue)
	w.queue = w.queue[n:]
	if len(w.queue) == 0 {
		w.queue = nil
		w.dropping = false
	}
	return ops
}

// run writes until the node closes; what is queued then fails with
// ErrClosed.
func (w *streamWriter) run() {
	defer close(w.done)
	for {
		select {
		case <-w.stop:
			for ops := w.take(); len(ops) > 0; ops = w.take() {
				for _, op := range ops {
					if op.done != nil {
						op.done("", ErrClosed)
					}
				}
			}
			return
		case <-w.wake:
		}
		for ops := w.take(); len(ops) > 0; ops = w.take() {
			w.write(ops)
		}
	}
}

// write runs ops in one pipeline, then their callbacks in order.
func (w *streamWriter) write(ops []writeOp) {
	if w.down() {
		for _, op := range ops {
			if op.done != nil {
				op.done("", ErrUnavailable)
			}
		}
		w.setFailing(true, ErrUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	defer cancel()
	cmds := make([]redis.Cmder, len(ops))
	_, _ = w.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, op := range ops {
			if op.key != "" {
				cmds[i] = p.Set(ctx, op.key, op.value, op.ttl)
				continue
			}
			cmds[i] = p.XAdd(ctx, &redis.XAddArgs{Stream: op.stream, MaxLen: w.maxLen, Approx: true, ID: "*", Values: op.values})
		}
		return nil
	})
	failed := false
	for i, op := range ops {
		err := cmds[i].Err()
		if err != nil {
			failed = true
		}
		if op.done == nil {
			continue
		}
		id := ""
		if c, ok := cmds[i].(*redis.StringCmd); ok {
			id = c.Val()
		}
		op.done(id, err)
	}
	w.setFailing(failed, firstErr(cmds))
}

// setFailing logs when the writes start failing (with err) or succeed
// again.
func (w *streamWriter) setFailing(failed bool, err error) {
	if failed == w.failing {
		return
	}
	w.failing = failed
	if failed {
		w.logger("warn", "redis writes failing", "error", err.Error())
	} else {
		w.logger("info", "redis writes succeed again")
	}
}

func firstErr(cmds []redis.Cmder) error {
	for _, c := range cmds {
		if c.Err() != nil {
			return c.Err()
		}
	}
	return nil
}
