package redisadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"

	socketio "github.com/fiber-socketio/socketio"
	"github.com/vmihailenco/msgpack/v5"
)

// This file is what the adapters speaking the messages of socket.io-adapter's
// ClusterAdapter (the sharded and the streams adapters) share: the handling
// of the messages and answers of the other nodes. Each adapter decodes and
// sends in its own transport.

// clusterNsp is the part of a namespace's adapter that the cluster
// adapters share: the local rooms (an in-memory adapter), the requests
// waiting for answers, and what handling a message needs of the adapter.
type clusterNsp struct {
	socketio.Adapter
	host socketio.AdapterHost
	nsp  string
	uid  string
	requester

	logger func(level, msg string, fields ...any)
	async  func(func())
	// reply sends an answer to the node uid requester.
	reply func(requester string, typ int, data map[string]any)
	// join and leave apply SOCKETS_JOIN and SOCKETS_LEAVE locally.
	join, leave func(opts socketio.BroadcastOptions, rooms []string) error
	// count is the adapter's ServerCount.
	count func(ctx context.Context) (int, error)
	// encode makes a request or an answer in the adapter's wire format;
	// post sends a request to every node; send sends them a message that
	// needs no answer (room operations).
	encode func(typ int, data map[string]any) ([]byte, error)
	post   func(msg []byte)
	send   func(typ int, data map[string]any) error
	// ackWire, when set, converts a broadcast with acks (encodeBroadcast)
	// to the wire format of requests.
	ackWire func(msg []byte) ([]byte, error)
}

// newClusterNsp is the shared part of the adapter of host's namespace; the
// adapter sets the functions.
func newClusterNsp(host socketio.AdapterHost, logger func(level, msg string, fields ...any), async func(func())) clusterNsp {
	return clusterNsp{
		Adapter: socketio.NewMemoryAdapter(host),
		host:    host,
		nsp:     host.Name(),
		uid:     randomID(),
		logger:  logger,
		async:   async,
	}
}

// encodeMsg is a message of this adapter as JSON; a BROADCAST_ACK whose
// answer holds binary data (Buffer JSON, see writeAckValue) is msgpack,
// the data as bin, as Node's ClusterAdapter sends a client's Buffer.
func (a *clusterNsp) encodeMsg(typ int, data map[string]any) ([]byte, error) {
	msg, err := json.Marshal(map[string]any{"type": typ, "data": data, "uid": a.uid, "nsp": a.nsp})
	if err != nil || typ != msgBroadcastAck {
		return msg, err
	}
	return binaryAck(msg)
}

