package socketio

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// BroadcastOperator selects sockets of a namespace (by rooms, minus
// excepted rooms) and acts on them: Emit, EmitWithAck, FetchSockets,
// SocketsJoin, SocketsLeave, DisconnectSockets. It is an immutable value:
// every modifier returns a new operator, so a partly built one can be kept
// and reused.
//
// With no room, an operator addresses every socket of the namespace. An
// operator obtained from a socket (Websocket.To, In, Except, Broadcaster)
// never addresses that socket. An operator of a dynamic parent namespace
// (OfFunc, OfRegexp) addresses every child namespace.
type BroadcastOperator struct {
	nsp    *Namespace
	rooms  []string
	except []string
	flags  BroadcastFlags
	// self is the socket of Websocket.Self (and of its Volatile, Compress
	// and Timeout): Emit and EmitWithAck reach it by its id, as Node's
	// socket.volatile.emit does, even when it left the room of its id;
	// through that room, and so the adapter, only for a packet that
	// connection-state recovery stores. To, In and Except drop it.
	self *Websocket
}

// appendCopy appends to a copy, never to the operator's shared array.
func appendCopy(dst, src []string) []string {
	return append(dst[:len(dst):len(dst)], src...)
}

// To adds rooms to the selection: sockets in any of the rooms are
// addressed.
func (o BroadcastOperator) To(rooms ...string) BroadcastOperator {
	o.rooms = appendCopy(o.rooms, rooms)
	o.self = nil
	return o
}

// In is the same as To.
func (o BroadcastOperator) In(rooms ...string) BroadcastOperator { return o.To(rooms...) }

// Except removes the sockets in any of rooms from the selection.
func (o BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	o.except = appendCopy(o.except, rooms)
	o.self = nil
	return o
}

// Volatile makes Emit drop the packet for a receiver that cannot take it
// now (its send queue is full, or it is on polling with no GET waiting),
// instead of queueing it or disconnecting the receiver.
func (o BroadcastOperator) Volatile() BroadcastOperator {
	o.flags.Volatile = true
	return o
}

// Compress sets whether the packet may be compressed (the default). With
// false it is never sent in a compressed WebSocket frame
// (PerMessageDeflateThreshold), and a polling response holding only such
// packets is not compressed (HTTPCompressionThreshold), as Node's
// socket.compress(false) does. The flag is carried to the other nodes by
// a multi-node adapter.
func (o BroadcastOperator) Compress(compress bool) BroadcastOperator {
	o.flags.NoCompress = !compress
	return o
}

// Local restricts the operation to this node when a multi-node adapter is
// installed (a no-op with the in-memory adapter).
func (o BroadcastOperator) Local() BroadcastOperator {
	o.flags.Local = true
	return o
}

// Timeout sets how long EmitWithAck waits for the acknowledgements (and
// how long a multi-node adapter may take to answer FetchSockets).
func (o BroadcastOperator) Timeout(d time.Duration) BroadcastOperator {
	o.flags.Timeout = d
	return o
}

// options returns the adapter's view of the selection.
func (o BroadcastOperator) options() BroadcastOptions {
	return BroadcastOptions{Rooms: o.rooms, Except: o.except, Flags: o.flags}
}

// targets returns the namespaces the operator addresses.
func (o BroadcastOperator) targets() ([]*Namespace, error) {
	if o.nsp == nil {
		return nil, ErrNoAdapter
	}
	if !o.nsp.isParent {
		return []*Namespace{o.nsp}, nil
	}
	o.nsp.childMu.Lock()
	defer o.nsp.childMu.Unlock()
	return append([]*Namespace(nil), o.nsp.children...), nil
}

// context returns a context bounded by the operator's timeout, if any.
func (o BroadcastOperator) context() (context.Context, context.CancelFunc) {
	if o.flags.Timeout > 0 {
		return context.WithTimeout(context.Background(), o.flags.Timeout)
	}
	return context.WithCancel(context.Background())
}

// Emit sends an event with args (raw JSON values; other text is sent as a
// JSON string) to the selected sockets. The packet is encoded once and the
// same bytes are queued for every receiver. It returns
// ErrReservedEventName for a name the client reserves, or the adapter's
// error. args must not be modified until Emit returns.
func (o BroadcastOperator) Emit(event string, args ...[]byte) error {
	return o.emit(event, args, nil)
}

