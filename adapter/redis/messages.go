package redisadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"

	socketio "github.com/fiber-socketio/socketio"
	"github.com/vmihailenco/msgpack/v5"
)

// This file is the wire format: what the adapter publishes and how it
// handles what it receives on the broadcast, request and response
// channels.

// roomList is a list of rooms; Node allows numbers as room names.
type roomList []string

func (r *roomList) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out = append(out, s)
			continue
		}
		out = append(out, string(bytes.TrimSpace(v)))
	}
	*r = out
	return nil
}

// wireFlags are the broadcast flags; values of unexpected types are
// ignored.
type wireFlags struct {
	Volatile bool
	// NoCompress is set by "compress": false (Node's compress(false)).
	NoCompress bool
	Timeout    float64
}

func (f *wireFlags) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil
	}
	_ = json.Unmarshal(m["volatile"], &f.Volatile)
	compress := true
	if json.Unmarshal(m["compress"], &compress) == nil {
		f.NoCompress = !compress
	}
	_ = json.Unmarshal(m["timeout"], &f.Timeout)
	return nil
}

type wireOpts struct {
	Rooms  roomList  `json:"rooms"`
	Except roomList  `json:"except"`
	Flags  wireFlags `json:"flags"`
}

type wirePacket struct {
	Type int               `json:"type"`
	Data []json.RawMessage `json:"data"`
	Nsp  *string           `json:"nsp"`
}

// wireMsg is any request or response.
type wireMsg struct {
	UID         *string         `json:"uid"`
	RequestID   string          `json:"requestId"`
	Type        int             `json:"type"`
	Opts        *wireOpts       `json:"opts"`
	Rooms       roomList        `json:"rooms"`
	Close       bool            `json:"close"`
	Sid         string          `json:"sid"`
	Room        json.RawMessage `json:"room"`
	Data        json.RawMessage `json:"data"`
	Packet      json.RawMessage `json:"packet"`
	Sockets     json.RawMessage `json:"sockets"`
	ClientCount int             `json:"clientCount"`
}

type wireSocket struct {
	ID        string          `json:"id"`
	Handshake wireHandshake   `json:"handshake"`
	Rooms     roomList        `json:"rooms"`
	Data      json.RawMessage `json:"data"`
}

type wireHandshake struct {
	Headers map[string]json.RawMessage `json:"headers"`
	Time    string                     `json:"time"`
	Address string                     `json:"address"`
	XDomain bool                       `json:"xdomain"`
	Secure  bool                       `json:"secure"`
	Issued  float64                    `json:"issued"`
	URL     string                     `json:"url"`
	Query   map[string]json.RawMessage `json:"query"`
	Auth    json.RawMessage            `json:"auth"`
}

// flatten turns header and query values into strings: arrays (Node's
// set-cookie, repeated query keys) are joined with ", ".
func flatten(m map[string]json.RawMessage) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		var s string
		var list []string
		switch {
		case json.Unmarshal(v, &s) == nil:
			out[k] = s
		case json.Unmarshal(v, &list) == nil:
			out[k] = strings.Join(list, ", ")
		default:
			out[k] = string(v)
		}
	}
	return out
}

func (w *wireSocket) remote() socketio.RemoteSocket {
	h := w.Handshake
	return socketio.RemoteSocket{
		ID:    w.ID,
		Rooms: sortedRooms(w.Rooms),
		Handshake: socketio.Handshake{
			Headers: flatten(h.Headers), Time: h.Time, Address: h.Address,
			XDomain: h.XDomain, Secure: h.Secure, Issued: int64(h.Issued),
			URL: h.URL, Query: flatten(h.Query), Auth: h.Auth,
		},
		Data: w.Data,
	}
}

// decodeMsg decodes a request or response: JSON when it starts with "{",
// msgpack otherwise.
func decodeMsg(payload []byte, mode binMode) (*wireMsg, [][]byte, error) {
	if len(payload) == 0 {
		return nil, nil, errors.New("redisadapter: empty message")
	}
	var atts [][]byte
	js := payload
	if payload[0] != '{' {
		var err error
		if js, atts, err = msgpackToJSON(payload, mode); err != nil {
			return nil, nil, err
		}
	}
	var m wireMsg
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, nil, err
	}
	return &m, atts, nil
}

func encodeJSON(m map[string]any) ([]byte, error) { return json.Marshal(m) }