// encodeBroadcast is a BROADCAST message (with acks when requestID is not
// empty): JSON, or msgpack when the packet has binary attachments.
func (a *clusterNsp) encodeBroadcast(pkt *socketio.Packet, opts socketio.BroadcastOptions, requestID string) ([]byte, error) {
	withAck := requestID != ""
	if len(pkt.Attachments) == 0 {
		data, err := eventData(pkt.Event, pkt.Args)
		if err != nil {
			return nil, err
		}
		d := map[string]any{
			"packet": map[string]any{"type": 2, "data": data, "nsp": pkt.Nsp},
			"opts":   wireOptions(opts, withAck),
		}
		if withAck {
			d["requestId"] = requestID
		}
		return a.encodeMsg(msgBroadcast, d)
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	_ = enc.EncodeMapLen(4)
	_ = enc.EncodeString("type")
	_ = enc.EncodeInt(msgBroadcast)
	_ = enc.EncodeString("data")
	if withAck {
		_ = enc.EncodeMapLen(3)
	} else {
		_ = enc.EncodeMapLen(2)
	}
	_ = enc.EncodeString("packet")
	if err := encodePacket(enc, pkt); err != nil {
		return nil, err
	}
	if withAck {
		_ = enc.EncodeString("requestId")
		_ = enc.EncodeString(requestID)
	}
	_ = enc.EncodeString("opts")
	if err := encodeOpts(enc, opts, withAck); err != nil {
		return nil, err
	}
	_ = enc.EncodeString("uid")
	_ = enc.EncodeString(a.uid)
	_ = enc.EncodeString("nsp")
	if err := enc.EncodeString(a.nsp); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// dispatch handles a decoded message of another node (its own come back
// and are ignored). offset is the stream entry's id for the streams
// adapter, "" otherwise.
func (a *clusterNsp) dispatch(m *clusterMsg, atts [][]byte, offset string) {
	uid := rawString(m.UID)
	if uid == a.uid || m.Nsp == nil || *m.Nsp != a.nsp {
		return
	}
	requestID := rawString(m.Data.RequestID)
	opts := toOptions(m.Data.Opts)
	switch m.Type {
	case msgBroadcast:
		a.onBroadcast(m, atts, uid, requestID, opts, offset)
	case msgSocketsJoin:
		opts.Flags = socketio.BroadcastFlags{}
		_ = a.join(opts, m.Data.Rooms)
	case msgSocketsLeave:
		opts.Flags = socketio.BroadcastFlags{}
		_ = a.leave(opts, m.Data.Rooms)
	case msgDisconnectSockets:
		opts.Flags = socketio.BroadcastFlags{}
		_ = a.Adapter.DisconnectSockets(opts, m.Data.Close)
	case msgFetchSockets:
		out := describeSockets(context.Background(), a.Adapter, a.host, opts)
		a.reply(uid, msgFetchSocketsResponse, map[string]any{"requestId": requestID, "sockets": out})
	case msgServerSideEmit:
		a.onServerSideEmit(m, uid, requestID)
	case msgFetchSocketsResponse, msgServerSideEmitResponse, msgBroadcastClientCount, msgBroadcastAck:
		a.handleResponse(m)
	}
}

// onBroadcast delivers a broadcast of another node to the local sockets;
// with a request id, it reports the count of local receivers (also when
// 0), then each client's answer. A broadcast read from a stream at offset
// carries that offset to its receivers when connection-state recovery is
// on and the packet is stored (not volatile), as Node's ClusterAdapter
// adds it.
func (a *clusterNsp) onBroadcast(m *clusterMsg, atts [][]byte, uid, requestID string, opts socketio.BroadcastOptions, offset string) {
	var p wirePacket
	if json.Unmarshal(m.Data.Packet, &p) != nil {
		return
	}
	pkt, ok := toPacket(a.nsp, p.Data, atts)
	if !ok {
		return
	}
	if requestID == "" {
		opts.Flags.Timeout = 0
		if offset != "" && !opts.Flags.Volatile && a.host.Recovery() {
			pkt.Offset = offset
		}
		_ = a.Adapter.Broadcast(pkt, opts)
		return
	}
	pkt.ID, pkt.HasID = a.host.NextAckID(), true
	_ = a.Adapter.BroadcastWithAck(pkt, opts, func(n int) {
		a.reply(uid, msgBroadcastClientCount, map[string]any{"requestId": requestID, "clientCount": n})
	}, func(r []byte) {
		d := map[string]any{"requestId": requestID}
		if r != nil {
			if !json.Valid(r) {
				r, _ = json.Marshal(string(r))
			}
			d["packet"] = json.RawMessage(r)
		}
		a.reply(uid, msgBroadcastAck, d)
	})
}

// onServerSideEmit runs the namespace's server-side listeners on a
// goroutine of their own; with a request id, the first answer goes back
// to the requester.
func (a *clusterNsp) onServerSideEmit(m *clusterMsg, uid, requestID string) {
	var data []json.RawMessage
	if json.Unmarshal(m.Data.Packet, &data) != nil {
		return
	}
	event, args, ok := splitEvent(data)
	if !ok {
		return
	}
	var ack func([]byte)
	if requestID != "" {
		var once sync.Once
		ack = func(r []byte) {
			once.Do(func() {
				if r == nil || !json.Valid(r) {
					r = []byte("null")
				}
				a.reply(uid, msgServerSideEmitResponse, map[string]any{"requestId": requestID, "packet": json.RawMessage(r)})
			})
		}
	}
	a.async(func() { a.host.ServerSideEvent(event, args, ack) })
}

// handleResponse matches an answer with a request of this node by its id.
func (a *clusterNsp) handleResponse(m *clusterMsg) {
	id := rawString(m.Data.RequestID)
	if id == "" {
		return
	}
	switch m.Type {
	case msgBroadcastClientCount:
		a.clientCount(id, m.Data.ClientCount)
		return
	case msgBroadcastAck:
		r := []byte(bytes.TrimSpace(m.Data.Packet))
		if len(r) == 0 {
			r = nil
		}
		a.clientAck(id, r)
		return
	}
	a.answered(id, func(p *pending) bool {
		switch {
		case m.Type == msgFetchSocketsResponse && p.typ == msgFetchSockets:
			p.addSockets(m.Data.Sockets)
		case m.Type == msgServerSideEmitResponse && p.typ == msgServerSideEmit:
			p.addResponse(bytes.TrimSpace(m.Data.Packet))
		default:
			return false
		}
		return true
	})
}

// FetchSockets returns the local sockets and those the other nodes
// report. When some node does not answer in time it returns what it has
// with an error wrapping socketio.ErrAdapterTimeout.
func (a *clusterNsp) FetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]socketio.RemoteSocket, error) {
	local, others, err := fetchLocal(ctx, a.Adapter, a.count, opts)
	if err != nil || others <= 0 {
		return local, err
	}
	id := randomID()
	msg, err := a.encode(msgFetchSockets, map[string]any{"opts": wireOptions(opts, false), "requestId": id})
	if err != nil {
		return local, err
	}
	p, err := a.await(ctx, id, msgFetchSockets, others, msg, opts.Flags.Timeout)
	return fetched(local, p, err, "fetchSockets: only %d responses received out of %d")
}