// EmitValues sends an event with args encoded as Websocket.EmitValues
// encodes them (encoding/json, every non-empty []byte inside sent as a
// binary attachment, which the clients receive as a Buffer) to the
// selected sockets, as Node's io.to(room).emit with Buffers. As with
// Emit, the packet and its attachments are encoded once for every
// receiver. It returns ErrTooManyAttachments beyond MaxAttachments, an
// encoding error, or what Emit returns.
func (o BroadcastOperator) EmitValues(event string, args ...any) error {
	raw, attachments, err := o.encodeValues(event, args)
	if err != nil {
		return err
	}
	return o.emit(event, raw, attachments)
}

// BroadcastAckValuesCallback receives the answers of
// BroadcastOperator.EmitValuesWithAck, one reply per receiver that
// acknowledged, and the error of BroadcastAckCallback. A reply's Args hold
// the first argument of the receiver's ack (no argument when it acked
// with none), its binary data (Buffer JSON from the adapter, see
// Adapter.BroadcastWithAck) as placeholders of the reply's Attachments,
// so that Decode and Bind give []byte destinations the bytes, as they do
// for Websocket.EmitValuesWithAck. As binary data reaches it in that
// form, a plain object a client answered that is exactly
// {"type":"Buffer","data":[...]} (integers from 0 to 255) is taken for
// binary data too.
type BroadcastAckValuesCallback func(replies []*AckReply, err error)

// EmitValuesWithAck is EmitWithAck with args encoded as EmitValues
// encodes them (Node's io.timeout(d).emit with Buffers and a callback);
// cb gets each answer as an AckReply (see BroadcastAckValuesCallback).
func (o BroadcastOperator) EmitValuesWithAck(event string, cb BroadcastAckValuesCallback, args ...any) error {
	raw, attachments, err := o.encodeValues(event, args)
	if err != nil {
		return err
	}
	var raws BroadcastAckCallback
	if cb != nil {
		raws = func(responses [][]byte, err error) { cb(ackReplies(responses), err) }
	}
	return o.emitWithAck(event, raw, attachments, raws)
}

// ackReplies makes the replies of EmitValuesWithAck of the raw answers.
func ackReplies(responses [][]byte) []*AckReply {
	replies := make([]*AckReply, len(responses))
	for i, r := range responses {
		replies[i] = &AckReply{}
		if r != nil {
			arg, attachments := bufferAttachments(r, nil)
			replies[i].Args, replies[i].Attachments = [][]byte{arg}, attachments
		}
	}
	return replies
}

// encodeValues encodes the args of EmitValues: each one's JSON, and the
// attachments of all, numbered across them.
func (o BroadcastOperator) encodeValues(event string, args []any) (raw, attachments [][]byte, err error) {
	raw = make([][]byte, len(args))
	for i, a := range args {
		if raw[i], attachments, err = appendValue(nil, a, attachments); err != nil {
			return nil, nil, fmt.Errorf("socketio: encoding %q: %w", event, err)
		}
	}
	if o.nsp == nil {
		return nil, nil, ErrNoAdapter
	}
	if max := o.nsp.srv.config().MaxAttachments; len(attachments) > max {
		return nil, nil, fmt.Errorf("%w: %d attachments, %d allowed", ErrTooManyAttachments, len(attachments), max)
	}
	return raw, attachments, nil
}

// emit is Emit with the args' binary attachments.
func (o BroadcastOperator) emit(event string, args, attachments [][]byte) error {
	if reservedEvent(event) {
		return ErrReservedEventName
	}
	nsps, err := o.targets()
	if err != nil {
		return err
	}
	opts := o.options()
	for _, n := range nsps {
		pkt := &Packet{Nsp: n.name, Event: event, Args: args, Attachments: attachments}
		if !opts.Flags.Volatile && n.recoveryOn() {
			pkt.Offset = formatOffset(n.nextOffset())
		} else if o.self != nil {
			nspHost{n}.Deliver(o.self.id, pkt.Encode(), opts.Flags, nil)
			continue
		}
		if err := n.adp().Broadcast(pkt, opts); err != nil {
			return err
		}
	}
	return nil
}

// BroadcastAckCallback receives one response per receiver that
// acknowledged (the first argument of its ack, raw JSON, nil when it acked
// with none), and nil or an error that says how many receivers did not
// answer: it wraps ErrBroadcastAckTimeout when the timeout passed, and
// both ErrServerShutdown and ErrAckDisconnected when Shutdown ended the
// wait. Binary data in a response, such as the Buffer of a client calling
// back cb(Buffer.from([1, 2])), is written as Node's Buffer.toJSON writes
// it: {"type":"Buffer","data":[1,2]}, wherever the client put it (see
// Adapter.BroadcastWithAck; EmitValuesWithAck gives the bytes).
type BroadcastAckCallback func(responses [][]byte, err error)

