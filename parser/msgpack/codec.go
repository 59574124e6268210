// Package msgpack converts between the Socket.IO packet encoding used by
// github.com/fiber-socketio/socketio (the socket.io-protocol v5 text encoding
// with binary attachments) and the wire format of the npm package
// socket.io-msgpack-parser (v3, built on notepack.io 2.2), so that clients
// created with
//
//	const io = require("socket.io-client");
//	const socket = io(url, { parser: require("socket.io-msgpack-parser") });
//
// can talk to the Go server. Give the server a [Parser] (Parser{}) as its
// packet parser; both ends must use the same parser.
//
// On that wire every Socket.IO packet is one binary Engine.IO message: the
// MessagePack encoding of the packet object {type, data, nsp, id}. Binary
// values travel inline as MessagePack bin values, so there are no
// attachments and no BINARY_EVENT / BINARY_ACK types: [Parser.Encode] sends a
// BINARY_EVENT (5) as an EVENT (2) and a BINARY_ACK (6) as an ACK (3), and
// [Parser.Decode] turns an EVENT or ACK that holds binary values back into
// type 5 or 6 with placeholders and attachments, exactly as socket.io-parser's
// text encoding has them.
//
// The conversion streams between JSON and MessagePack tokens (no intermediate
// values), so map key order is kept both ways. Numbers follow notepack.io:
// integral numbers within ±2^53 travel as the smallest MessagePack integer,
// every other number as a float 64 (notepack.io itself garbles integers
// beyond 2^53; they are sent as the float 64 a JavaScript peer holds
// instead). MessagePack numbers become JSON as JavaScript's JSON.stringify
// writes them: integers beyond ±2^53 are rounded to the nearest float 64 as
// JavaScript does, NaN and the infinities become null.
//
// Decode accepts what notepack.io produces for any JavaScript value a
// Socket.IO client can emit: maps with string keys, arrays, strings, bin,
// nil, booleans, integers of every width, float 32 and float 64, and these
// notepack.io extensions (type 0):
//   - fixext 1 (0xd4 0x00): undefined. It becomes null inside an array, and
//     a map entry holding it is dropped, as JSON.stringify does; a top-level
//     "data" or "id" holding it counts as absent.
//   - fixext 8 (0xd7 0x00): a Date, as milliseconds since the epoch. It
//     becomes the JSON string Date.prototype.toJSON gives (an ISO 8601 UTC
//     string, or null when the date is out of range).
//   - ext 8/16/32 with type 0: an ArrayBuffer or typed array sent by a Node
//     client. It is binary data, like bin.
//
// Any other extension type is rejected with [ErrInvalidPacket]. Binary data
// (bin, or ext type 0) in CONNECT or CONNECT_ERROR data does not become an
// attachment (the text encoding has none there): it becomes the JSON that
// socket.io-parser sends for it from Node, {"type":"Buffer","data":[...]}
// for bin and {} for ext type 0.
//
// A Socket.IO text packet given to Encode should be valid UTF-8; invalid
// bytes in it become U+FFFD.
package msgpack

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

var (
	// ErrInvalidPacket is returned (wrapped, with the reason) for input that
	// is not a valid packet: a Socket.IO text packet or JSON payload that
	// Encode cannot parse, or a message that Decode cannot read or that
	// socket.io-msgpack-parser's Decoder would reject. Every error of
	// Encode and Decode matches it with errors.Is.
	ErrInvalidPacket = errors.New("msgpack: invalid packet")
	// ErrAttachments is returned (wrapped together with ErrInvalidPacket)
	// by Encode when the attachments do not match the packet: the count in
	// a BINARY_EVENT or BINARY_ACK differs from len(attachments), a
	// placeholder's num is out of range, or a packet of another type comes
	// with attachments.
	ErrAttachments = errors.New("msgpack: attachments do not match the packet")
)

// Socket.IO packet types.
const (
	typeConnect      = 0
	typeDisconnect   = 1
	typeEvent        = 2
	typeAck          = 3
	typeConnectError = 4
	typeBinaryEvent  = 5
	typeBinaryAck    = 6
)

// maxSafe is 2^53: integral numbers of at most this magnitude travel as
// MessagePack integers, larger ones as float 64.
const maxSafe = 1 << 53

// Parser converts packets between the default Socket.IO text encoding and
// socket.io-msgpack-parser's MessagePack wire format. The zero value is
// ready to use, holds no state and is safe for concurrent use.
type Parser struct{}

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidPacket, reason) }

func badAttachments(reason string) error {
	return fmt.Errorf("%w: %w: %s", ErrInvalidPacket, ErrAttachments, reason)
}