// eventData is [event, ...args] as raw JSON values.
func eventData(event string, args [][]byte) ([]json.RawMessage, error) {
	ev, err := json.Marshal(event)
	if err != nil {
		return nil, err
	}
	data := make([]json.RawMessage, 0, 1+len(args))
	data = append(data, ev)
	for _, a := range args {
		if !json.Valid(a) {
			a, _ = json.Marshal(string(a))
		}
		data = append(data, a)
	}
	return data, nil
}

// splitEvent splits [event, ...args]; false when data is not such a
// list.
func splitEvent(data []json.RawMessage) (string, [][]byte, bool) {
	if len(data) == 0 {
		return "", nil, false
	}
	var event string
	if json.Unmarshal(data[0], &event) != nil {
		return "", nil, false
	}
	args := make([][]byte, len(data)-1)
	for i, a := range data[1:] {
		args[i] = a
	}
	return event, args, true
}

// toPacket makes a Packet of [event, ...args].
func toPacket(nsp string, data []json.RawMessage, atts [][]byte) (*socketio.Packet, bool) {
	event, args, ok := splitEvent(data)
	if !ok {
		return nil, false
	}
	return &socketio.Packet{Nsp: nsp, Event: event, Args: args, Attachments: atts}, true
}

func encodeStrings(enc *msgpack.Encoder, s []string) error {
	if err := enc.EncodeArrayLen(len(s)); err != nil {
		return err
	}
	for _, v := range s {
		if err := enc.EncodeString(v); err != nil {
			return err
		}
	}
	return nil
}

// encodePacket writes {type: 2, data: [event, ...args], nsp}; binary
// attachments become bins in place of their placeholders.
func encodePacket(enc *msgpack.Encoder, pkt *socketio.Packet) error {
	_ = enc.EncodeMapLen(3)
	_ = enc.EncodeString("type")
	_ = enc.EncodeInt(2)
	_ = enc.EncodeString("data")
	_ = enc.EncodeArrayLen(1 + len(pkt.Args))
	_ = enc.EncodeString(pkt.Event)
	for _, a := range pkt.Args {
		if err := writeJSONValue(enc, a, pkt.Attachments); err != nil {
			return err
		}
	}
	_ = enc.EncodeString("nsp")
	return enc.EncodeString(pkt.Nsp)
}

// encodeOpts writes {rooms, except, flags}.
func encodeOpts(enc *msgpack.Encoder, opts socketio.BroadcastOptions, withTimeout bool) error {
	_ = enc.EncodeMapLen(3)
	_ = enc.EncodeString("rooms")
	_ = encodeStrings(enc, opts.Rooms)
	_ = enc.EncodeString("except")
	_ = encodeStrings(enc, opts.Except)
	_ = enc.EncodeString("flags")
	n := 0
	f := opts.Flags
	timeout := withTimeout && f.Timeout > 0
	for _, on := range []bool{f.Volatile, f.NoCompress, timeout} {
		if on {
			n++
		}
	}
	_ = enc.EncodeMapLen(n)
	if f.Volatile {
		_ = enc.EncodeString("volatile")
		_ = enc.EncodeBool(true)
	}
	if f.NoCompress {
		_ = enc.EncodeString("compress")
		_ = enc.EncodeBool(false)
	}
	if timeout {
		_ = enc.EncodeString("timeout")
		return enc.EncodeInt(f.Timeout.Milliseconds())
	}
	return nil
}

// encodeBroadcast is the message of a broadcast channel:
// [uid, packet, opts].
func encodeBroadcast(uid string, pkt *socketio.Packet, opts socketio.BroadcastOptions) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	_ = enc.EncodeArrayLen(3)
	_ = enc.EncodeString(uid)
	if err := encodePacket(enc, pkt); err != nil {
		return nil, err
	}
	if err := encodeOpts(enc, opts, false); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodeBroadcastRequest is the BROADCAST request of a broadcast with
// acks.
func encodeBroadcastRequest(uid, id string, pkt *socketio.Packet, opts socketio.BroadcastOptions) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	_ = enc.EncodeMapLen(5)
	_ = enc.EncodeString("uid")
	_ = enc.EncodeString(uid)
	_ = enc.EncodeString("requestId")
	_ = enc.EncodeString(id)
	_ = enc.EncodeString("type")
	_ = enc.EncodeInt(typeBroadcast)
	_ = enc.EncodeString("packet")
	if err := encodePacket(enc, pkt); err != nil {
		return nil, err
	}
	_ = enc.EncodeString("opts")
	if err := encodeOpts(enc, opts, true); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodeAck is the BROADCAST_ACK response carrying a client's answer;
