package msgpack

// This file is Decode: MessagePack to the default text encoding (JSON).

import (
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

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
