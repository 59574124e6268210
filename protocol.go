package socketio

// This file is the Engine.IO v4 and Socket.IO v5 codec: pure functions over
// bytes, no I/O and no package state, so every parser here can be fuzzed.

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// Engine.IO packet types (engine.io-protocol v4), as they appear on the wire.
const (
	eioOpen    byte = '0'
	eioClose   byte = '1'
	eioPing    byte = '2'
	eioPong    byte = '3'
	eioMessage byte = '4'
	eioUpgrade byte = '5'
	eioNoop    byte = '6'
)

// recordSeparator separates Engine.IO packets in a polling payload.
const recordSeparator byte = 0x1e

// Socket.IO packet types (socket.io-protocol v5).
const (
	sioConnect      byte = 0
	sioDisconnect   byte = 1
	sioEvent        byte = 2
	sioAck          byte = 3
	sioConnectError byte = 4
	sioBinaryEvent  byte = 5
	sioBinaryAck    byte = 6
)

// Codec errors. They are wrapped with context where they are returned, so a
// disconnect reason says what was wrong with the packet.
var (
	// ErrInvalidPacket is returned for a packet that does not follow the
	// Engine.IO or Socket.IO wire format.
	ErrInvalidPacket = errors.New("socketio: invalid packet")
	// ErrInvalidJSON is returned for a packet whose payload is not valid JSON
	// or not of the shape its packet type requires.
	ErrInvalidJSON = errors.New("socketio: invalid JSON payload")
	// ErrTooManyPackets is returned when a batched payload holds more packets
	// than MaxBatchPackets allows.
	ErrTooManyPackets = errors.New("socketio: too many packets in one payload")
	// ErrEventNameTooLong is returned when an inbound event name is longer
	// than MaxEventNameLength.
	ErrEventNameTooLong = errors.New("socketio: event name too long")
	// ErrInvalidUTF8 is returned for a text packet that is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("socketio: text packet is not valid UTF-8")
)

// sioPacket is one decoded Socket.IO packet. Data is the raw JSON payload
// (nil when the packet has none) and aliases the decoded buffer.
type sioPacket struct {
	Type        byte
	Nsp         string
	ID          uint64
	HasID       bool
	Attachments int
	Data        []byte
}

// splitPayload splits a polling payload on the record separator. It returns
// ErrTooManyPackets when there are more than maxPackets packets (maxPackets
// <= 0 means no limit). The returned slices alias body.
func splitPayload(body []byte, maxPackets int) ([][]byte, error) {
	n := 1
	for _, c := range body {
		if c == recordSeparator {
			n++
		}
	}
	if maxPackets > 0 && n > maxPackets {
		return nil, ErrTooManyPackets
	}
	out := make([][]byte, 0, n)
	start := 0
	for i, c := range body {
		if c == recordSeparator {
			out = append(out, body[start:i])
			start = i + 1
		}
	}
	return append(out, body[start:]), nil
}

// decodePollingPacket decodes one packet of a polling payload: either a text
// Engine.IO packet, or "b" followed by base64 for a binary message. For a
// binary packet it returns typ eioMessage and binary true.
func decodePollingPacket(p []byte) (typ byte, data []byte, binary bool, err error) {
	if len(p) == 0 {
		return 0, nil, false, ErrInvalidPacket
	}
	if p[0] == 'b' {
		dst := make([]byte, base64.StdEncoding.DecodedLen(len(p)-1))
		n, err := base64.StdEncoding.Decode(dst, p[1:])
		if err != nil {
			return 0, nil, false, ErrInvalidPacket
		}
		return eioMessage, dst[:n], true, nil
	}
	typ, data, err = decodeTextPacket(p)
	return typ, data, false, err
}

// decodeTextPacket decodes a text Engine.IO packet: a type digit followed by
// its data.
func decodeTextPacket(p []byte) (typ byte, data []byte, err error) {
	if len(p) == 0 || p[0] < eioOpen || p[0] > eioNoop {
		return 0, nil, ErrInvalidPacket
	}
	if !utf8.Valid(p) {
		return 0, nil, ErrInvalidUTF8
	}
	return p[0], p[1:], nil
}