// Encode converts one outbound packet, given in the socket.io-protocol v5
// text encoding without the Engine.IO message type (for example
// `2/admin,12["ev",{"a":[1,2]}]` or `51-["ev",{"_placeholder":true,"num":0}]`)
// and its binary attachments, into the binary Engine.IO message that
// socket.io-msgpack-parser's Decoder reads. Placeholders
// {"_placeholder":true,"num":N} (any key order and white space) in a
// BINARY_EVENT or BINARY_ACK are replaced by attachments[N] as MessagePack
// bin values, and the packet is sent as an EVENT or ACK. The packet must pass
// the Decoder's checks (CONNECT data absent or an object, DISCONNECT without
// data, CONNECT_ERROR data a string or an object, EVENT and ACK data an
// array). binary is always true. The returned message does not alias text or
// attachments.
func (Parser) Encode(text []byte, attachments [][]byte) (msg []byte, binary bool, err error) {
	if len(text) == 0 || text[0] < '0' || text[0] > '6' {
		return nil, false, invalid("bad packet type")
	}
	typ := int(text[0] - '0')
	i := 1
	withAttachments := false
	if typ == typeBinaryEvent || typ == typeBinaryAck {
		start := i
		n := 0
		for i < len(text) && text[i] >= '0' && text[i] <= '9' && i-start < 10 {
			n = n*10 + int(text[i]-'0')
			i++
		}
		if i == start || i >= len(text) || text[i] != '-' {
			return nil, false, invalid("bad attachment count")
		}
		i++
		if n != len(attachments) {
			return nil, false, badAttachments("attachment count differs from len(attachments)")
		}
		typ -= typeBinaryEvent - typeEvent
		withAttachments = true
	} else if len(attachments) != 0 {
		return nil, false, badAttachments("attachments given for a packet without attachments")
	}
	nsp := text[0:0]
	if i < len(text) && text[i] == '/' {
		start := i
		for i < len(text) && text[i] != ',' {
			i++
		}
		nsp = text[start:i]
		if i < len(text) {
			i++ // the comma
		}
	}
	var id []byte
	if i < len(text) && text[i] >= '0' && text[i] <= '9' {
		start := i
		for i < len(text) && text[i] >= '0' && text[i] <= '9' {
			i++
		}
		id = text[start:i]
	}
	data := text[i:]
	if len(data) > 0 {
		first := byte(0)
		if j := skipSpace(data, 0); j < len(data) {
			first = data[j]
		}
		ok := false
		switch typ {
		case typeConnect:
			ok = first == '{'
		case typeConnectError:
			ok = first == '{' || first == '"'
		case typeEvent, typeAck:
			ok = first == '['
		}
		if !ok {
			return nil, false, invalid("payload of the wrong kind for the packet type")
		}
	} else if typ == typeEvent || typ == typeAck || typ == typeConnectError {
		return nil, false, invalid("missing payload")
	}

	size := len(text) + 32
	for _, a := range attachments {
		size += len(a) + 5
	}
	out := make([]byte, 0, size)
	keys := byte(2)
	if len(data) > 0 {
		keys++
	}
	if id != nil {
		keys++
	}
	out = append(out, 0x80|keys, 0xa4, 't', 'y', 'p', 'e', byte(typ))
	if len(data) > 0 {
		out = append(out, 0xa4, 'd', 'a', 't', 'a')
		out, err = appendJSON(out, data, attachments, withAttachments)
		if err != nil {
			return nil, false, err
		}
	}
	out = append(out, 0xa3, 'n', 's', 'p')
	if len(nsp) == 0 {
		out = append(out, 0xa1, '/')
	} else {
		if !utf8.Valid(nsp) {
			nsp = appendValidUTF8(nil, nsp)
		}
		out = appendStrHeader(out, len(nsp))
		out = append(out, nsp...)
	}
	if id != nil {
		out = append(out, 0xa2, 'i', 'd')
		out = appendDigits(out, id)
	}
	return out, true, nil
}