// the Buffer JSON in it goes as bin (see writeAckValue).
func encodeAck(id string, response []byte) []byte {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	_ = enc.EncodeMapLen(3)
	_ = enc.EncodeString("type")
	_ = enc.EncodeInt(typeBroadcastAck)
	_ = enc.EncodeString("requestId")
	_ = enc.EncodeString(id)
	_ = enc.EncodeString("packet")
	if response == nil {
		_ = enc.EncodeNil()
	} else {
		_ = writeAckValue(enc, response)
	}
	return buf.Bytes()
}

// onBroadcast delivers a broadcast of another node to the local sockets.
func (a *adapter) onBroadcast(channel string, payload []byte) {
	if !strings.HasPrefix(channel, a.prefix) || a.ownBroadcast(payload) {
		return
	}
	js, atts, err := msgpackToJSON(payload, binAttach)
	if err != nil {
		a.node.opts.Logger("warn", "malformed broadcast", "channel", channel, "error", err.Error())
		return
	}
	var parts []json.RawMessage
	if json.Unmarshal(js, &parts) != nil || len(parts) < 3 {
		return
	}
	var uid string
	_ = json.Unmarshal(parts[0], &uid)
	if uid == a.uid {
		return
	}
	var p wirePacket
	var o wireOpts
	if json.Unmarshal(parts[1], &p) != nil || json.Unmarshal(parts[2], &o) != nil {
		return
	}
	if p.Nsp != nil && *p.Nsp != a.nsp || p.Nsp == nil && a.nsp != "/" {
		return
	}
	pkt, ok := toPacket(a.nsp, p.Data, atts)
	if !ok {
		return
	}
	opts := toOptions(&o)
	opts.Flags.Timeout = 0
	_ = a.Adapter.Broadcast(pkt, opts)
}

// ownBroadcast tells, without decoding it, whether payload is one of this
// adapter's own broadcasts coming back (the node subscribes to the
// pattern it publishes on): a msgpack array of 3 whose first element is
// a short string equal to the uid. Anything else is decoded and checked
// in full.
func (a *adapter) ownBroadcast(payload []byte) bool {
	n := len(a.uid)
	return n < 32 && len(payload) > n+2 && payload[0] == 0x93 && payload[1] == 0xa0|byte(n) &&
		string(payload[2:2+n]) == a.uid
}

// respond publishes an answer to request m.
func (a *adapter) respond(m *wireMsg, payload []byte) {
	ch := a.resCh
	if a.node.opts.PublishOnSpecificResponseChannel && m.UID != nil {
		ch += *m.UID + "#"
	}
	a.node.out.post(ch, payload)
}

// onRequest handles a request of another node (or of an emitter, which
// has no uid).
func (a *adapter) onRequest(payload []byte) {
	m, atts, err := decodeMsg(payload, binAttach)
	if err != nil {
		a.node.opts.Logger("warn", "malformed request", "namespace", a.nsp, "error", err.Error())
		return
	}
	if m.UID != nil && *m.UID == a.uid {
		return // applied (or answered) at call time
	}
	if h := a.node.requestHook.Load(); h != nil && (*h)(m.Type) {
		return
	}
	ctx := context.Background()
	switch m.Type {
	case typeSockets:
		socks, _ := a.Adapter.FetchSockets(ctx, socketio.BroadcastOptions{Rooms: m.Rooms})
		ids := make([]string, len(socks))
		for i, s := range socks {
			ids[i] = s.ID
		}
		b, _ := encodeJSON(map[string]any{"requestId": m.RequestID, "sockets": ids})
		a.respond(m, b)
	case typeAllRooms:
		b, _ := encodeJSON(map[string]any{"requestId": m.RequestID, "rooms": nonNil(a.Adapter.Rooms())})
		a.respond(m, b)
	case typeRemoteJoin, typeRemoteLeave, typeRemoteDisconnect:
		a.onSocketsRequest(m)
	case typeRemoteFetch:
		out := describeSockets(ctx, a.Adapter, a.host, toOptions(m.Opts))
		b, err := encodeJSON(map[string]any{"requestId": m.RequestID, "sockets": out})
		if err != nil {
			a.node.opts.Logger("error", "fetchSockets answer", "namespace", a.nsp, "error", err.Error())
			return
		}
		a.respond(m, b)
	case typeServerSideEmit:
		a.onServerSideEmit(m)
	case typeBroadcast:
		a.onBroadcastRequest(m, atts)
	}
}

