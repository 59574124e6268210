package msgpack

// This file is Encode: the default text encoding (JSON) to MessagePack.

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

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