// Decode converts one inbound Engine.IO message, which must be binary and
// hold one packet as socket.io-msgpack-parser's Encoder writes it, into the
// socket.io-protocol v5 text encoding (without the Engine.IO message type)
// and the attachments. Binary values in the data become placeholders
// {"_placeholder":true,"num":N} numbered in document order, with the bytes
// in attachments[N] (copies, not aliasing msg); a packet with any becomes a
// BINARY_EVENT (5) or BINARY_ACK (6) with the "N-" count prefix. The message
// must pass the checks of socket.io-msgpack-parser's Decoder (type an
// integer 0 to 4, nsp a string, data of the kind the type requires, id
// absent or an integer) and consist of exactly one MessagePack value; in
// addition nsp must be "/" or start with "/" and hold no ",", and id must be
// a non-negative integer below 2^64, as the text encoding requires. Keys of
// the packet object other than type, nsp, data and id (such as the
// "options" socket.io-client sends) are ignored; of a repeated key the last
// counts, as in JavaScript. A packet with binary values in which a map has
// the key "_placeholder" with the value true is rejected, since that map
// would read as a placeholder.
func (Parser) Decode(msg []byte, binary bool) (text []byte, attachments [][]byte, err error) {
	if !binary {
		return nil, nil, invalid("socket.io-msgpack-parser sends only binary messages")
	}
	d := reader{b: msg}
	n, err := d.mapLen()
	if err != nil {
		return nil, nil, err
	}
	if 2*uint64(n) > uint64(len(msg)-d.pos) {
		return nil, nil, truncated()
	}
	var typeV, nspV, dataV, idV span
	dataBin := 0 // bytes of binary values in data
	for ; n > 0; n-- {
		key, err := d.key()
		if err != nil {
			return nil, nil, err
		}
		start, bins := d.pos, d.binBytes
		if err := d.skip(); err != nil {
			return nil, nil, err
		}
		v := span{start, d.pos}
		switch string(key) {
		case "type":
			typeV = v
		case "nsp":
			nspV = v
		case "data":
			dataV, dataBin = v, d.binBytes-bins
		case "id":
			idV = v
		}
	}
	if d.pos != len(msg) {
		return nil, nil, invalid("trailing bytes")
	}
	// An explicit undefined is the same as an absent key.
	dataV = undefinedIsAbsent(msg, dataV)
	idV = undefinedIsAbsent(msg, idV)

	f, ok := number(msg, typeV)
	if !ok || f != math.Trunc(f) || f < typeConnect || f > typeConnectError {
		return nil, nil, invalid("invalid packet type")
	}
	typ := byte(f)
	if nspV.empty() {
		return nil, nil, invalid("invalid namespace")
	}
	nr := reader{b: msg[:nspV.end], pos: nspV.start}
	nsp, ok := nr.str()
	if !ok {
		return nil, nil, invalid("invalid namespace")
	}
	if len(nsp) == 0 || nsp[0] != '/' {
		return nil, nil, invalid("namespace does not start with /")
	}
	for _, c := range nsp {
		if c == ',' {
			return nil, nil, invalid("namespace holds a comma")
		}
	}
	var idF float64
	if !idV.empty() {
		idF, ok = number(msg, idV)
		if !ok || idF != math.Trunc(idF) {
			return nil, nil, invalid("invalid packet id")
		}
		if idF < 0 || idF >= 1<<64 {
			return nil, nil, invalid("packet id out of range")
		}
	}
	if !dataV.empty() {
		c := msg[dataV.start]
		ok := false
		switch typ {
		case typeConnect:
			ok = isMap(c)
		case typeConnectError:
			ok = isMap(c) || isStr(c)
		case typeEvent, typeAck:
			ok = isArray(c)
		}
		if !ok {
			return nil, nil, invalid("invalid payload")
		}
	} else if typ != typeConnect && typ != typeDisconnect {
		return nil, nil, invalid("invalid payload")
	}

	// JSON is about half again as long as MessagePack, but binary values
	// stay out of it.
	out := make([]byte, 0, len(nsp)+(dataV.end-dataV.start-dataBin)*3/2+32)
	out = append(out, '0'+typ)
	if len(nsp) != 1 {
		out = appendValidUTF8(out, nsp)
		out = append(out, ',')
	}
	if !idV.empty() {
		out = appendNumber(out, idF)
	}
	if !dataV.empty() {
		j := jsonWriter{
			reader:       reader{b: msg[:dataV.end], pos: dataV.start},
			out:          out,
			placeholders: typ == typeEvent || typ == typeAck,
		}
		if err := j.value(); err != nil {
			return nil, nil, err
		}
		out, attachments = j.out, j.bins
		if len(attachments) > 0 {
			if j.lookalike {
				return nil, nil, invalid(`a map with "_placeholder": true in a packet with binary data`)
			}
			// EVENT -> BINARY_EVENT, ACK -> BINARY_ACK, with "N-".
			out[0] += typeBinaryEvent - typeEvent
			var prefix [24]byte
			p := strconv.AppendInt(prefix[:0], int64(len(attachments)), 10)
			p = append(p, '-')
			out = append(out, p...)
			copy(out[1+len(p):], out[1:len(out)-len(p)])
			copy(out[1:], p)
		}
	}
	return out, attachments, nil
}

// span is the byte range of one MessagePack value; the zero span means none.
type span struct{ start, end int }

func (s span) empty() bool { return s.end == 0 }

// undefinedIsAbsent returns the zero span for notepack.io's undefined.
func undefinedIsAbsent(b []byte, s span) span {
	if !s.empty() && isUndefined(b, s.start) {
		return span{}
	}
	return s
}

func isUndefined(b []byte, i int) bool { return i+1 < len(b) && b[i] == 0xd4 && b[i+1] == 0 }

func isMap(c byte) bool   { return c&0xf0 == 0x80 || c == 0xde || c == 0xdf }
func isArray(c byte) bool { return c&0xf0 == 0x90 || c == 0xdc || c == 0xdd }
func isStr(c byte) bool   { return c&0xe0 == 0xa0 || c == 0xd9 || c == 0xda || c == 0xdb }

// number returns the value of the MessagePack number (integer or float) in
// s, as JavaScript holds it.
func number(b []byte, s span) (float64, bool) {
	if s.empty() {
		return 0, false
	}
	r := reader{b: b[:s.end], pos: s.start}
	c := r.b[r.pos]
	r.pos++
	switch {
	case c < 0x80:
		return float64(c), true
	case c >= 0xe0:
		return float64(int8(c)), true
	case c == 0xca:
		v, ok := r.uint(4)
		return float64(math.Float32frombits(uint32(v))), ok
	case c == 0xcb:
		v, ok := r.uint(8)
		return math.Float64frombits(v), ok
	case c >= 0xcc && c <= 0xcf:
		v, ok := r.uint(1 << (c - 0xcc))
		return float64(v), ok
	case c >= 0xd0 && c <= 0xd3:
		n := 1 << (c - 0xd0)
		v, ok := r.uint(n)
		return float64(signExtend(v, n)), ok
	}
	return 0, false
}

func signExtend(v uint64, n int) int64 {
	shift := 64 - 8*uint(n)
	return int64(v<<shift) >> shift
}

