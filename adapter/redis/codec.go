package redisadapter

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// This file converts between the JSON values of the socketio package (raw
// JSON arguments, binary attachments referenced by placeholders) and the
// msgpack that Node's adapter writes with notepack.io: strings as str,
// bytes as bin, integers in the smallest type, other numbers as float64,
// objects as maps with string keys in their JSON order.

// maxDepth bounds the nesting of decoded and encoded values.
const maxDepth = 64

var errTooDeep = errors.New("redisadapter: value nested too deeply")

// jnode is a parsed JSON value that keeps the order of object keys.
type jnode struct {
	kind byte // 'n' null, 'b' bool, 'f' number, 's' string, 'a' array, 'o' object
	b    bool
	num  json.Number
	s    string
	arr  []*jnode
	keys []string
	vals []*jnode
}

// parseJSON parses one JSON value, keeping key order.
func parseJSON(raw []byte) (*jnode, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	n, err := parseNode(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("redisadapter: trailing data after JSON value")
	}
	return n, nil
}

func parseNode(dec *json.Decoder, depth int) (*jnode, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case nil:
		return &jnode{kind: 'n'}, nil
	case bool:
		return &jnode{kind: 'b', b: v}, nil
	case json.Number:
		return &jnode{kind: 'f', num: v}, nil
	case string:
		return &jnode{kind: 's', s: v}, nil
	case json.Delim:
		switch v {
		case '[':
			n := &jnode{kind: 'a'}
			for dec.More() {
				c, err := parseNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.arr = append(n.arr, c)
			}
			_, err := dec.Token()
			return n, err
		case '{':
			n := &jnode{kind: 'o'}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				c, err := parseNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, c)
			}
			_, err := dec.Token()
			return n, err
		}
	}
	return nil, errors.New("redisadapter: unexpected JSON token")
}

// placeholder returns the attachment index of a {"_placeholder":true,
// "num":i} object.
func (n *jnode) placeholder() (int, bool) {
	if n.kind != 'o' || len(n.keys) != 2 {
		return 0, false
	}
	ok, num := false, -1
	for i, k := range n.keys {
		v := n.vals[i]
		switch {
		case k == "_placeholder" && v.kind == 'b' && v.b:
			ok = true
		case k == "num" && v.kind == 'f':
			if i, err := strconv.Atoi(string(v.num)); err == nil {
				num = i
			}
		}
	}
	return num, ok && num >= 0
}

// buffer returns the bytes of an object in the form of Node's
// Buffer.toJSON, {"type":"Buffer","data":[...]}: exactly those two
// members, "type" the string "Buffer" and "data" integers from 0 to 255.
func (n *jnode) buffer() ([]byte, bool) {
	if n.kind != 'o' || len(n.keys) != 2 {
		return nil, false
	}
	var data []byte
	hasType, hasData := false, false
	for i, k := range n.keys {
		v := n.vals[i]
		switch {
		case k == "type" && !hasType && v.kind == 's' && v.s == "Buffer":
			hasType = true
		case k == "data" && !hasData && v.kind == 'a':
			data = make([]byte, len(v.arr))
			for j, e := range v.arr {
				if e.kind != 'f' {
					return nil, false
				}
				b, err := strconv.Atoi(string(e.num))
				if err != nil || b < 0 || b > 255 {
					return nil, false
				}
				data[j] = byte(b)
			}
			hasData = true
		default:
			return nil, false
		}
	}
	return data, hasType && hasData
}

// encodeNode writes n as msgpack; placeholders become the bin of their
// attachment, and with buffers so do objects in the form of Node's
// Buffer.toJSON (see jnode.buffer).
func encodeNode(enc *msgpack.Encoder, n *jnode, attachments [][]byte, buffers bool) error {
	switch n.kind {
	case 'n':
		return enc.EncodeNil()
	case 'b':
		return enc.EncodeBool(n.b)
	case 's':
		return enc.EncodeString(n.s)
	case 'f':
		return encodeNumber(enc, n.num)
	case 'a':
		if err := enc.EncodeArrayLen(len(n.arr)); err != nil {
			return err
		}
		for _, c := range n.arr {
			if err := encodeNode(enc, c, attachments, buffers); err != nil {
				return err
			}
		}
		return nil
	default:
		if i, ok := n.placeholder(); ok && i < len(attachments) {
			return enc.EncodeBytes(attachments[i])
		}
		if buffers {
			if b, ok := n.buffer(); ok {
				return enc.EncodeBytes(b)
			}
		}
		if err := enc.EncodeMapLen(len(n.keys)); err != nil {
			return err
		}
		for i, k := range n.keys {
			if err := enc.EncodeString(k); err != nil {
				return err
			}
			if err := encodeNode(enc, n.vals[i], attachments, buffers); err != nil {
				return err
			}
		}
		return nil
	}
}

