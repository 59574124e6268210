package socketio

// This file is the wire side of binary attachments: placeholder scanning
// and checking over bytes, and the inbound reassembly state machine.
// binary_values.go maps Go values to and from such packets. Like
// protocol.go it does no I/O and holds no per-connection state.

import (
	"errors"
	"fmt"
	"strconv"
)

// Binary attachment errors. Every one of them but ErrTooManyAttachments on
// an emit is a disconnect reason: the connection that sent the offending
// packet is closed with it (wrapped with detail).
var (
	// ErrTooManyAttachments is the disconnect reason for a BINARY_EVENT or
	// BINARY_ACK announcing more than MaxAttachments attachments, and the
	// error an emit returns when its values hold more than MaxAttachments
	// []byte (the official client refuses such a packet).
	ErrTooManyAttachments = errors.New("socketio: packet exceeds MaxAttachments")
	// ErrAttachmentsTooLarge is the disconnect reason when a packet and its
	// attachments together exceed MaxPayload bytes.
	ErrAttachmentsTooLarge = errors.New("socketio: packet with attachments exceeds MaxPayload")
	// ErrInvalidPlaceholder is the disconnect reason for an attachment
	// placeholder whose num is not an integer index of the packet's
	// attachments.
	ErrInvalidPlaceholder = errors.New("socketio: invalid attachment placeholder")
	// ErrExtraAttachment is the disconnect reason for a packet announcing an
	// attachment that none of its placeholders refers to.
	ErrExtraAttachment = errors.New("socketio: attachment without a placeholder")
	// ErrMissingAttachment is the disconnect reason when a text packet
	// arrives while attachments of the previous packet are still expected.
	ErrMissingAttachment = errors.New("socketio: packet arrived before the previous packet's attachments")
	// ErrUnexpectedAttachment is the disconnect reason for a binary message
	// that no packet announced.
	ErrUnexpectedAttachment = errors.New("socketio: binary message no packet expects")
)

// placeholderRef locates one attachment placeholder: the JSON object
// data[start:end] stands for attachment num.
type placeholderRef struct {
	start, end int
	num        int
}

// Keys of a placeholder object, {"_placeholder":true,"num":N}.
const (
	keyOther = iota
	keyPlaceholder
	keyNum
)

// phFrame is one open object while scanning for placeholders. It is kept
// small: hostile nesting costs a few bytes per level, as in scanValue.
type phFrame struct {
	start     int32
	refs      int32 // len(refs) when the object opened
	numStart  int32 // the "num" member's value is data[numStart:numEnd]
	numEnd    int32
	key       int8 // the current member's key (keyOther, ...)
	expectKey bool // a member's key comes next
	isPH      bool // "_placeholder" is true
	hasNum    bool
}

// findPlaceholders returns the placeholders of a JSON value, in order of
// appearance, checking that each refers to one of n attachments. As in
// socket.io-parser, an object is a placeholder when its "_placeholder"
// member is true; the whole object stands for the attachment, whatever else
// it holds. data must be valid JSON (decodeSIOPacket checked it) of at most
// 2 GiB. refs is reused when it has room.
func findPlaceholders(data []byte, n int, refs []placeholderRef) ([]placeholderRef, error) {
	refs = refs[:0]
	if len(data) > 1<<31-1 {
		return refs, ErrInvalidJSON
	}
	var smallKinds [64]byte
	kinds := smallKinds[:0] // '{' or '[' per open container
	var smallObjs [16]phFrame
	objs := smallObjs[:0] // one frame per open object
	inObject := func() bool { return len(kinds) > 0 && kinds[len(kinds)-1] == '{' }
	// value records a scalar (or, with end == start, a container) as the
	// value of the enclosing object's current member.
	value := func(start, end int) {
		if !inObject() {
			return
		}
		f := &objs[len(objs)-1]
		tok := data[start:end]
		switch f.key {
		case keyPlaceholder:
			f.isPH = string(tok) == "true"
		case keyNum:
			f.hasNum = len(tok) > 0 && (tok[0] == '-' || (tok[0] >= '0' && tok[0] <= '9'))
			f.numStart, f.numEnd = int32(start), int32(end)
		}
	}
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '{' || c == '[':
			value(i, i) // a container is neither true nor a number
			kinds = append(kinds, c)
			if c == '{' {
				objs = append(objs, phFrame{start: int32(i), refs: int32(len(refs)), expectKey: true})
			}
			i++
		case c == '}' || c == ']':
			if len(kinds) == 0 || (kinds[len(kinds)-1] == '{') != (c == '}') {
				return refs, ErrInvalidJSON
			}
			kinds = kinds[:len(kinds)-1]
			i++
			if c == ']' {
				break
			}
			f := objs[len(objs)-1]
			objs = objs[:len(objs)-1]
			if f.isPH {
				// Placeholders nested in this one are replaced with it, so
				// a bad one is only reported at the end, if it is still
				// there.
				num, ok := placeholderNum(f, data, n)
				if !ok {
					num = -1
				}
				refs = append(refs[:f.refs], placeholderRef{start: int(f.start), end: i, num: num})
			}
		case c == '"':
			end, err := scanString(data, i)
			if err != nil {
				return refs, err
			}
			if inObject() && objs[len(objs)-1].expectKey {
				f := &objs[len(objs)-1]
				f.expectKey = false
				f.key = int8(classifyKey(data[i:end]))
			} else {
				value(i, end)
			}
			i = end
		case c == ',':
			if inObject() {
				objs[len(objs)-1].expectKey = true
			}
			i++
		case c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		default:
			var end int
			var err error
			switch c {
			case 't':
				end, err = scanLiteral(data, i, "true")
			case 'f':
				end, err = scanLiteral(data, i, "false")
			case 'n':
				end, err = scanLiteral(data, i, "null")
			default:
				end, err = scanNumber(data, i)
			}
			if err != nil {
				return refs, err
			}
			value(i, end)
			i = end
		}
	}
	if len(kinds) != 0 {
		return refs, ErrInvalidJSON
	}
	for _, r := range refs {
		if r.num < 0 {
			return refs, fmt.Errorf("%w: %.40s with %d attachments", ErrInvalidPlaceholder, data[r.start:r.end], n)
		}
	}
	return refs, nil
}