// reader reads MessagePack from b starting at pos.
type reader struct {
	b   []byte
	pos int
	// binBytes counts the bytes of bin and ext values skip stepped over.
	binBytes int
}

func truncated() error { return invalid("truncated message") }

// uint reads an n-byte big-endian unsigned integer.
func (r *reader) uint(n int) (uint64, bool) {
	if len(r.b)-r.pos < n {
		return 0, false
	}
	var v uint64
	for _, c := range r.b[r.pos : r.pos+n] {
		v = v<<8 | uint64(c)
	}
	r.pos += n
	return v, true
}

// mapLen reads a map header.
func (r *reader) mapLen() (int, error) {
	if r.pos >= len(r.b) {
		return 0, truncated()
	}
	c := r.b[r.pos]
	r.pos++
	var n uint64
	ok := true
	switch {
	case c&0xf0 == 0x80:
		n = uint64(c & 0x0f)
	case c == 0xde:
		n, ok = r.uint(2)
	case c == 0xdf:
		n, ok = r.uint(4)
	default:
		return 0, invalid("packet is not a map")
	}
	if !ok {
		return 0, truncated()
	}
	return int(n), nil
}

// strLen reads the length of a str whose first byte c was just read, and
// checks that the bytes are there.
func (r *reader) strLen(c byte) (int, bool) {
	var n uint64
	ok := true
	switch {
	case c&0xe0 == 0xa0:
		n = uint64(c & 0x1f)
	case c == 0xd9:
		n, ok = r.uint(1)
	case c == 0xda:
		n, ok = r.uint(2)
	case c == 0xdb:
		n, ok = r.uint(4)
	default:
		return 0, false
	}
	if !ok || n > uint64(len(r.b)-r.pos) {
		return 0, false
	}
	return int(n), true
}

// str reads a str value.
func (r *reader) str() ([]byte, bool) {
	if r.pos >= len(r.b) {
		return nil, false
	}
	c := r.b[r.pos]
	r.pos++
	n, ok := r.strLen(c)
	if !ok {
		return nil, false
	}
	s := r.b[r.pos : r.pos+n]
	r.pos += n
	return s, true
}

// key reads a map key, which must be a str.
func (r *reader) key() ([]byte, error) {
	if r.pos >= len(r.b) {
		return nil, truncated()
	}
	if !isStr(r.b[r.pos]) {
		return nil, invalid("map key is not a string")
	}
	s, ok := r.str()
	if !ok {
		return nil, truncated()
	}
	return s, nil
}

// skip steps over one complete MessagePack value of any kind (extension
// values included: notepack.io decodes any of them).
func (r *reader) skip() error {
	pending := uint64(1)
	for pending > 0 {
		if pending > uint64(len(r.b)-r.pos) {
			return truncated()
		}
		pending--
		c := r.b[r.pos]
		r.pos++
		var n uint64 // bytes of payload to skip
		ok := true
		switch {
		case c < 0x80 || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		case c < 0x90:
			pending += 2 * uint64(c&0x0f)
		case c < 0xa0:
			pending += uint64(c & 0x0f)
		case c < 0xc0:
			n = uint64(c & 0x1f)
		case c == 0xc4 || c == 0xd9:
			n, ok = r.uint(1)
		case c == 0xc5 || c == 0xda:
			n, ok = r.uint(2)
		case c == 0xc6 || c == 0xdb:
			n, ok = r.uint(4)
		case c == 0xc7 || c == 0xc8 || c == 0xc9:
			n, ok = r.uint(1 << (c - 0xc7))
			n++ // the type byte
		case c == 0xca:
			n = 4
		case c == 0xcb:
			n = 8
		case c >= 0xcc && c <= 0xcf:
			n = 1 << (c - 0xcc)
		case c >= 0xd0 && c <= 0xd3:
			n = 1 << (c - 0xd0)
		case c >= 0xd4 && c <= 0xd8:
			n = 1 + 1<<(c-0xd4)
		case c == 0xdc:
			n, ok = r.uint(2)
			pending += n
			n = 0
		case c == 0xdd:
			n, ok = r.uint(4)
			pending += n
			n = 0
		case c == 0xde:
			n, ok = r.uint(2)
			pending += 2 * n
			n = 0
		case c == 0xdf:
			n, ok = r.uint(4)
			pending += 2 * n
			n = 0
		default: // 0xc1
			return invalid("reserved byte 0xc1")
		}
		if !ok || n > uint64(len(r.b)-r.pos) {
			return truncated()
		}
		if c >= 0xc4 && c <= 0xc9 {
			r.binBytes += int(n)
		}
		r.pos += int(n)
	}
	return nil
}

// jsonWriter transcodes one MessagePack value into JSON, collecting binary
// values as attachments.
type jsonWriter struct {
	reader
	out []byte
	// placeholders is set for EVENT and ACK: binary values become
	// placeholders and attachments. In CONNECT and CONNECT_ERROR data they
	// become what JSON.stringify makes of them on a Node server, as
	// socket.io-parser sends them: {"type":"Buffer","data":[...]} for bin
	// (a Buffer) and {} for an ArrayBuffer.
	placeholders bool
	bins         [][]byte
	// lookalike is set when a map has the key "_placeholder" with the value
	// true: with binary values in the packet it would be mistaken for a
	// placeholder.
	lookalike bool
}

