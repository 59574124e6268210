package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	socketio "github.com/fiber-socketio/socketio"
)

// This file is the bookkeeping of a namespace's requests to the other
// nodes, for either adapter: the requests waiting for answers (FetchSockets,
// ServerSideEmitWithAck) and the broadcasts with acks, matched with the
// answers by request id. Each adapter publishes and decodes in its own
// wire format and hands the answers over here.

// pending is a request waiting for the answers of the other nodes.
type pending struct {
	typ       int
	expected  int
	got       int
	sockets   []socketio.RemoteSocket
	responses [][]byte
	done      chan struct{}
}

// addSockets adds the sockets of one answer (a JSON array of wireSocket;
// anything else adds none).
func (p *pending) addSockets(raw json.RawMessage) {
	var socks []wireSocket
	if json.Unmarshal(raw, &socks) == nil {
		for i := range socks {
			p.sockets = append(p.sockets, socks[i].remote())
		}
	}
}

// addResponse adds one answer of a server-side emit (null when empty).
func (p *pending) addResponse(r []byte) {
	if len(r) == 0 {
		r = []byte("null")
	}
	p.responses = append(p.responses, r)
}

// ackRequest is a broadcast with acks this node sent.
type ackRequest struct {
	clientCount func(int)
	ack         func([]byte)
	timer       *time.Timer
}

// requester is embedded in the adapter of a namespace; its fields are set
// by init, the rest is guarded by mu.
type requester struct {
	// publish publishes a request on the channel the other nodes read
	// requests on, and waits for Redis to take it.
	publish func(msg []byte) error
	// async runs a callback on a goroutine the node waits for.
	async func(fn func())
	// timeout is RequestsTimeout.
	timeout time.Duration

	mu       sync.Mutex
	closed   bool
	requests map[string]*pending
	acks     map[string]*ackRequest
}

func (r *requester) init(publish func([]byte) error, async func(func()), timeout time.Duration) {
	r.publish, r.async, r.timeout = publish, async, timeout
	r.requests = map[string]*pending{}
	r.acks = map[string]*ackRequest{}
}

// publishWithAcks registers broadcast id, whose client counts and acks go
// to clientCount and ack until timeout (RequestsTimeout when not positive)
// passes, and publishes msg; on failure it forgets the broadcast.
func (r *requester) publishWithAcks(id string, msg []byte, timeout time.Duration, clientCount func(int), ack func([]byte)) error {
	if timeout <= 0 {
		timeout = r.timeout
	}
	ar := &ackRequest{clientCount: clientCount, ack: ack}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	r.acks[id] = ar
	ar.timer = time.AfterFunc(timeout, func() {
		r.mu.Lock()
		delete(r.acks, id)
		r.mu.Unlock()
	})
	r.mu.Unlock()
	if err := r.publish(msg); err != nil {
		r.mu.Lock()
		delete(r.acks, id)
		r.mu.Unlock()
		ar.timer.Stop()
		return fmt.Errorf("redisadapter: publish broadcast with ack: %w", err)
	}
	return nil
}

// track registers request id, of type typ, waiting for expected answers,
// and publishes msg; on failure it forgets the request and returns the
// error wrapped with what (the kind of request).
func (r *requester) track(id string, typ, expected int, msg []byte, what string) (*pending, error) {
	p := &pending{typ: typ, expected: expected, done: make(chan struct{})}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	r.requests[id] = p
	r.mu.Unlock()
	if err := r.publish(msg); err != nil {
		r.mu.Lock()
		delete(r.requests, id)
		r.mu.Unlock()
		return nil, fmt.Errorf("redisadapter: publish %s: %w", what, err)
	}
	return p, nil
}

// await publishes request id (see track) and waits until the expected
// answers arrived, ctx ends or timeout (RequestsTimeout when not positive)
// passes. The request's fields may be read once await returned; the error
// is non-nil when it is not complete (ErrClosed when the adapter closed
// meanwhile).
func (r *requester) await(ctx context.Context, id string, typ, expected int, msg []byte, timeout time.Duration) (*pending, error) {
	if timeout <= 0 {
		timeout = r.timeout
	}
	p, err := r.track(id, typ, expected, msg, "request")
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		err = socketio.ErrAdapterTimeout
	case <-ctx.Done():
		err = ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.requests, id)
	if err == nil && p.got < p.expected {
		err = ErrClosed
	}
	return p, err
}