// encodeNumber writes an integer in the smallest msgpack int type and any
// other number as float64, as JavaScript's notepack.io does.
func encodeNumber(enc *msgpack.Encoder, num json.Number) error {
	if i, err := strconv.ParseInt(string(num), 10, 64); err == nil {
		return enc.EncodeInt(i)
	}
	if u, err := strconv.ParseUint(string(num), 10, 64); err == nil {
		return enc.EncodeUint(u)
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil {
		return err
	}
	if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
		return enc.EncodeInt(int64(f))
	}
	return enc.EncodeFloat64(f)
}

// writeJSONValue writes one raw JSON value; text that is not valid JSON is
// written as a string, as the socketio package sends it.
func writeJSONValue(enc *msgpack.Encoder, raw []byte, attachments [][]byte) error {
	n, err := parseJSON(raw)
	if err != nil {
		return enc.EncodeString(string(raw))
	}
	return encodeNode(enc, n, attachments, false)
}

// writeAckValue writes a client's answer to a broadcast with acks (raw
// JSON, as writeJSONValue does): the socketio package writes binary data
// in it as Node's Buffer.toJSON does, which is written as bin here, so
// that a Node requester gets a Buffer, as from one of its own clients, and
// a Go requester the same Buffer JSON (binBuffer). So an object a client
// answered that is exactly {"type":"Buffer","data":[...]} reaches a Node
// requester as a Buffer too.
func writeAckValue(enc *msgpack.Encoder, raw []byte) error {
	n, err := parseJSON(raw)
	if err != nil {
		return enc.EncodeString(string(raw))
	}
	return encodeNode(enc, n, nil, true)
}

