package redisadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"

	socketio "github.com/fiber-socketio/socketio"
	"github.com/vmihailenco/msgpack/v5"
)

// This file is the wire format of the sharded adapter: the messages of
// socket.io-adapter's ClusterAdapter, {type, data, uid, nsp}, sent as JSON,
// or as msgpack when they carry binary data (as Node's sharded adapter
// encodes them), and how the adapter handles those it receives.

// Message types of socket.io-adapter's ClusterAdapter.
const (
	msgBroadcast              = 3
	msgSocketsJoin            = 4
	msgSocketsLeave           = 5
	msgDisconnectSockets      = 6
	msgFetchSockets           = 7
	msgFetchSocketsResponse   = 8
	msgServerSideEmit         = 9
	msgServerSideEmitResponse = 10
	msgBroadcastClientCount   = 11
	msgBroadcastAck           = 12
)

// clusterMsg is any received message or response.
type clusterMsg struct {
	UID  json.RawMessage `json:"uid"`
	Nsp  *string         `json:"nsp"`
	Type int             `json:"type"`
	Data struct {
		RequestID   json.RawMessage `json:"requestId"`
		Packet      json.RawMessage `json:"packet"`
		Opts        *wireOpts       `json:"opts"`
		Rooms       roomList        `json:"rooms"`
		Close       bool            `json:"close"`
		Sockets     json.RawMessage `json:"sockets"`
		ClientCount int             `json:"clientCount"`
	} `json:"data"`
}

// rawString reads a JSON value as a string: a string's value, another
// value's text; "" for nothing or null.
func rawString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// decodeCluster decodes a message: JSON when it starts with "{", msgpack
// otherwise. The bins of a broadcast become attachments; elsewhere they
// become Node's Buffer.toJSON form.
func decodeCluster(payload []byte) (*clusterMsg, [][]byte, error) {
	var m clusterMsg
	if len(payload) > 0 && payload[0] == '{' {
		if err := json.Unmarshal(payload, &m); err != nil {
			return nil, nil, err
		}
		return &m, nil, nil
	}
	js, atts, err := msgpackToJSON(payload, binAttach)
	if err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, nil, err
	}
	if len(atts) > 0 && m.Type != msgBroadcast {
		if js, _, err = msgpackToJSON(payload, binBuffer); err != nil {
			return nil, nil, err
		}
		m = clusterMsg{}
		if err := json.Unmarshal(js, &m); err != nil {
			return nil, nil, err
		}
		atts = nil
	}
	return &m, atts, nil
}

// wireOptions is {rooms, except, flags} for JSON.
func wireOptions(opts socketio.BroadcastOptions, withTimeout bool) map[string]any {
	flags := map[string]any{}
	if opts.Flags.Volatile {
		flags["volatile"] = true
	}
	if opts.Flags.NoCompress {
		flags["compress"] = false
	}
	if withTimeout && opts.Flags.Timeout > 0 {
		flags["timeout"] = opts.Flags.Timeout.Milliseconds()
	}
	return map[string]any{"rooms": nonNil(opts.Rooms), "except": nonNil(opts.Except), "flags": flags}
}

// encodeMsg is a message of this adapter as JSON.
func (a *shardedAdapter) encodeMsg(typ int, data map[string]any) ([]byte, error) {
	return json.Marshal(map[string]any{"type": typ, "data": data, "uid": a.uid, "nsp": a.nsp})
}

// postMsg queues a message on the namespace channel.
func (a *shardedAdapter) postMsg(typ int, data map[string]any) error {
	b, err := a.encodeMsg(typ, data)
	if err != nil {
		return err
	}
	a.node.out.post(a.channel, b)
	return nil
}