// AddSockets applies locally at once and asks the other nodes to apply.
func (a *clusterNsp) AddSockets(opts socketio.BroadcastOptions, rooms []string) error {
	if err := a.join(opts, rooms); err != nil || opts.Flags.Local {
		return err
	}
	return a.send(msgSocketsJoin, map[string]any{"opts": wireOptions(opts, false), "rooms": nonNil(rooms)})
}

// DelSockets applies locally at once and asks the other nodes to apply.
func (a *clusterNsp) DelSockets(opts socketio.BroadcastOptions, rooms []string) error {
	if err := a.leave(opts, rooms); err != nil || opts.Flags.Local {
		return err
	}
	return a.send(msgSocketsLeave, map[string]any{"opts": wireOptions(opts, false), "rooms": nonNil(rooms)})
}

// DisconnectSockets applies locally at once and asks the other nodes to
// apply.
func (a *clusterNsp) DisconnectSockets(opts socketio.BroadcastOptions, closeConn bool) error {
	if err := a.Adapter.DisconnectSockets(opts, closeConn); err != nil || opts.Flags.Local {
		return err
	}
	return a.send(msgDisconnectSockets, map[string]any{"opts": wireOptions(opts, false), "close": closeConn})
}

// ServerSideEmit sends a server-side event to the other nodes; with ack it
// waits (on a goroutine) for one answer per other node.
func (a *clusterNsp) ServerSideEmit(event string, args [][]byte, ack func([][]byte, error)) error {
	data, err := eventData(event, args)
	if err != nil {
		return err
	}
	if ack == nil {
		msg, err := a.encode(msgServerSideEmit, map[string]any{"packet": data})
		if err != nil {
			return err
		}
		a.post(msg)
		return nil
	}
	count, err := a.count(context.Background())
	if err != nil {
		return err
	}
	if count-1 <= 0 {
		a.async(func() { ack(nil, nil) })
		return nil
	}
	id := randomID()
	msg, err := a.encode(msgServerSideEmit, map[string]any{"requestId": id, "packet": data})
	if err != nil {
		return err
	}
	return a.collect(id, msgServerSideEmit, count-1, msg, ack)
}

// BroadcastWithAck publishes the broadcast with a request id on the
// namespace channel (it is not stored), then delivers locally; every
// other node reports its client count and relays its clients' acks.
func (a *clusterNsp) BroadcastWithAck(pkt *socketio.Packet, opts socketio.BroadcastOptions, clientCount func(int), ack func([]byte)) error {
	if opts.Flags.Local {
		return a.Adapter.BroadcastWithAck(pkt, opts, clientCount, ack)
	}
	id := randomID()
	msg, err := a.encodeBroadcast(pkt, opts, id)
	if err == nil && a.ackWire != nil {
		msg, err = a.ackWire(msg)
	}
	if err != nil {
		return err
	}
	if err := a.publishWithAcks(id, msg, opts.Flags.Timeout, clientCount, ack); err != nil {
		return err
	}
	return a.Adapter.BroadcastWithAck(pkt, opts, clientCount, ack)
}