// appendPollingBinary appends a binary message in its polling form.
func appendPollingBinary(dst, data []byte) []byte {
	dst = append(dst, 'b')
	return base64.StdEncoding.AppendEncode(dst, data)
}

// decodeSIOPacket decodes a Socket.IO packet (the data of an Engine.IO
// message packet). The payload is checked to be valid JSON of the shape the
// packet type requires.
func decodeSIOPacket(b []byte) (sioPacket, error) {
	var p sioPacket
	if len(b) == 0 || b[0] < '0' || b[0] > '6' {
		return p, ErrInvalidPacket
	}
	p.Type = b[0] - '0'
	i := 1
	if p.Type == sioBinaryEvent || p.Type == sioBinaryAck {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start || i >= len(b) || b[i] != '-' || i-start > 9 {
			return p, ErrInvalidPacket
		}
		n, _ := strconv.Atoi(string(b[start:i]))
		p.Attachments = n
		i++
	}
	p.Nsp = "/"
	if i < len(b) && b[i] == '/' {
		start := i
		for i < len(b) && b[i] != ',' {
			i++
		}
		p.Nsp = string(b[start:i])
		if i < len(b) {
			i++ // the comma
		}
	}
	if i < len(b) && b[i] >= '0' && b[i] <= '9' {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		id, err := strconv.ParseUint(string(b[start:i]), 10, 64)
		if err != nil {
			return p, ErrInvalidPacket
		}
		p.ID, p.HasID = id, true
	}
	if i < len(b) {
		p.Data = b[i:]
		if err := validJSON(p.Data); err != nil {
			return p, err
		}
	}
	if !payloadFits(&p) {
		return p, ErrInvalidJSON
	}
	return p, nil
}

// payloadFits reports whether the packet's payload has the JSON type its
// packet type requires (socket.io-parser's isPayloadValid).
func payloadFits(p *sioPacket) bool {
	first := byte(0)
	if p.Data != nil {
		first = p.Data[skipSpace(p.Data, 0)]
	}
	switch p.Type {
	case sioConnect:
		return p.Data == nil || first == '{'
	case sioDisconnect:
		return p.Data == nil
	case sioConnectError:
		return first == '{' || first == '"'
	case sioEvent, sioBinaryEvent:
		return first == '['
	case sioAck, sioBinaryAck:
		return first == '[' && p.HasID
	}
	return false
}

// parseEvent splits an EVENT payload into its name and its raw JSON
// arguments, the elements appended to dst (see splitArrayInto). The name
// must be a string (or a number, as socket.io-parser accepts) of at most
// maxName bytes when maxName > 0.
func parseEvent(data []byte, maxName int, dst [][]byte) (name string, args [][]byte, err error) {
	return parseEventNamed(data, maxName, dst, nil, nil)
}

// parseEventNamed is parseEvent taking the name, when it is a plain string
// that names a listened event of r1 or r2 (either may be nil), from there
// rather than allocating it.
func parseEventNamed(data []byte, maxName int, dst [][]byte, r1, r2 *registry) (name string, args [][]byte, err error) {
	elems, err := splitArrayInto(data, dst)
	if err != nil {
		return "", nil, err
	}
	if len(elems) == 0 {
		return "", nil, ErrInvalidJSON
	}
	head := elems[0]
	switch {
	case head[0] == '"':
		// Quick bound before decoding: an escape is at most 6 bytes per
		// byte of the name. Divided, not multiplied, so a huge limit
		// cannot overflow.
		if maxName > 0 && (len(head)-2)/6 > maxName {
			return "", nil, ErrEventNameTooLong
		}
		if n, ok := internName(head, r1, r2); ok {
			name = n
			break
		}
		name, err = unquote(head)
		if err != nil {
			return "", nil, err
		}
	case head[0] == '-' || (head[0] >= '0' && head[0] <= '9'):
		name = string(head)
	default:
		return "", nil, ErrInvalidJSON
	}
	if maxName > 0 && len(name) > maxName {
		return "", nil, ErrEventNameTooLong
	}
	return name, elems[1:], nil
}