// EmitWithAck sends an event with args to the selected sockets, each
// asked for an ack, and calls cb once: with every response when all
// receivers answered, or with the responses received so far and an error
// wrapping ErrBroadcastAckTimeout when the timeout (Timeout, else the
// server's OutboundAckTimeout, else 30 s) passed first. With no receiver cb
// runs at once with no response. A receiver that disconnects counts as not
// answering. Shutdown does not wait for the timeout: it calls cb with the
// responses received so far and an error wrapping ErrServerShutdown and
// ErrAckDisconnected. When EmitWithAck returns an error, cb is not called.
// A client's binary answer reaches cb as Buffer JSON (see
// BroadcastAckCallback); EmitValuesWithAck gives the bytes themselves.
func (o BroadcastOperator) EmitWithAck(event string, args [][]byte, cb BroadcastAckCallback) error {
	return o.emitWithAck(event, args, nil, cb)
}

// emitWithAck is EmitWithAck with the args' binary attachments.
func (o BroadcastOperator) emitWithAck(event string, args, attachments [][]byte, cb BroadcastAckCallback) error {
	if reservedEvent(event) {
		return ErrReservedEventName
	}
	nsps, err := o.targets()
	if err != nil {
		return err
	}
	timeout := o.flags.Timeout
	if timeout <= 0 {
		timeout = o.nsp.srv.config().OutboundAckTimeout
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts := o.options()
	opts.Flags.Timeout = timeout
	cfg := o.nsp.srv.config()
	log := cfg.log
	g := &ackGather{srv: o.nsp.srv, timeout: timeout, cb: func(responses [][]byte, err error) {
		if cb == nil {
			return
		}
		defer func() {
			if r := recover(); r != nil {
				log("error", "broadcast ack callback panicked", "event", event, "panic", r)
			}
		}()
		cb(responses, err)
	}}
	g.mu.Lock()
	g.timer = time.AfterFunc(timeout, g.expire)
	g.mu.Unlock()
	g.srv.trackGather(g)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	servers := 0
	for _, n := range nsps {
		pkt := &Packet{Nsp: n.name, Event: event, Args: args, Attachments: attachments, ID: n.ackIDs.Add(1) - 1, HasID: true}
		if o.self != nil {
			// This socket alone, by its id (see BroadcastOperator.self).
			servers++
			delivered := 0
			if (nspHost{n}).Deliver(o.self.id, pkt.Encode(), opts.Flags, g.response) {
				delivered = 1
			}
			g.clientCount(delivered)
			continue
		}
		adp := n.adp()
		count, err := 1, error(nil)
		if !opts.Flags.Local {
			// A local broadcast gets one report, this node's.
			count, err = adp.ServerCount(ctx)
		}
		if err == nil {
			servers += count
			err = adp.BroadcastWithAck(pkt, opts, g.clientCount, g.response)
		}
		if err != nil {
			g.abandon()
			return err
		}
	}
	g.setServers(servers)
	return nil
}

// ackGather collects the answers of a broadcast with ack, as the Node
// server does: it is complete when every node reported its receiver count
// and that many responses arrived.
type ackGather struct {
	srv          *Server
	mu           sync.Mutex
	cb           BroadcastAckCallback
	timeout      time.Duration
	timer        *time.Timer
	done         bool
	serversKnown bool
	servers      int
	reports      int
	expected     int
	responses    [][]byte
}

func (g *ackGather) clientCount(n int) {
	g.mu.Lock()
	g.reports++
	g.expected += n
	g.check()
}

func (g *ackGather) response(r []byte) {
	g.mu.Lock()
	if !g.done {
		g.responses = append(g.responses, r)
	}
	g.check()
}

func (g *ackGather) setServers(n int) {
	g.mu.Lock()
	g.serversKnown = true
	g.servers = n
	g.check()
}

// check finishes the gathering when complete; it is called with g.mu held
// and releases it.
func (g *ackGather) check() {
	if g.done || !g.serversKnown || g.reports < g.servers || len(g.responses) < g.expected {
		g.mu.Unlock()
		return
	}
	g.done = true
	if g.timer != nil {
		g.timer.Stop()
	}
	responses := g.responses
	g.mu.Unlock()
	g.srv.untrackGather(g)
	g.cb(responses, nil)
}

// expire ends the gathering at its timeout.
func (g *ackGather) expire() { g.fail(false) }

// fail ends the gathering early with the responses so far: at the timeout,
// or, with shutdown, because Shutdown disconnected every receiver of this
// node and closes the adapters, so no answer can come any more.
func (g *ackGather) fail(shutdown bool) {
	g.mu.Lock()
	if g.done {
		g.mu.Unlock()
		return
	}
	g.done = true
	g.timer.Stop()
	responses := g.responses
	missing := g.expected - len(responses)
	bound := ""
	if !g.serversKnown || g.reports < g.servers {
		bound = "at least "
	}
	var err error
	if shutdown {
		err = fmt.Errorf("%w: %w: %d of %s%d clients did not acknowledge before it",
			ErrServerShutdown, ErrAckDisconnected, missing, bound, g.expected)
	} else {
		err = fmt.Errorf("%w: %d of %s%d clients did not acknowledge within %v",
			ErrBroadcastAckTimeout, missing, bound, g.expected, g.timeout)
	}
	g.mu.Unlock()
	g.srv.untrackGather(g)
	g.cb(responses, err)
}

// abandon stops the gathering without calling back.
func (g *ackGather) abandon() {
	g.mu.Lock()
	g.done = true
	g.timer.Stop()
	g.mu.Unlock()
	g.srv.untrackGather(g)
}

// FetchSockets returns the selected sockets; each one's Local is the live
// socket when it is connected to this node. With an error (a multi-node
// adapter's request timed out) it returns the sockets found so far.
func (o BroadcastOperator) FetchSockets() ([]RemoteSocket, error) {
	nsps, err := o.targets()
	if err != nil {
		return nil, err
	}
	ctx, cancel := o.context()
	defer cancel()
	var out []RemoteSocket
	for _, n := range nsps {
		// On error an adapter may still return what it found (the sockets
		// of the nodes that answered): they are kept.
		socks, err := n.adp().FetchSockets(ctx, o.options())
		for _, s := range socks {
			s.nsp = n
			s.kws = n.socket(s.ID)
			if s.kws != nil && s.Data == nil {
				s.Handshake = s.kws.handshake()
				s.Data = s.kws.attributesJSON()
			}
			out = append(out, s)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// SocketsJoin makes the selected sockets join rooms.
func (o BroadcastOperator) SocketsJoin(rooms ...string) error {
	return o.each(func(a Adapter, opts BroadcastOptions) error { return a.AddSockets(opts, rooms) })
}

// SocketsLeave makes the selected sockets leave rooms.
func (o BroadcastOperator) SocketsLeave(rooms ...string) error {
	return o.each(func(a Adapter, opts BroadcastOptions) error { return a.DelSockets(opts, rooms) })
}

// DisconnectSockets disconnects the selected sockets from their namespace
// (each client receives a DISCONNECT, as with Websocket.Close); with
// closeConn the clients' whole connections close, every namespace of them
// included.
func (o BroadcastOperator) DisconnectSockets(closeConn bool) error {
	return o.each(func(a Adapter, opts BroadcastOptions) error { return a.DisconnectSockets(opts, closeConn) })
}

func (o BroadcastOperator) each(fn func(Adapter, BroadcastOptions) error) error {
	nsps, err := o.targets()
	if err != nil {
		return err
	}
	for _, n := range nsps {
		if err := fn(n.adp(), o.options()); err != nil {
			return err
		}
	}
	return nil
}

// Local returns the live socket when it is connected to this node, nil
// otherwise.
func (r RemoteSocket) Local() *Websocket { return r.kws }

// Namespace returns the name of the socket's namespace.
func (r RemoteSocket) Namespace() string {
	if r.nsp == nil {
		return ""
	}
	return r.nsp.name
}

// op addresses this one socket through the adapter.
func (r RemoteSocket) op() BroadcastOperator {
	return BroadcastOperator{nsp: r.nsp, rooms: []string{r.ID}}
}

// Emit sends an event to the socket, wherever it is connected.
func (r RemoteSocket) Emit(event string, args ...[]byte) error { return r.op().Emit(event, args...) }

// Join makes the socket join rooms.
func (r RemoteSocket) Join(rooms ...string) error { return r.op().SocketsJoin(rooms...) }

// Leave makes the socket leave rooms.
func (r RemoteSocket) Leave(rooms ...string) error { return r.op().SocketsLeave(rooms...) }

// Disconnect disconnects the socket (see BroadcastOperator.DisconnectSockets).
func (r RemoteSocket) Disconnect(closeConn bool) error { return r.op().DisconnectSockets(closeConn) }