// container is an open array or map of jsonWriter.value.
type container struct {
	left  uint64 // elements (arrays) or entries (maps) still to read
	isMap bool
	wrote bool // whether an element has been written (a comma is due)
}

// value transcodes one value; it is iterative, so hostile nesting costs heap,
// not goroutine stack.
func (j *jsonWriter) value() error {
	var small [16]container
	stack := small[:0]
	started := false
	for {
		if len(stack) == 0 {
			if started {
				return nil
			}
			started = true
		} else {
			top := &stack[len(stack)-1]
			if top.left == 0 {
				if top.isMap {
					j.out = append(j.out, '}')
				} else {
					j.out = append(j.out, ']')
				}
				stack = stack[:len(stack)-1]
				continue
			}
			top.left--
			if top.isMap {
				key, err := j.key()
				if err != nil {
					return err
				}
				if isUndefined(j.b, j.pos) {
					// JSON.stringify drops an undefined property.
					if err := j.skip(); err != nil {
						return err
					}
					continue
				}
				if j.pos < len(j.b) && j.b[j.pos] == 0xc3 && string(key) == "_placeholder" {
					j.lookalike = true
				}
				if top.wrote {
					j.out = append(j.out, ',')
				}
				top.wrote = true
				j.out = appendJSONString(j.out, key)
				j.out = append(j.out, ':')
			} else {
				if top.wrote {
					j.out = append(j.out, ',')
				}
				top.wrote = true
			}
		}
		if j.pos >= len(j.b) {
			return truncated()
		}
		c := j.b[j.pos]
		j.pos++
		switch {
		case c < 0x80:
			j.out = strconv.AppendUint(j.out, uint64(c), 10)
		case c >= 0xe0:
			j.out = strconv.AppendInt(j.out, int64(int8(c)), 10)
		case c < 0x90 || c == 0xde || c == 0xdf, c < 0xa0 || c == 0xdc || c == 0xdd:
			var n uint64
			ok := true
			switch c {
			case 0xdc, 0xde:
				n, ok = j.uint(2)
			case 0xdd, 0xdf:
				n, ok = j.uint(4)
			default:
				n = uint64(c & 0x0f)
			}
			if !ok {
				return truncated()
			}
			m := isMap(c)
			if m {
				j.out = append(j.out, '{')
			} else {
				j.out = append(j.out, '[')
			}
			// Every element takes at least one byte: a cheap bound
			// before anything is allocated for a huge count.
			if need := n << btoi(m); need > uint64(len(j.b)-j.pos) {
				return truncated()
			}
			stack = append(stack, container{left: n, isMap: m})
		case c < 0xc0 || c == 0xd9 || c == 0xda || c == 0xdb:
			n, ok := j.strLen(c)
			if !ok {
				return truncated()
			}
			j.out = appendJSONString(j.out, j.b[j.pos:j.pos+n])
			j.pos += n
		case c == 0xc0:
			j.out = append(j.out, "null"...)
		case c == 0xc2:
			j.out = append(j.out, "false"...)
		case c == 0xc3:
			j.out = append(j.out, "true"...)
		case c >= 0xc4 && c <= 0xc6:
			n, ok := j.uint(1 << (c - 0xc4))
			if !ok || n > uint64(len(j.b)-j.pos) {
				return truncated()
			}
			if j.placeholders {
				j.bin(int(n))
			} else {
				j.out = appendBufferJSON(j.out, j.b[j.pos:j.pos+int(n)])
				j.pos += int(n)
			}
		case c >= 0xc7 && c <= 0xc9:
			n, ok := j.uint(1 << (c - 0xc7))
			if !ok || n >= uint64(len(j.b)-j.pos) {
				return truncated()
			}
			if j.b[j.pos] != 0 {
				return invalid(fmt.Sprintf("unsupported extension type %d", int8(j.b[j.pos])))
			}
			j.pos++
			// notepack.io: an ArrayBuffer or typed array.
			if j.placeholders {
				j.bin(int(n))
			} else {
				j.out = append(j.out, '{', '}')
				j.pos += int(n)
			}
		case c >= 0xcc && c <= 0xcf:
			v, ok := j.uint(1 << (c - 0xcc))
			if !ok {
				return truncated()
			}
			if v <= maxSafe {
				j.out = strconv.AppendUint(j.out, v, 10)
			} else {
				j.out = appendNumber(j.out, float64(v)) // as JavaScript holds it
			}
		case c >= 0xd0 && c <= 0xd3:
			n := 1 << (c - 0xd0)
			v, ok := j.uint(n)
			if !ok {
				return truncated()
			}
			if i := signExtend(v, n); i >= -maxSafe && i <= maxSafe {
				j.out = strconv.AppendInt(j.out, i, 10)
			} else {
				j.out = appendNumber(j.out, float64(i))
			}
		case c == 0xca:
			v, ok := j.uint(4)
			if !ok {
				return truncated()
			}
			j.out = appendNumber(j.out, float64(math.Float32frombits(uint32(v))))
		case c == 0xcb:
			v, ok := j.uint(8)
			if !ok {
				return truncated()
			}
			j.out = appendNumber(j.out, math.Float64frombits(v))
		case c >= 0xd4 && c <= 0xd8:
			size := 1 << (c - 0xd4)
			if len(j.b)-j.pos < 1+size {
				return truncated()
			}
			typ := j.b[j.pos]
			j.pos++
			switch {
			case typ == 0 && c == 0xd4: // undefined
				j.out = append(j.out, "null"...)
			case typ == 0 && c == 0xd7: // Date
				v, _ := (&reader{b: j.b, pos: j.pos}).uint(8)
				j.out = appendDate(j.out, v)
			default:
				return invalid(fmt.Sprintf("unsupported extension type %d", int8(typ)))
			}
			j.pos += size
		default: // 0xc1
			return invalid("reserved byte 0xc1")
		}
	}
}