// internName looks the JSON string q, when it has no escape, up in r1 and
// r2.
func internName(q []byte, r1, r2 *registry) (string, bool) {
	body := q[1 : len(q)-1]
	if r1 == nil || bytes.IndexByte(body, '\\') >= 0 {
		return "", false
	}
	if n, ok := r1.intern(body); ok {
		return n, true
	}
	if r2 != nil {
		return r2.intern(body)
	}
	return "", false
}

// splitArray returns the raw elements of a JSON array. The slices alias data.
func splitArray(data []byte) ([][]byte, error) { return splitArrayInto(data, nil) }

// splitArrayInto is splitArray appending to dst (an empty slice with room
// for the usual few elements, or nil).
func splitArrayInto(data []byte, dst [][]byte) ([][]byte, error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return nil, ErrInvalidJSON
	}
	i = skipSpace(data, i+1)
	elems := dst
	if i < len(data) && data[i] == ']' {
		i++
	} else {
		if elems == nil {
			// An event name and up to three arguments in one allocation.
			elems = make([][]byte, 0, 4)
		}
		for {
			start := i
			end, err := scanValue(data, i)
			if err != nil {
				return nil, err
			}
			elems = append(elems, data[start:end])
			i = skipSpace(data, end)
			if i >= len(data) {
				return nil, ErrInvalidJSON
			}
			if data[i] == ']' {
				i++
				break
			}
			if data[i] != ',' {
				return nil, ErrInvalidJSON
			}
			i = skipSpace(data, i+1)
		}
	}
	if skipSpace(data, i) != len(data) {
		return nil, ErrInvalidJSON
	}
	return elems, nil
}

// validJSON reports whether b holds exactly one JSON value.
func validJSON(b []byte) error {
	i := skipSpace(b, 0)
	end, err := scanValue(b, i)
	if err != nil {
		return err
	}
	if skipSpace(b, end) != len(b) {
		return ErrInvalidJSON
	}
	return nil
}

// isJSON reports whether b holds exactly one JSON value.
func isJSON(b []byte) bool { return len(b) > 0 && validJSON(b) == nil }

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

// scanValue returns the index just past the JSON value that starts at b[i].
// It is iterative: nesting depth costs one byte of stack per level on the
// heap, never a goroutine stack frame, so hostile nesting cannot overflow.
func scanValue(b []byte, i int) (int, error) {
	var small [64]byte
	stack := small[:0]
	var err error
	for {
		// A value is expected at b[i] (after white space).
		i = skipSpace(b, i)
		if i >= len(b) {
			return 0, ErrInvalidJSON
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == closer {
				i++
				break
			}
			stack = append(stack, c)
			if c == '{' {
				if i, err = scanKey(b, i); err != nil {
					return 0, err
				}
			}
			continue
		case c == '"':
			i, err = scanString(b, i)
		case c == '-' || (c >= '0' && c <= '9'):
			i, err = scanNumber(b, i)
		case c == 't':
			i, err = scanLiteral(b, i, "true")
		case c == 'f':
			i, err = scanLiteral(b, i, "false")
		case c == 'n':
			i, err = scanLiteral(b, i, "null")
		default:
			return 0, ErrInvalidJSON
		}
		if err != nil {
			return 0, err
		}
		// After a value: close containers or move to the next element.
		for {
			if len(stack) == 0 {
				return i, nil
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return 0, ErrInvalidJSON
			}
			top := stack[len(stack)-1]
			c := b[i]
			if c == ',' {
				i++
				if top == '{' {
					if i, err = scanKey(b, skipSpace(b, i)); err != nil {
						return 0, err
					}
				}
				break
			}
			if (top == '[' && c == ']') || (top == '{' && c == '}') {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			return 0, ErrInvalidJSON
		}
	}
}

// scanKey scans an object key and its colon, returning the index after the
// colon.
func scanKey(b []byte, i int) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return 0, ErrInvalidJSON
	}
	i, err := scanString(b, i)
	if err != nil {
		return 0, err
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return 0, ErrInvalidJSON
	}
	return i + 1, nil
}