func classifyKey(q []byte) int {
	s := string(q)
	if s != `"_placeholder"` && s != `"num"` {
		// An escaped spelling decodes to the same key in JSON.parse.
		for _, c := range q {
			if c == '\\' {
				u, err := unquote(q)
				if err != nil {
					return keyOther
				}
				s = `"` + u + `"`
				break
			}
		}
	}
	switch s {
	case `"_placeholder"`:
		return keyPlaceholder
	case `"num"`:
		return keyNum
	}
	return keyOther
}

// placeholderNum checks a placeholder's num: a JSON number holding an
// integer index below n (1e0 and 1.0 are 1, as in JavaScript).
func placeholderNum(f phFrame, data []byte, n int) (int, bool) {
	if !f.hasNum {
		return 0, false
	}
	num := string(data[f.numStart:f.numEnd])
	if v, err := strconv.Atoi(num); err == nil {
		return v, v >= 0 && v < n
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || v >= float64(n) || v != float64(int(v)) {
		return 0, false
	}
	return int(v), true
}

// checkPlaceholders checks a binary packet's payload against its announced
// attachment count: every placeholder refers to one of the n attachments,
// and every attachment is referred to.
func checkPlaceholders(data []byte, n int) error {
	var buf [8]placeholderRef
	refs, err := findPlaceholders(data, n, buf[:0])
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	var seenSmall [64]bool
	var seen []bool
	if n <= len(seenSmall) {
		seen = seenSmall[:n]
	} else {
		seen = make([]bool, n)
	}
	for _, r := range refs {
		seen[r.num] = true
	}
	for k, ok := range seen {
		if !ok {
			return fmt.Errorf("%w: attachment %d of %d", ErrExtraAttachment, k, n)
		}
	}
	return nil
}

// reassembler collects the attachments of one inbound binary packet. It is
// the Socket.IO layer's only state between Engine.IO messages.
type reassembler struct {
	pkt         sioPacket
	attachments [][]byte
	size        int64
	active      bool
}

// packet takes a decoded text packet of rawLen bytes. For a binary packet
// announcing attachments it starts collecting and returns done false;
// otherwise the packet is complete. maxAttachments bounds the announced
// count.
func (r *reassembler) packet(p sioPacket, rawLen int, maxAttachments int) (done bool, err error) {
	if r.active {
		return false, ErrMissingAttachment
	}
	if p.Type != sioBinaryEvent && p.Type != sioBinaryAck {
		return true, nil
	}
	if p.Attachments > maxAttachments {
		return false, fmt.Errorf("%w: %d announced, %d allowed", ErrTooManyAttachments, p.Attachments, maxAttachments)
	}
	if err := checkPlaceholders(p.Data, p.Attachments); err != nil {
		return false, err
	}
	if p.Attachments == 0 {
		return true, nil
	}
	r.pkt = p
	r.attachments = make([][]byte, 0, p.Attachments)
	r.size = int64(rawLen)
	r.active = true
	return false, nil
}

// attachment takes a binary message. When it is the last attachment of the
// packet being collected, done is true and the packet and its attachments
// are returned.
func (r *reassembler) attachment(b []byte, maxSize int64) (p sioPacket, attachments [][]byte, done bool, err error) {
	if !r.active {
		return p, nil, false, ErrUnexpectedAttachment
	}
	r.size += int64(len(b))
	if maxSize > 0 && r.size > maxSize {
		r.reset()
		return p, nil, false, fmt.Errorf("%w: over %d bytes", ErrAttachmentsTooLarge, maxSize)
	}
	r.attachments = append(r.attachments, b)
	if len(r.attachments) < r.pkt.Attachments {
		return p, nil, false, nil
	}
	p, attachments = r.pkt, r.attachments
	r.reset()
	return p, attachments, true, nil
}

func (r *reassembler) reset() {
	*r = reassembler{}
}