func btoi(b bool) uint {
	if b {
		return 1
	}
	return 0
}

// bin writes a placeholder for the next n bytes and keeps a copy of them.
func (j *jsonWriter) bin(n int) {
	num := len(j.bins)
	j.bins = append(j.bins, append([]byte(nil), j.b[j.pos:j.pos+n]...))
	j.pos += n
	j.out = append(j.out, `{"_placeholder":true,"num":`...)
	j.out = strconv.AppendInt(j.out, int64(num), 10)
	j.out = append(j.out, '}')
}

// appendBufferJSON appends b as Node's Buffer.prototype.toJSON has it.
func appendBufferJSON(out, b []byte) []byte {
	out = append(out, `{"type":"Buffer","data":[`...)
	for i, c := range b {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendUint(out, uint64(c), 10)
	}
	return append(out, ']', '}')
}

// appendNumber appends f as JavaScript's JSON.stringify writes it.
func appendNumber(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	if f == 0 {
		return append(b, '0') // also -0, as JavaScript
	}
	abs := math.Abs(f)
	if abs < 1e21 && f == math.Trunc(f) && abs <= maxSafe {
		return strconv.AppendInt(b, int64(f), 10)
	}
	// The ECMAScript Number::toString rules, as encoding/json has them.
	format := byte('f')
	if abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 -> 1e-7
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendDate appends the JSON of a notepack.io Date (milliseconds since the
// epoch, as the two 32-bit halves notepack.io writes) as Date.prototype.toJSON
// gives it.
func appendDate(b []byte, v uint64) []byte {
	ms := float64(int32(v>>32))*(1<<32) + float64(uint32(v))
	if math.Abs(ms) > 8.64e15 {
		return append(b, "null"...) // an Invalid Date
	}
	t := time.UnixMilli(int64(ms)).UTC()
	b = append(b, '"')
	switch y := t.Year(); {
	case y >= 0 && y <= 9999:
		b = appendPadded(b, y, 4)
	case y < 0:
		b = append(b, '-')
		b = appendPadded(b, -y, 6)
	default:
		b = append(b, '+')
		b = appendPadded(b, y, 6)
	}
	b = append(b, '-')
	b = appendPadded(b, int(t.Month()), 2)
	b = append(b, '-')
	b = appendPadded(b, t.Day(), 2)
	b = append(b, 'T')
	b = appendPadded(b, t.Hour(), 2)
	b = append(b, ':')
	b = appendPadded(b, t.Minute(), 2)
	b = append(b, ':')
	b = appendPadded(b, t.Second(), 2)
	b = append(b, '.')
	b = appendPadded(b, t.Nanosecond()/1e6, 3)
	return append(b, 'Z', '"')
}

func appendPadded(b []byte, v, width int) []byte {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], int64(v), 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping as JSON.stringify
// does; invalid UTF-8 becomes U+FFFD, as Node's UTF-8 decoder has it.
func appendJSONString(b, s []byte) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendValidUTF8 appends s with invalid UTF-8 replaced by U+FFFD.
func appendValidUTF8(b, s []byte) []byte {
	if utf8.Valid(s) {
		return append(b, s...)
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// --- JSON -> MessagePack ---

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func badJSON(reason string) error { return invalid("bad JSON payload: " + reason) }

// frame is an open array or map of appendJSON: the offset of the one byte
// reserved for its header and the count so far.
type frame struct {
	start int
	n     int
	isMap bool
}

// appendJSON transcodes the JSON value b (white space around it allowed)
// into MessagePack. With placeholders set, objects that are exactly
// {"_placeholder":true,"num":N} become bin values of atts[N]. It is
// iterative, so hostile nesting costs heap, not goroutine stack.
func appendJSON(out, b []byte, atts [][]byte, placeholders bool) ([]byte, error) {
	var small [16]frame
	stack := small[:0]
	var err error
	i := skipSpace(b, 0)
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return nil, badJSON("unexpected end")
		}
		done := true // whether the value is complete (not an opened container)
		switch c := b[i]; c {
		case '{':
			if placeholders {
				num, end, ok := matchPlaceholder(b, i)
				if ok {
					if num < 0 || num >= int64(len(atts)) {
						return nil, badAttachments("placeholder num out of range")
					}
					out = appendBin(out, atts[num])
					i = end
					break
				}
			}
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == '}' {
				out = append(out, 0x80)
				i++
				break
			}
			stack = append(stack, frame{start: len(out), isMap: true})
			out = append(out, 0)
			if out, i, err = appendKey(out, b, i); err != nil {
				return nil, err
			}
			done = false
		case '[':
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == ']' {
				out = append(out, 0x90)
				i++
				break
			}
			stack = append(stack, frame{start: len(out)})
			out = append(out, 0)
			done = false
		case '"':
			if out, i, err = appendString(out, b, i); err != nil {
				return nil, err
			}
		case 't':
			if !hasPrefix(b[i:], "true") {
				return nil, badJSON("bad literal")
			}
			out = append(out, 0xc3)
			i += 4
		case 'f':
			if !hasPrefix(b[i:], "false") {
				return nil, badJSON("bad literal")
			}
			out = append(out, 0xc2)
			i += 5
		case 'n':
			if !hasPrefix(b[i:], "null") {
				return nil, badJSON("bad literal")
			}
			out = append(out, 0xc0)
			i += 4
		default:
			end, f, ok := scanNumber(b, i)
			if !ok {
				return nil, badJSON("unexpected character")
			}
			out = appendNumberMsgpack(out, f)
			i = end
		}
		if !done {
			i = skipSpace(b, i)
			continue
		}
		// After a value: close containers until one continues.
		for {
			i = skipSpace(b, i)
			if len(stack) == 0 {
				if i != len(b) {
					return nil, badJSON("data after the value")
				}
				return out, nil
			}
			top := &stack[len(stack)-1]
			top.n++
			if i >= len(b) {
				return nil, badJSON("unexpected end")
			}
			if b[i] == ',' {
				i = skipSpace(b, i+1)
				if top.isMap {
					if out, i, err = appendKey(out, b, i); err != nil {
						return nil, err
					}
				}
				i = skipSpace(b, i)
				break
			}
			closer := byte(']')
			if top.isMap {
				closer = '}'
			}
			if b[i] != closer {
				return nil, badJSON("expected , or a closing bracket")
			}
			i++
			out = closeContainer(out, *top)
			stack = stack[:len(stack)-1]
		}
	}
}

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

// appendKey transcodes the object key at b[i] and the colon after it; it
// returns the index just past the colon.
func appendKey(out, b []byte, i int) ([]byte, int, error) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, badJSON("expected an object key")
	}
	out, i, err := appendString(out, b, i)
	if err != nil {
		return nil, 0, err
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return nil, 0, badJSON("expected a colon")
	}
	return out, i + 1, nil
}