// Constants of the eight-bytes-at-a-time test in scanString.
const (
	ones8  = 0x0101010101010101
	highs8 = 0x8080808080808080
)

// stringStops has the high bit of each byte of w set that may be a '"', a
// '\\' or a control character (below 0x20), and is zero when w has none.
// A byte above (after) a true one may be flagged too, never one below:
// each term is the "has a zero byte" test on w XOR the byte, or the "has
// a byte below n" test, whose borrows run upwards only.
func stringStops(w uint64) uint64 {
	q := w ^ (ones8 * '"')
	s := w ^ (ones8 * '\\')
	return ((q-ones8)&^q | (s-ones8)&^s | (w-ones8*0x20)&^w) & highs8
}

func scanString(b []byte, i int) (int, error) {
	i++ // opening quote
	for i < len(b) {
		// Skip plain text eight bytes at a time, up to the first byte
		// that may end it: the lowest flagged byte is always one.
		for i+8 <= len(b) {
			if m := stringStops(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return 0, ErrInvalidJSON
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return 0, ErrInvalidJSON
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return 0, ErrInvalidJSON
					}
				}
				i += 6
			default:
				return 0, ErrInvalidJSON
			}
		case c < 0x20:
			return 0, ErrInvalidJSON
		default:
			i++
		}
	}
	return 0, ErrInvalidJSON
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return 0, ErrInvalidJSON
	}
	if b[i] == '0' {
		i++
	} else if b[i] >= '1' && b[i] <= '9' {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	} else {
		return 0, ErrInvalidJSON
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return 0, ErrInvalidJSON
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return 0, ErrInvalidJSON
		}
	}
	return i, nil
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, ErrInvalidJSON
	}
	return i + len(lit), nil
}

// unquote decodes a JSON string literal that scanString accepted.
func unquote(q []byte) (string, error) {
	body := q[1 : len(q)-1]
	plain := true
	for _, c := range body {
		if c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return string(body), nil
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch body[i] {
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
			r, _ := strconv.ParseUint(string(body[i+1:i+5]), 16, 32)
			i += 4
			if r >= 0xd800 && r < 0xdc00 && i+6 < len(body) && body[i+1] == '\\' && body[i+2] == 'u' {
				lo, _ := strconv.ParseUint(string(body[i+3:i+7]), 16, 32)
				if lo >= 0xdc00 && lo < 0xe000 {
					r = (r-0xd800)<<10 + (lo - 0xdc00) + 0x10000
					i += 6
				}
			}
			out = utf8.AppendRune(out, rune(r))
		default:
			out = append(out, body[i])
		}
	}
	return string(out), nil
}

// appendQuoted appends s as a JSON string literal. Bytes that are not
// valid UTF-8 become U+FFFD (as encoding/json does): the literal travels in
// a WebSocket text frame, which the client must reject when it is not UTF-8.
func appendQuoted(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				start = i + 1
				continue
			}
			i += size - 1
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendArg appends one event argument: valid JSON passes through unchanged,
// anything else is encoded as a JSON string (the documented Emit contract).
// JSON text must be UTF-8 (RFC 8259 section 8.1), so an argument that is not
// is quoted, its invalid bytes replaced.
func appendArg(dst, arg []byte) []byte {
	if isJSON(arg) && utf8.Valid(arg) {
		return append(dst, arg...)
	}
	return appendQuoted(dst, string(arg))
}

// appendSIOHeader appends the Engine.IO message type and the Socket.IO
// header: type, attachment count, namespace and ack id.
func appendSIOHeader(dst []byte, typ byte, nsp string, attachments int, id uint64, hasID bool) []byte {
	dst = append(dst, eioMessage, '0'+typ)
	if typ == sioBinaryEvent || typ == sioBinaryAck {
		dst = strconv.AppendInt(dst, int64(attachments), 10)
		dst = append(dst, '-')
	}
	if nsp != "" && nsp != "/" {
		dst = append(dst, nsp...)
		dst = append(dst, ',')
	}
	if hasID {
		dst = strconv.AppendUint(dst, id, 10)
	}
	return dst
}

