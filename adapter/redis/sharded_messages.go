package redisadapter

import (
	"bytes"
	"encoding/json"

	socketio "github.com/fiber-socketio/socketio"
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

// postMsg queues a message on the namespace channel.
func (a *shardedAdapter) postMsg(typ int, data map[string]any) error {
	b, err := a.encodeMsg(typ, data)
	if err != nil {
		return err
	}
	a.node.out.post(a.channel, b)
	return nil
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
		a.logger("warn", "malformed message", "namespace", a.nsp, "error", err.Error())
		return
	}
	a.dispatch(m, atts, "")
}

// onResponse handles a message of this node's response channel.
func (a *shardedAdapter) onResponse(payload []byte) {
	m, _, err := decodeCluster(payload)
	if err != nil {
		a.logger("warn", "malformed response", "namespace", a.nsp, "error", err.Error())
		return
	}
	a.handleResponse(m)
}