// closeContainer writes the header of a finished array or map into the byte
// reserved for it, making room when the count needs a longer header.
func closeContainer(out []byte, f frame) []byte {
	if f.n < 16 {
		if f.isMap {
			out[f.start] = 0x80 | byte(f.n)
		} else {
			out[f.start] = 0x90 | byte(f.n)
		}
		return out
	}
	var hdr [5]byte
	var h []byte
	if f.n < 0x10000 {
		h = hdr[:3]
		h[0] = 0xdc
		h[1], h[2] = byte(f.n>>8), byte(f.n)
	} else {
		h = hdr[:5]
		h[0] = 0xdd
		h[1], h[2], h[3], h[4] = byte(f.n>>24), byte(f.n>>16), byte(f.n>>8), byte(f.n)
	}
	if f.isMap {
		h[0] += 2 // 0xde, 0xdf
	}
	return insertHeader(out, f.start, h)
}

// insertHeader replaces the one byte reserved at out[start] with h.
func insertHeader(out []byte, start int, h []byte) []byte {
	extra := len(h) - 1
	n := len(out)
	out = append(out, h[:extra]...)
	copy(out[start+1+extra:], out[start+1:n])
	copy(out[start:], h)
	return out
}

func appendStrHeader(out []byte, n int) []byte {
	switch {
	case n < 0x20:
		return append(out, 0xa0|byte(n))
	case n < 0x100:
		return append(out, 0xd9, byte(n))
	case n < 0x10000:
		return append(out, 0xda, byte(n>>8), byte(n))
	default:
		return append(out, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

func appendBin(out, v []byte) []byte {
	n := len(v)
	switch {
	case n < 0x100:
		out = append(out, 0xc4, byte(n))
	case n < 0x10000:
		out = append(out, 0xc5, byte(n>>8), byte(n))
	default:
		out = append(out, 0xc6, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, v...)
}

// appendNumberMsgpack appends f as notepack.io encodes a JavaScript number,
// except that an integer beyond ±2^53 is a float 64 (notepack.io garbles
// those).
func appendNumberMsgpack(out []byte, f float64) []byte {
	if f != math.Trunc(f) || math.Abs(f) > maxSafe { // NaN and ±Inf too
		v := math.Float64bits(f)
		return append(out, 0xcb, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
			byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return appendInt(out, int64(f))
}

// appendInt appends v as the smallest MessagePack integer, as notepack.io
// chooses it.
func appendInt(out []byte, v int64) []byte {
	if v >= 0 {
		switch {
		case v < 0x80:
			return append(out, byte(v))
		case v < 0x100:
			return append(out, 0xcc, byte(v))
		case v < 0x10000:
			return append(out, 0xcd, byte(v>>8), byte(v))
		case v < 0x100000000:
			return append(out, 0xce, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
		}
		return append(out, 0xcf, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
			byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	switch {
	case v >= -0x20:
		return append(out, byte(v))
	case v >= -0x80:
		return append(out, 0xd0, byte(v))
	case v >= -0x8000:
		return append(out, 0xd1, byte(v>>8), byte(v))
	case v >= -0x80000000:
		return append(out, 0xd2, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(out, 0xd3, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
		byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// appendDigits appends the ack id given as decimal digits, as the JavaScript
// number it stands for.
func appendDigits(out, digits []byte) []byte {
	if len(digits) <= 18 {
		var v uint64
		for _, c := range digits {
			v = v*10 + uint64(c-'0')
		}
		return appendNumberMsgpack(out, float64(v))
	}
	f, _ := strconv.ParseFloat(string(digits), 64)
	return appendNumberMsgpack(out, f)
}

// scanNumber parses the JSON number at b[i] as JavaScript's JSON.parse
// does (the nearest float 64; ±Inf beyond its range). It returns the index
// just past it.
func scanNumber(b []byte, i int) (end int, f float64, ok bool) {
	start := i
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	if i >= len(b) {
		return 0, 0, false
	}
	digits := i
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0, 0, false
	}
	intEnd := i
	simple := true
	if i < len(b) && b[i] == '.' {
		simple = false
		i++
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == s {
			return 0, 0, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		simple = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == s {
			return 0, 0, false
		}
	}
	if simple && intEnd-digits <= 18 {
		var v uint64
		for _, c := range b[digits:intEnd] {
			v = v*10 + uint64(c-'0')
		}
		f = float64(v) // correctly rounded, as JSON.parse
		if neg {
			f = -f
		}
		return i, f, true
	}
	f, err := strconv.ParseFloat(string(b[start:i]), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, 0, false
	}
	return i, f, true
}

// appendString transcodes the JSON string at b[i] into a MessagePack str
// and returns the index just past it. Invalid UTF-8 and lone surrogates
// become U+FFFD.
func appendString(out, b []byte, i int) ([]byte, int, error) {
	j := i + 1
	escaped, nonASCII := false, false
	for ; j < len(b); j++ {
		c := b[j]
		if c == '"' {
			break
		}
		if c == '\\' {
			escaped = true
			j++ // the escaped character (checked below)
			continue
		}
		if c < 0x20 {
			return nil, 0, badJSON("control character in a string")
		}
		if c >= utf8.RuneSelf {
			nonASCII = true
		}
	}
	if j >= len(b) {
		return nil, 0, badJSON("unterminated string")
	}
	raw := b[i+1 : j]
	if !escaped && (!nonASCII || utf8.Valid(raw)) {
		out = appendStrHeader(out, len(raw))
		return append(out, raw...), j + 1, nil
	}
	start := len(out)
	out = append(out, 0) // header, fixed below
	var err error
	if out, err = appendUnescaped(out, raw); err != nil {
		return nil, 0, err
	}
	n := len(out) - start - 1
	var hdr [5]byte
	h := appendStrHeader(hdr[:0], n)
	return insertHeader(out, start, h), j + 1, nil
}

// appendUnescaped appends the content of a JSON string (without its quotes)
// decoded to UTF-8.
func appendUnescaped(out, raw []byte) ([]byte, error) {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c == '\\' {
			if i+1 >= len(raw) {
				return nil, badJSON("bad escape")
			}
			switch e := raw[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(raw, i+2)
				if !ok {
					return nil, badJSON("bad \\u escape")
				}
				i += 6
				if r >= 0xd800 && r < 0xdc00 {
					// A high surrogate: a pair when a low one follows.
					if i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
						if lo, ok := hex4(raw, i+2); ok && lo >= 0xdc00 && lo < 0xe000 {
							r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
							i += 6
						}
					}
				}
				if r >= 0xd800 && r < 0xe000 {
					r = utf8.RuneError // a lone surrogate
				}
				out = utf8.AppendRune(out, r)
				continue
			default:
				return nil, badJSON("bad escape")
			}
			i += 2
			continue
		}
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(raw[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, raw[i:i+size]...)
		}
		i += size
	}
	return out, nil
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// matchPlaceholder reports whether the object at b[i] is exactly
// {"_placeholder":true,"num":N} (keys in either order, any white space), N
// a non-negative integer, and returns N and the index just past the object.
func matchPlaceholder(b []byte, i int) (num int64, end int, ok bool) {
	var sawFlag, sawNum bool
	i++ // '{'
	for k := 0; k < 2; k++ {
		i = skipSpace(b, i)
		if k == 1 {
			if i >= len(b) || b[i] != ',' {
				return 0, 0, false
			}
			i = skipSpace(b, i+1)
		}
		if i >= len(b) || b[i] != '"' {
			return 0, 0, false
		}
		j := i + 1
		for j < len(b) && b[j] != '"' && b[j] != '\\' {
			j++
		}
		if j >= len(b) || b[j] != '"' {
			return 0, 0, false // an escaped key: leave it to the general path
		}
		key := b[i+1 : j]
		i = skipSpace(b, j+1)
		if i >= len(b) || b[i] != ':' {
			return 0, 0, false
		}
		i = skipSpace(b, i+1)
		switch {
		case string(key) == "_placeholder" && !sawFlag:
			if !hasPrefix(b[i:], "true") {
				return 0, 0, false
			}
			i += 4
			sawFlag = true
		case string(key) == "num" && !sawNum:
			e, f, ok := scanNumber(b, i)
			if !ok || f != math.Trunc(f) || f < 0 || f > maxSafe {
				return 0, 0, false
			}
			num = int64(f)
			i = e
			sawNum = true
		default:
			return 0, 0, false
		}
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '}' {
		return 0, 0, false
	}
	return num, i + 1, true
}