// binaryAck returns a BROADCAST_ACK message of the cluster adapters (JSON)
// in msgpack, with the Buffer JSON in its answer written as bin (see
// writeAckValue), when it holds any; otherwise msg as it is.
func binaryAck(msg []byte) ([]byte, error) {
	if !bytes.Contains(msg, []byte("Buffer")) && !bytes.Contains(msg, []byte(`\u`)) {
		return msg, nil // "Buffer" is in it, unless spelt with escapes
	}
	n, err := parseJSON(msg)
	if err != nil || !n.holdsBuffer(0) {
		return msg, err
	}
	var buf bytes.Buffer
	if err := encodeNode(msgpack.NewEncoder(&buf), n, nil, true); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// holdsBuffer reports whether n is or holds an object in the form of
// Node's Buffer.toJSON.
func (n *jnode) holdsBuffer(depth int) bool {
	if depth > maxDepth {
		return false
	}
	if _, ok := n.buffer(); ok {
		return true
	}
	for _, c := range n.arr {
		if c.holdsBuffer(depth + 1) {
			return true
		}
	}
	for _, c := range n.vals {
		if c.holdsBuffer(depth + 1) {
			return true
		}
	}
	return false
}

// binMode says what a decoded bin becomes in JSON.
type binMode int

const (
	// binAttach collects the bytes as an attachment and writes its
	// placeholder (broadcast packets).
	binAttach binMode = iota
	// binBuffer writes the bytes as Node's Buffer.toJSON does
	// ({"type":"Buffer","data":[...]}).
	binBuffer
)

// decoder converts msgpack to JSON.
type decoder struct {
	dec         *msgpack.Decoder
	r           *bytes.Reader // what dec reads: r.Len() bytes are left
	mode        binMode
	attachments [][]byte
}

// errTruncated is a str, bin or ext longer than what is left of the
// input.
var errTruncated = errors.New("redisadapter: msgpack value longer than its message")

// msgpackToJSON converts one msgpack value to JSON; with binAttach the
// bins are returned as attachments.
func msgpackToJSON(data []byte, mode binMode) ([]byte, [][]byte, error) {
	r := bytes.NewReader(data)
	d := &decoder{dec: msgpack.NewDecoder(r), r: r, mode: mode}
	out, err := d.value(nil, 0)
	if err != nil {
		return nil, nil, err
	}
	return out, d.attachments, nil
}

func (d *decoder) value(out []byte, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	c, err := d.dec.PeekCode()
	if err != nil {
		return nil, err
	}
	switch {
	case c == msgpcode.Nil:
		return append(out, "null"...), d.dec.DecodeNil()
	case c == msgpcode.False || c == msgpcode.True:
		b, err := d.dec.DecodeBool()
		return strconv.AppendBool(out, b), err
	case msgpcode.IsFixedNum(c) || c == msgpcode.Int8 || c == msgpcode.Int16 || c == msgpcode.Int32 || c == msgpcode.Int64 ||
		c == msgpcode.Uint8 || c == msgpcode.Uint16 || c == msgpcode.Uint32:
		i, err := d.dec.DecodeInt64()
		return strconv.AppendInt(out, i, 10), err
	case c == msgpcode.Uint64:
		u, err := d.dec.DecodeUint64()
		return strconv.AppendUint(out, u, 10), err
	case c == msgpcode.Float || c == msgpcode.Double:
		f, err := d.dec.DecodeFloat64()
		return appendFloat(out, f), err
	case msgpcode.IsString(c):
		s, err := d.raw()
		if err != nil {
			return nil, err
		}
		b, _ := json.Marshal(string(s))
		return append(out, b...), nil
	case msgpcode.IsBin(c):
		b, err := d.raw()
		if err != nil {
			return nil, err
		}
		return d.bin(out, b), nil
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err := d.dec.DecodeArrayLen()
		if err != nil {
			return nil, err
		}
		out = append(out, '[')
		for i := 0; i < n; i++ {
			if i > 0 {
				out = append(out, ',')
			}
			if out, err = d.value(out, depth+1); err != nil {
				return nil, err
			}
		}
		return append(out, ']'), nil
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		n, err := d.dec.DecodeMapLen()
		if err != nil {
			return nil, err
		}
		out = append(out, '{')
		for i := 0; i < n; i++ {
			if i > 0 {
				out = append(out, ',')
			}
			if out, err = d.key(out, depth+1); err != nil {
				return nil, err
			}
			out = append(out, ':')
			if out, err = d.value(out, depth+1); err != nil {
				return nil, err
			}
		}
		return append(out, '}'), nil
	case msgpcode.IsExt(c):
		return d.ext(out)
	}
	return nil, errors.New("redisadapter: unsupported msgpack code " + strconv.Itoa(int(c)))
}

// raw reads a str or bin. Its declared length is checked against the
// input first: msgpack's DecodeBytes allocates the declared length (up to
// 4 GiB) before it reads, so a six-byte header would cost gigabytes.
func (d *decoder) raw() ([]byte, error) {
	n, err := d.dec.DecodeBytesLen()
	if err != nil {
		return nil, err
	}
	if n > d.r.Len() {
		return nil, errTruncated
	}
	b := make([]byte, max(n, 0))
	if err := d.dec.ReadFull(b); err != nil {
		return nil, err
	}
	return b, nil
}

// key writes a map key as a JSON string (a key that is not a string is
// written as its JSON text, as JavaScript turns keys into strings).
func (d *decoder) key(out []byte, depth int) ([]byte, error) {
	c, err := d.dec.PeekCode()
	if err != nil {
		return nil, err
	}
	if msgpcode.IsString(c) {
		return d.value(out, depth)
	}
	v, err := d.value(nil, depth)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(string(v))
	return append(out, b...), nil
}

func (d *decoder) bin(out, b []byte) []byte {
	if d.mode == binAttach {
		out = append(out, `{"_placeholder":true,"num":`...)
		out = strconv.AppendInt(out, int64(len(d.attachments)), 10)
		d.attachments = append(d.attachments, b)
		return append(out, '}')
	}
	out = append(out, `{"type":"Buffer","data":[`...)
	for i, c := range b {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendInt(out, int64(c), 10)
	}
	return append(out, "]}"...)
}

// ext writes a timestamp (ext -1, JavaScript's Date) as its ISO string,
// an ArrayBuffer (ext8 type 0) as binary, and other extensions as null.
func (d *decoder) ext(out []byte) ([]byte, error) {
	id, n, err := d.dec.DecodeExtHeader()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > d.r.Len() {
		return nil, errTruncated
	}
	b := make([]byte, n)
	if err := d.dec.ReadFull(b); err != nil {
		return nil, err
	}
	switch {
	case id == -1:
		var t time.Time
		switch n {
		case 4:
			t = time.Unix(int64(binary.BigEndian.Uint32(b)), 0)
		case 8:
			v := binary.BigEndian.Uint64(b)
			t = time.Unix(int64(v&(1<<34-1)), int64(v>>34))
		case 12:
			t = time.Unix(int64(binary.BigEndian.Uint64(b[4:])), int64(binary.BigEndian.Uint32(b)))
		default:
			return append(out, "null"...), nil
		}
		s, _ := json.Marshal(t.UTC().Format("2006-01-02T15:04:05.000Z"))
		return append(out, s...), nil
	case id == 0 && n > 1:
		return d.bin(out, b), nil
	}
	return append(out, "null"...), nil
}

// appendFloat writes a float as JSON.stringify does (NaN and infinities as
// null).
func appendFloat(out []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(out, "null"...)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.AppendFloat(out, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(out, f, 'g', -1, 64)
}