// appendEvent appends a complete Engine.IO message carrying a Socket.IO
// EVENT: 4 2 [nsp,] [id] ["name", args...].
func appendEvent(dst []byte, nsp string, id uint64, hasID bool, name string, args [][]byte) []byte {
	dst = appendSIOHeader(dst, sioEvent, nsp, 0, id, hasID)
	dst = append(dst, '[')
	dst = appendQuoted(dst, name)
	for _, a := range args {
		if a == nil {
			continue // a nil argument is no argument: EmitEvent(name, nil) sends ["name"]
		}
		dst = append(dst, ',')
		dst = appendArg(dst, a)
	}
	return append(dst, ']')
}

// appendEventPacket appends an EVENT, or a BINARY_EVENT announcing
// attachments binary attachments when there are any.
func appendEventPacket(dst []byte, nsp string, id uint64, hasID bool, name string, args [][]byte, attachments int) []byte {
	if attachments == 0 {
		return appendEvent(dst, nsp, id, hasID, name, args)
	}
	dst = appendSIOHeader(dst, sioBinaryEvent, nsp, attachments, id, hasID)
	dst = append(dst, '[')
	dst = appendQuoted(dst, name)
	for _, a := range args {
		dst = append(dst, ',')
		dst = appendArg(dst, a)
	}
	return append(dst, ']')
}

// appendAck appends a complete Engine.IO message carrying a Socket.IO ACK.
func appendAck(dst []byte, nsp string, id uint64, args [][]byte) []byte {
	// At most one allocation, of the right size for the usual JSON
	// arguments (header, ack id, brackets and commas), not one per growth.
	n := 26 + len(nsp) + len(args)
	for _, a := range args {
		n += len(a)
	}
	if cap(dst)-len(dst) < n {
		dst = append(make([]byte, 0, len(dst)+n), dst...)
	}
	dst = appendSIOHeader(dst, sioAck, nsp, 0, id, true)
	dst = append(dst, '[')
	first := true
	for _, a := range args {
		if len(a) == 0 {
			continue // nil or empty entries are skipped, as documented for Ack
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendArg(dst, a)
	}
	return append(dst, ']')
}

// connectReplySize is about the length of a CONNECT reply: enough for
// appendConnect not to grow its buffer when no character needs escaping.
func connectReplySize(nsp, sid, pid string) int {
	return len(nsp) + len(sid) + len(pid) + 32
}

// appendConnect appends the CONNECT reply carrying the socket id (and, when
// pid is not empty, the private session id used by connection-state
// recovery).
func appendConnect(dst []byte, nsp, sid, pid string) []byte {
	dst = appendSIOHeader(dst, sioConnect, nsp, 0, 0, false)
	dst = append(dst, `{"sid":`...)
	dst = appendQuoted(dst, sid)
	if pid != "" {
		dst = append(dst, `,"pid":`...)
		dst = appendQuoted(dst, pid)
	}
	return append(dst, '}')
}

// appendConnectError appends a CONNECT_ERROR with a message and optional
// raw JSON data.
func appendConnectError(dst []byte, nsp, message string, data []byte) []byte {
	dst = appendSIOHeader(dst, sioConnectError, nsp, 0, 0, false)
	dst = append(dst, `{"message":`...)
	dst = appendQuoted(dst, message)
	if len(data) > 0 {
		dst = append(dst, `,"data":`...)
		dst = appendArg(dst, data)
	}
	return append(dst, '}')
}

// appendDisconnect appends a Socket.IO DISCONNECT for a namespace.
func appendDisconnect(dst []byte, nsp string) []byte {
	return appendSIOHeader(dst, sioDisconnect, nsp, 0, 0, false)
}

// appendBinaryEvent appends a BINARY_EVENT whose only argument is the first
// attachment: 4 5 1- [nsp,] ["name",{"_placeholder":true,"num":0}].
func appendBinaryEvent(dst []byte, nsp, name string) []byte {
	dst = appendSIOHeader(dst, sioBinaryEvent, nsp, 1, 0, false)
	dst = append(dst, '[')
	dst = appendQuoted(dst, name)
	return append(dst, `,{"_placeholder":true,"num":0}]`...)
}
