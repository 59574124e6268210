package redisadapter

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strconv"

	socketio "github.com/fiber-socketio/socketio"
	"github.com/redis/go-redis/v9"
	"github.com/vmihailenco/msgpack/v5"
)

// This file is the wire format of the streams adapter, as Node's
// @socket.io/redis-streams-adapter writes it:
//   - a stream entry has the fields uid, nsp, type (a decimal string) and
//     data: the message's data as JSON, or, when a broadcast carries binary
//     data, as msgpack in base64;
//   - a message on a channel (requests, answers) is the whole message
//     {type, data, uid, nsp} as msgpack;
//   - a lost session is {sid, pid, rooms, data} as msgpack in base64.

// errMalformedEntry is a stream entry without the fields of a message.
var errMalformedEntry = errors.New("redisadapter: malformed stream entry")

// entryValues are the fields of a stream entry, in Node's order.
func (a *streamsAdapter) entryValues(typ int, data []byte) []any {
	return []any{"uid", a.uid, "nsp", a.nsp, "type", strconv.Itoa(typ), "data", data}
}

// broadcastEntry is the stream entry of a broadcast.
func (a *streamsAdapter) broadcastEntry(pkt *socketio.Packet, opts socketio.BroadcastOptions) ([]any, error) {
	if len(pkt.Attachments) == 0 {
		data, err := eventData(pkt.Event, pkt.Args)
		if err != nil {
			return nil, err
		}
		js, err := json.Marshal(map[string]any{
			"packet": map[string]any{"type": 2, "data": data, "nsp": pkt.Nsp},
			"opts":   wireOptions(opts, false),
		})
		if err != nil {
			return nil, err
		}
		return a.entryValues(msgBroadcast, js), nil
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	_ = enc.EncodeMapLen(2)
	_ = enc.EncodeString("packet")
	if err := encodePacket(enc, pkt); err != nil {
		return nil, err
	}
	_ = enc.EncodeString("opts")
	if err := encodeOpts(enc, opts, false); err != nil {
		return nil, err
	}
	b64 := make([]byte, base64.StdEncoding.EncodedLen(buf.Len()))
	base64.StdEncoding.Encode(b64, buf.Bytes())
	return a.entryValues(msgBroadcast, b64), nil
}

// addEntry adds a message without binary data to the stream.
func (a *streamsAdapter) addEntry(typ int, data map[string]any) error {
	js, err := json.Marshal(data)
	if err != nil {
		return err
	}
	a.node.writer.add(a.stream, a.entryValues(typ, js), nil)
	return nil
}

// encodeEphemeral is a message for a channel: msgpack.
func (a *streamsAdapter) encodeEphemeral(typ int, data map[string]any) ([]byte, error) {
	js, err := a.encodeMsg(typ, data)
	if err != nil {
		return nil, err
	}
	return toMsgpack(js)
}

// toMsgpack converts a JSON message to msgpack; one that is msgpack
// already (a broadcast or a broadcast's ack with binary data) is returned
// as is.
func toMsgpack(msg []byte) ([]byte, error) {
	if len(msg) == 0 || msg[0] != '{' {
		return msg, nil
	}
	n, err := parseJSON(msg)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := encodeNode(msgpack.NewEncoder(&buf), n, nil, false); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeEntry decodes a stream entry. The bins of a broadcast become
// attachments; elsewhere they become Node's Buffer.toJSON form.
func decodeEntry(values map[string]any) (*clusterMsg, [][]byte, error) {
	uid, _ := values["uid"].(string)
	nsp, ok := values["nsp"].(string)
	typ, err := strconv.Atoi(stringValue(values["type"]))
	if !ok || err != nil {
		return nil, nil, errMalformedEntry
	}
	m := &clusterMsg{Nsp: &nsp, Type: typ}
	m.UID, _ = json.Marshal(uid)
	data := stringValue(values["data"])
	if data == "" {
		return m, nil, nil
	}
	if data[0] == '{' {
		if err := json.Unmarshal([]byte(data), &m.Data); err != nil {
			return nil, nil, err
		}
		return m, nil, nil
	}
	payload, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, nil, err
	}
	mode := binAttach
	if typ != msgBroadcast {
		mode = binBuffer
	}
	js, atts, err := msgpackToJSON(payload, mode)
	if err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(js, &m.Data); err != nil {
		return nil, nil, err
	}
	return m, atts, nil
}

func stringValue(v any) string {
	s, _ := v.(string)
	return s
}

// missedPacket is the packet of stream entry e for a session in rooms: a
// stored broadcast of the namespace that selects them, with the entry id as
// its offset; nil for any other entry.
func (a *streamsAdapter) missedPacket(e redis.XMessage, rooms []string) *socketio.EncodedPacket {
	if stringValue(e.Values["nsp"]) != a.nsp || stringValue(e.Values["type"]) != strconv.Itoa(msgBroadcast) {
		return nil
	}
	m, atts, err := decodeEntry(e.Values)
	if err != nil || rawString(m.Data.RequestID) != "" {
		return nil
	}
	opts := toOptions(m.Data.Opts)
	if opts.Flags.Volatile || !selects(opts, rooms) {
		return nil
	}
	var p wirePacket
	if json.Unmarshal(m.Data.Packet, &p) != nil {
		return nil
	}
	pkt, ok := toPacket(a.nsp, p.Data, atts)
	if !ok {
		return nil
	}
	pkt.Offset = e.ID
	return pkt.Encode()
}

// selects reports whether a broadcast with opts reaches a socket in rooms,
// as Node's shouldIncludePacket decides.
func selects(opts socketio.BroadcastOptions, rooms []string) bool {
	in := len(opts.Rooms) == 0
	for _, r := range rooms {
		if slices.Contains(opts.Except, r) {
			return false
		}
		in = in || slices.Contains(opts.Rooms, r)
	}
	return in
}

// wireSession is a lost session as Node's adapter stores it, plus the
// UUID of a Go socket whose SetUUID changed it (Node ignores the field).
type wireSession struct {
	Sid   string   `json:"sid"`
	Pid   string   `json:"pid"`
	Rooms roomList `json:"rooms"`
	Data  any      `json:"data"`
	UUID  string   `json:"uuid,omitempty"`
}

// encodeSession is s as Node's adapter stores it: msgpack in base64. The
// attributes that cannot be marshalled as JSON are left out.
func encodeSession(s *socketio.Session) (string, error) {
	data := make(map[string]json.RawMessage, len(s.Data))
	for k, v := range s.Data {
		if b, err := json.Marshal(v); err == nil {
			data[k] = b
		}
	}
	w := wireSession{Sid: s.ID, Pid: s.PID, Rooms: nonNil(s.Rooms), Data: data}
	if s.UUID != s.ID {
		w.UUID = s.UUID
	}
	js, err := json.Marshal(w)
	if err != nil {
		return "", err
	}
	mp, err := toMsgpack(js)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(mp), nil
}

// decodeSession reads a stored session; its data becomes the attributes
// when it is an object.
func decodeSession(raw string) (*socketio.Session, error) {
	payload, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, err
	}
	js, _, err := msgpackToJSON(payload, binBuffer)
	if err != nil {
		return nil, err
	}
	var w wireSession
	if err := json.Unmarshal(js, &w); err != nil {
		return nil, err
	}
	if w.Sid == "" {
		return nil, errors.New("session without sid")
	}
	s := &socketio.Session{ID: w.Sid, PID: w.Pid, UUID: w.UUID, Rooms: w.Rooms}
	if s.UUID == "" {
		s.UUID = s.ID
	}
	if m, ok := w.Data.(map[string]any); ok && len(m) > 0 {
		s.Data = m
	}
	return s, nil
}

// copyPacket copies pkt and its bytes, which the caller may reuse once
// Broadcast returned, while the packet waits for its XADD.
func copyPacket(pkt *socketio.Packet) *socketio.Packet {
	n := 0
	for _, a := range pkt.Args {
		n += len(a)
	}
	for _, a := range pkt.Attachments {
		n += len(a)
	}
	buf := make([]byte, 0, n)
	cp := *pkt
	cp.Args = make([][]byte, len(pkt.Args))
	for i, a := range pkt.Args {
		buf = append(buf, a...)
		cp.Args[i] = buf[len(buf)-len(a) : len(buf) : len(buf)]
	}
	if pkt.Attachments != nil {
		cp.Attachments = make([][]byte, len(pkt.Attachments))
		for i, a := range pkt.Attachments {
			buf = append(buf, a...)
			cp.Attachments[i] = buf[len(buf)-len(a) : len(buf) : len(buf)]
		}
	}
	return &cp
}

// copyOptions copies the room lists of opts.
func copyOptions(opts socketio.BroadcastOptions) socketio.BroadcastOptions {
	opts.Rooms = slices.Clone(opts.Rooms)
	opts.Except = slices.Clone(opts.Except)
	return opts
}
