package redisadapter

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// readSubscription is the receive loop of a subscriber connection, for
// either adapter: it reads ps until stop is closed (or ps is) and hands
// every subscription confirmation (*redis.Subscription) and message
// (*redis.Message) to handle. go-redis reconnects and resubscribes when
// the connection breaks; this loop logs it, calls lost when the connection
// breaks and restored when a subscription is confirmed again (before
// handle), and keeps reading.
func readSubscription(ps *redis.PubSub, stop <-chan struct{}, logger func(level, msg string, fields ...any),
	lost, restored func(), handle func(msg any)) {
	ctx := context.Background()
	healthy := true
	backoff := 50 * time.Millisecond
	for {
		msg, err := ps.ReceiveTimeout(ctx, 15*time.Second)
		select {
		case <-stop:
			return
		default:
		}
		if err != nil {
			if errors.Is(err, redis.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Quiet connection: a ping tells a dead one apart.
				pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_ = ps.Ping(pctx)
				cancel()
				continue
			}
			if healthy {
				healthy = false
				lost()
				logger("warn", "redis subscription lost, reconnecting", "error", err.Error())
			}
			select {
			case <-stop:
				return
			case <-time.After(backoff):
			}
			if backoff < 2*time.Second {
				backoff *= 2
			}
			continue
		}
		backoff = 50 * time.Millisecond
		if _, ok := msg.(*redis.Subscription); ok && !healthy {
			healthy = true
			restored()
			logger("info", "redis subscription restored")
		}
		handle(msg)
	}
}

// confirmations are the subscriptions a node waits for Redis to confirm,
// by channel, for either adapter.
type confirmations struct {
	mu      sync.Mutex
	waiting map[string]chan struct{}
}

// expect starts waiting for the confirmation of channel; the channel
// returned is closed when it comes.
func (c *confirmations) expect(channel string) <-chan struct{} {
	w := make(chan struct{})
	c.mu.Lock()
	if c.waiting == nil {
		c.waiting = map[string]chan struct{}{}
	}
	c.waiting[channel] = w
	c.mu.Unlock()
	return w
}

// confirmed ends the wait for channel, if any.
func (c *confirmations) confirmed(channel string) {
	c.mu.Lock()
	if w := c.waiting[channel]; w != nil {
		close(w)
		delete(c.waiting, channel)
	}
	c.mu.Unlock()
}

// forget drops the wait for channel.
func (c *confirmations) forget(channel string) {
	c.mu.Lock()
	delete(c.waiting, channel)
	c.mu.Unlock()
}

// awaitConfirmed waits (briefly) for wait to be closed; it logs when the
// confirmation for namespace nsp is late, and returns.
func awaitConfirmed(wait <-chan struct{}, logger func(level, msg string, fields ...any), nsp string) {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-wait:
	case <-t.C:
		logger("warn", "subscription not confirmed yet", "namespace", nsp)
	}
}

// subscribe subscribes channels on ps and, unless Redis is away (the
// subscription then comes with the reconnection), waits briefly for wait,
// the confirmation the caller expects, as awaitConfirmed.
func subscribe(ps *redis.PubSub, wait <-chan struct{}, down *atomic.Bool, timeout time.Duration,
	logger func(level, msg string, fields ...any), nsp string, channels ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := ps.Subscribe(ctx, channels...); err != nil {
		logger("warn", "subscribe failed, retrying on reconnect", "namespace", nsp, "error", err.Error())
	}
	if down.Load() {
		return
	}
	awaitConfirmed(wait, logger, nsp)
}