// onSocketsRequest applies a REMOTE_JOIN, REMOTE_LEAVE or
// REMOTE_DISCONNECT to the local sockets.
func (a *adapter) onSocketsRequest(m *wireMsg) {
	var opts socketio.BroadcastOptions
	legacy := m.Opts == nil
	if legacy {
		// The one-socket form of older adapters, answered once done.
		if m.Sid == "" || a.Adapter.SocketRooms(m.Sid) == nil {
			return
		}
		opts.Rooms = []string{m.Sid}
	} else {
		opts = toOptions(m.Opts)
		opts.Flags = socketio.BroadcastFlags{}
	}
	rooms := []string(m.Rooms)
	if legacy {
		var room string
		if json.Unmarshal(m.Room, &room) != nil {
			room = strings.TrimSpace(string(m.Room))
		}
		rooms = []string{room}
	}
	switch m.Type {
	case typeRemoteJoin:
		_ = a.Adapter.AddSockets(opts, rooms)
	case typeRemoteLeave:
		_ = a.Adapter.DelSockets(opts, rooms)
	default:
		_ = a.Adapter.DisconnectSockets(opts, m.Close)
	}
	if legacy && m.RequestID != "" {
		b, _ := encodeJSON(map[string]any{"requestId": m.RequestID})
		a.respond(m, b)
	}
}

// onServerSideEmit runs the namespace's server-side listeners, on a
// goroutine of their own; the answer goes to the shared response channel
// (as Node's adapter sends it).
func (a *adapter) onServerSideEmit(m *wireMsg) {
	var data []json.RawMessage
	if json.Unmarshal(m.Data, &data) != nil {
		return
	}
	event, args, ok := splitEvent(data)
	if !ok {
		return
	}
	var ack func([]byte)
	if m.RequestID != "" {
		id := m.RequestID
		ack = func(r []byte) {
			if r == nil || !json.Valid(r) {
				r = []byte("null")
			}
			b, _ := encodeJSON(map[string]any{"type": typeServerSideEmit, "requestId": id, "data": json.RawMessage(r)})
			a.node.out.post(a.resCh, b)
		}
	}
	a.node.async(func() { a.host.ServerSideEvent(event, args, ack) })
}

// onBroadcastRequest delivers a broadcast with acks of another node: the
// count of local receivers first (also when 0), then each client's answer.
func (a *adapter) onBroadcastRequest(m *wireMsg, atts [][]byte) {
	if m.RequestID == "" || a.sentWithAcks(m.RequestID) {
		return
	}
	var p wirePacket
	if json.Unmarshal(m.Packet, &p) != nil {
		return
	}
	pkt, ok := toPacket(a.nsp, p.Data, atts)
	if !ok {
		return
	}
	pkt.ID, pkt.HasID = a.host.NextAckID(), true
	opts := toOptions(m.Opts)
	id := m.RequestID
	_ = a.Adapter.BroadcastWithAck(pkt, opts, func(n int) {
		b, _ := encodeJSON(map[string]any{"type": typeBroadcastClientCount, "requestId": id, "clientCount": n})
		a.respond(m, b)
	}, func(r []byte) {
		a.respond(m, encodeAck(id, r))
	})
}

// onResponse matches an answer with a request of this node by its id.
func (a *adapter) onResponse(payload []byte) {
	m, _, err := decodeMsg(payload, binBuffer)
	if err != nil || m.RequestID == "" {
		return
	}
	switch m.Type {
	case typeBroadcastClientCount:
		a.clientCount(m.RequestID, m.ClientCount)
		return
	case typeBroadcastAck:
		r := []byte(m.Packet)
		if len(r) == 0 {
			r = nil
		}
		a.clientAck(m.RequestID, r)
		return
	}
	// The answers of fetchSockets have no type: the request's tells.
	a.answered(m.RequestID, func(p *pending) bool {
		switch p.typ {
		case typeRemoteFetch:
			p.addSockets(m.Sockets)
		case typeServerSideEmit:
			p.addResponse(m.Data)
		default:
			return false
		}
		return true
	})
}