// encodeBroadcast is a BROADCAST message (with acks when requestID is not
// empty): JSON, or msgpack when the packet has binary attachments.
func (a *shardedAdapter) encodeBroadcast(pkt *socketio.Packet, opts socketio.BroadcastOptions, requestID string) ([]byte, error) {
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

// respond queues a response on the requester's response channel.
func (a *shardedAdapter) respond(requester string, typ int, data map[string]any) {
	if requester == "" {
		return
	}
	b, err := a.encodeMsg(typ, data)
	if err != nil {
		a.node.opts.Logger("error", "encode response", "namespace", a.nsp, "error", err.Error())
		return
	}
	a.node.out.post(a.channel+requester+"#", b)
}

// onMessage handles a message of the namespace channel or of a room
// channel.
func (a *shardedAdapter) onMessage(payload []byte) {
	m, atts, err := decodeCluster(payload)
	if err != nil {
		a.node.opts.Logger("warn", "malformed message", "namespace", a.nsp, "error", err.Error())
		return
	}
	uid := rawString(m.UID)
	if uid == a.uid || m.Nsp == nil || *m.Nsp != a.nsp {
		return
	}
	requestID := rawString(m.Data.RequestID)
	opts := toOptions(m.Data.Opts)
	switch m.Type {
	case msgBroadcast:
		a.onBroadcast(m, atts, uid, requestID, opts)
	case msgSocketsJoin:
		opts.Flags = socketio.BroadcastFlags{}
		_ = a.addSockets(opts, m.Data.Rooms)
	case msgSocketsLeave:
		opts.Flags = socketio.BroadcastFlags{}
		_ = a.delSockets(opts, m.Data.Rooms)
	case msgDisconnectSockets:
		opts.Flags = socketio.BroadcastFlags{}
		_ = a.Adapter.DisconnectSockets(opts, m.Data.Close)
	case msgFetchSockets:
		out := describeSockets(context.Background(), a.Adapter, a.host, opts)
		a.respond(uid, msgFetchSocketsResponse, map[string]any{"requestId": requestID, "sockets": out})
	case msgServerSideEmit:
		a.onServerSideEmit(m, uid, requestID)
	case msgFetchSocketsResponse, msgServerSideEmitResponse, msgBroadcastClientCount, msgBroadcastAck:
		a.handleResponse(m)
	}
}

// onBroadcast delivers a broadcast of another node to the local sockets;
// with a request id, it reports the count of local receivers (also when
// 0), then each client's answer.
func (a *shardedAdapter) onBroadcast(m *clusterMsg, atts [][]byte, uid, requestID string, opts socketio.BroadcastOptions) {
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
		_ = a.Adapter.Broadcast(pkt, opts)
		return
	}
	pkt.ID, pkt.HasID = a.host.NextAckID(), true
	_ = a.Adapter.BroadcastWithAck(pkt, opts, func(n int) {
		a.respond(uid, msgBroadcastClientCount, map[string]any{"requestId": requestID, "clientCount": n})
	}, func(r []byte) {
		d := map[string]any{"requestId": requestID}
		if r != nil {
			if !json.Valid(r) {
				r, _ = json.Marshal(string(r))
			}
			d["packet"] = json.RawMessage(r)
		}
		a.respond(uid, msgBroadcastAck, d)
	})
}

// onServerSideEmit runs the namespace's server-side listeners on a
// goroutine of their own; with a request id, the first answer goes back
// to the requester.
func (a *shardedAdapter) onServerSideEmit(m *clusterMsg, uid, requestID string) {
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
				a.respond(uid, msgServerSideEmitResponse, map[string]any{"requestId": requestID, "packet": json.RawMessage(r)})
			})
		}
	}
	a.node.async(func() { a.host.ServerSideEvent(event, args, ack) })
}

// onResponse handles a message of this node's response channel.
func (a *shardedAdapter) onResponse(payload []byte) {
	m, _, err := decodeCluster(payload)
	if err != nil {
		a.node.opts.Logger("warn", "malformed response", "namespace", a.nsp, "error", err.Error())
		return
	}
	a.handleResponse(m)
}

// handleResponse matches an answer with a request of this node by its id.
func (a *shardedAdapter) handleResponse(m *clusterMsg) {
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