// collect publishes the server-side emit with ack id (see track), then, on
// a goroutine, waits for the expected answers or RequestsTimeout and calls
// ack with the answers it got: with an error wrapping
// socketio.ErrAdapterTimeout when some are missing, ErrClosed when the
// adapter closed meanwhile. A publish error is returned, and ack not
// called.
func (r *requester) collect(id string, typ, expected int, msg []byte, ack func([][]byte, error)) error {
	p, err := r.track(id, typ, expected, msg, "server-side emit")
	if err != nil {
		return err
	}
	r.async(func() {
		t := time.NewTimer(r.timeout)
		defer t.Stop()
		select {
		case <-p.done:
		case <-t.C:
		}
		r.mu.Lock()
		delete(r.requests, id)
		responses, got, closed := p.responses, p.got, r.closed
		r.mu.Unlock()
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

// sentWithAcks reports whether id is a broadcast with acks of this node
// still waiting for answers.
func (r *requester) sentWithAcks(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.acks[id] != nil
}

// clientCount passes a node's count of receivers to broadcast id, on a
// goroutine; nothing when id is no broadcast of this node (any more).
func (r *requester) clientCount(id string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ar := r.acks[id]; ar != nil {
		r.async(func() { ar.clientCount(n) })
	}
}

// clientAck passes a client's answer (nil for none) to broadcast id, on a
// goroutine; nothing when id is no broadcast of this node (any more).
func (r *requester) clientAck(id string, answer []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ar := r.acks[id]; ar != nil {
		r.async(func() { ar.ack(answer) })
	}
}

// answered records an answer to request id: add adds it to the request
// and reports whether it is an answer of the request's kind (false drops
// it uncounted). The last expected answer completes the request. Answers
// to unknown requests are dropped.
func (r *requester) answered(id string, add func(p *pending) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.requests[id]
	if p == nil || !add(p) {
		return
	}
	p.got++
	if p.got == p.expected {
		close(p.done)
		delete(r.requests, id)
	}
}

// closeRequests ends the pending requests (their waiters see ErrClosed)
// and forgets the broadcasts with acks; the requests made afterwards fail
// with ErrClosed.
func (r *requester) closeRequests() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for id, p := range r.requests {
		close(p.done)
		delete(r.requests, id)
	}
	for id, ar := range r.acks {
		ar.timer.Stop()
		delete(r.acks, id)
	}
}

// fetchLocal is the start of either adapter's FetchSockets: the local
// sockets opts selects, and how many other nodes to ask (none when opts is
// Local or the node is alone).
func fetchLocal(ctx context.Context, local socketio.Adapter, serverCount func(context.Context) (int, error), opts socketio.BroadcastOptions) ([]socketio.RemoteSocket, int, error) {
	socks, err := local.FetchSockets(ctx, opts)
	if err != nil || opts.Flags.Local {
		return socks, 0, err
	}
	count, err := serverCount(ctx)
	if err != nil {
		return socks, 0, err
	}
	return socks, count - 1, nil
}

// fetched joins the answers of a FetchSockets request to the local
// sockets; p and err are await's, timeoutFormat words the timeout (with
// the answers received and expected), as each adapter's Node counterpart
// does.
func fetched(local []socketio.RemoteSocket, p *pending, err error, timeoutFormat string) ([]socketio.RemoteSocket, error) {
	if p == nil {
		return local, err
	}
	out := append(local, p.sockets...)
	if errors.Is(err, ErrClosed) {
		return out, err
	}
	if err != nil {
		return out, fmt.Errorf("%w: "+timeoutFormat, socketio.ErrAdapterTimeout, p.got, p.expected)
	}
	return out, nil
}

// describeSockets is this node's answer to a FetchSockets request: the
// sockets local selects with opts, with their handshake, rooms and data.
func describeSockets(ctx context.Context, local socketio.Adapter, host socketio.AdapterHost, opts socketio.BroadcastOptions) []map[string]any {
	socks, _ := local.FetchSockets(ctx, opts)
	out := make([]map[string]any, 0, len(socks))
	for _, s := range socks {
		hs, data, ok := host.Describe(s.ID)
		if !ok {
			continue
		}
		out = append(out, map[string]any{"id": s.ID, "handshake": hs, "rooms": s.Rooms, "data": data})
	}
	return out
}
