package socketio

// This file is the binary-attachment part of the codec: placeholder
// scanning and resolution over bytes, the inbound reassembly state machine,
// and the extraction of []byte values from Go values for outbound packets.
// Like protocol.go it does no I/O and holds no per-connection state.

import (
	"crypto/rand"
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
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
	seen := seenSmall[:0]
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

// resolvePlaceholders appends arg with every placeholder replaced by the
// attachment it stands for, as a base64 JSON string: the form
// encoding/json decodes into a []byte.
func resolvePlaceholders(dst, arg []byte, refs []placeholderRef, attachments [][]byte) []byte {
	last := 0
	for _, r := range refs {
		dst = append(dst, arg[last:r.start]...)
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, attachments[r.num])
		dst = append(dst, '"')
		last = r.end
	}
	return append(dst, arg[last:]...)
}

// decodeArg unmarshals one raw JSON argument into v, resolving
// placeholders. A generic destination (*any, *map[string]any, *[]any)
// receives each attachment as a []byte in place of its placeholder object;
// in a typed destination, the placeholder is decoded as the attachment's
// base64 string, so []byte fields, elements and values receive the bytes.
// Attachments are not copied into generic destinations or a whole-argument
// *[]byte.
func decodeArg(arg []byte, attachments [][]byte, v any) error {
	if v == nil {
		return nil
	}
	if len(attachments) == 0 {
		return json.Unmarshal(arg, v)
	}
	var buf [4]placeholderRef
	refs, err := findPlaceholders(arg, len(attachments), buf[:0])
	if err != nil {
		return err
	}
	if len(refs) == 0 {
		return json.Unmarshal(arg, v)
	}
	whole := len(refs) == 1 && refs[0].start == skipSpace(arg, 0) && skipSpace(arg, refs[0].end) == len(arg)
	switch p := v.(type) {
	case *[]byte:
		if whole {
			*p = attachments[refs[0].num]
			return nil
		}
	case *any:
		if err := json.Unmarshal(arg, p); err != nil {
			return err
		}
		*p = resolveGeneric(*p, attachments)
		return nil
	case *map[string]any:
		if err := json.Unmarshal(arg, p); err != nil {
			return err
		}
		for k, e := range *p {
			(*p)[k] = resolveGeneric(e, attachments)
		}
		return nil
	case *[]any:
		if err := json.Unmarshal(arg, p); err != nil {
			return err
		}
		for i, e := range *p {
			(*p)[i] = resolveGeneric(e, attachments)
		}
		return nil
	}
	size := len(arg)
	for _, r := range refs {
		size += base64.StdEncoding.EncodedLen(len(attachments[r.num])) + 2
	}
	return json.Unmarshal(resolvePlaceholders(make([]byte, 0, size), arg, refs, attachments), v)
}

// resolveGeneric replaces the placeholder objects of a value decoded by
// encoding/json into interfaces with their attachments, in place. The
// placeholders were checked (findPlaceholders) before.
func resolveGeneric(v any, attachments [][]byte) any {
	switch x := v.(type) {
	case map[string]any:
		if x["_placeholder"] == true {
			if num, ok := x["num"].(float64); ok && num >= 0 && int(num) < len(attachments) {
				return attachments[int(num)]
			}
			return v
		}
		for k, e := range x {
			x[k] = resolveGeneric(e, attachments)
		}
	case []any:
		for i, e := range x {
			x[i] = resolveGeneric(e, attachments)
		}
	}
	return v
}

// decodeArgs unmarshals args into vs, one destination per argument (a nil
// destination skips its argument; extra arguments are ignored).
func decodeArgs(args, attachments [][]byte, vs []any) error {
	for i, v := range vs {
		if i >= len(args) {
			return fmt.Errorf("socketio: %d destinations for %d arguments", len(vs), len(args))
		}
		if err := decodeArg(args[i], attachments, v); err != nil {
			return fmt.Errorf("socketio: argument %d: %w", i, err)
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

// Outbound: Go values to JSON with []byte values extracted as attachments.
//
// encoding/json writes a []byte as a base64 string and offers no hook for
// the built-in type, so the extractor works on a copy of the value in which
// every non-empty []byte is swapped for a marker: 16 bytes made of a
// process-wide random prefix and the attachment's index. json.Marshal then
// writes each marker as a 24-character base64 string at exactly the place
// the bytes belong (field names, tags, omitempty and map order all follow
// encoding/json), and the marker strings are swapped for placeholders. Only
// the containers on the way to a []byte are copied; the caller's values are
// never modified.

const (
	markerPrefixLen = 12 // bytes; 16 base64 characters, no padding
	markerLen       = markerPrefixLen + 4
	markerQuoted    = 2 + 24 // "…" around base64 of 16 bytes
)

var (
	markerPrefix    [markerPrefixLen]byte
	markerPrefixB64 []byte // `"` + base64 of markerPrefix
)

func init() {
	_, _ = rand.Read(markerPrefix[:])
	markerPrefixB64 = append([]byte{'"'}, base64.StdEncoding.EncodeToString(markerPrefix[:])...)
}

func marker(i int) []byte {
	m := make([]byte, markerLen)
	copy(m, markerPrefix[:])
	binary.BigEndian.PutUint32(m[markerPrefixLen:], uint32(i))
	return m
}

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	bytesCache        sync.Map // reflect.Type -> bool
)

// mayHoldBytes reports whether a value of type t can hold a []byte that
// encoding/json would write as base64: the extractor skips the others.
// A type with its own MarshalJSON or MarshalText encodes itself.
func mayHoldBytes(t reflect.Type) bool {
	if v, ok := bytesCache.Load(t); ok {
		return v.(bool)
	}
	r := mayHoldBytesRec(t, map[reflect.Type]bool{})
	bytesCache.Store(t, r)
	return r
}

func mayHoldBytesRec(t reflect.Type, visiting map[reflect.Type]bool) bool {
	if t.Kind() != reflect.Interface && (t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) ||
		reflect.PointerTo(t).Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType)) {
		return false
	}
	if visiting[t] {
		return true // recursive type: decided where it started
	}
	visiting[t] = true
	defer delete(visiting, t)
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return true
		}
		return mayHoldBytesRec(t.Elem(), visiting)
	case reflect.Array, reflect.Pointer, reflect.Map:
		return mayHoldBytesRec(t.Elem(), visiting)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.IsExported() && f.Tag.Get("json") != "-" && mayHoldBytesRec(f.Type, visiting) {
				return true
			}
		}
	}
	return false
}

// extractor swaps []byte values for markers and remembers them.
type extractor struct {
	blobs [][]byte
	depth int
}

// maxExtractDepth bounds the walk; encoding/json reports cycles itself.
const maxExtractDepth = 512

// substitute returns v with its []byte values swapped for markers, and
// whether anything was swapped (v itself is returned when not).
func (x *extractor) substitute(v reflect.Value) (reflect.Value, bool) {
	if !v.IsValid() || x.depth > maxExtractDepth || !mayHoldBytes(v.Type()) {
		return v, false
	}
	x.depth++
	defer func() { x.depth-- }()
	t := v.Type()
	switch t.Kind() {
	case reflect.Slice:
		if v.IsNil() {
			return v, false
		}
		if t.Elem().Kind() == reflect.Uint8 {
			if v.Len() == 0 {
				return v, false // stays "" (or is omitted with omitempty)
			}
			m := reflect.New(t).Elem()
			m.SetBytes(marker(len(x.blobs)))
			x.blobs = append(x.blobs, v.Bytes())
			return m, true
		}
		var cp reflect.Value
		for i := 0; i < v.Len(); i++ {
			e, ok := x.substitute(v.Index(i))
			if !ok {
				continue
			}
			if !cp.IsValid() {
				cp = reflect.MakeSlice(t, v.Len(), v.Len())
				reflect.Copy(cp, v)
			}
			cp.Index(i).Set(e)
		}
		if cp.IsValid() {
			return cp, true
		}
	case reflect.Array:
		var cp reflect.Value
		for i := 0; i < v.Len(); i++ {
			e, ok := x.substitute(v.Index(i))
			if !ok {
				continue
			}
			if !cp.IsValid() {
				cp = reflect.New(t).Elem()
				cp.Set(v)
			}
			cp.Index(i).Set(e)
		}
		if cp.IsValid() {
			return cp, true
		}
	case reflect.Pointer:
		if v.IsNil() {
			return v, false
		}
		e, ok := x.substitute(v.Elem())
		if ok {
			p := reflect.New(t.Elem())
			p.Elem().Set(e)
			return p.Convert(t), true
		}
	case reflect.Interface:
		if v.IsNil() {
			return v, false
		}
		e, ok := x.substitute(v.Elem())
		if ok {
			i := reflect.New(t).Elem()
			i.Set(e)
			return i, true
		}
	case reflect.Map:
		if v.IsNil() {
			return v, false
		}
		var cp reflect.Value
		it := v.MapRange()
		for it.Next() {
			e, ok := x.substitute(it.Value())
			if !ok {
				continue
			}
			if !cp.IsValid() {
				cp = reflect.MakeMapWithSize(t, v.Len())
				it2 := v.MapRange()
				for it2.Next() {
					cp.SetMapIndex(it2.Key(), it2.Value())
				}
			}
			cp.SetMapIndex(it.Key(), e)
		}
		if cp.IsValid() {
			return cp, true
		}
	case reflect.Struct:
		var cp reflect.Value
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() || f.Tag.Get("json") == "-" {
				continue
			}
			e, ok := x.substitute(v.Field(i))
			if !ok {
				continue
			}
			if !cp.IsValid() {
				cp = reflect.New(t).Elem()
				cp.Set(v)
			}
			cp.Field(i).Set(e)
		}
		if cp.IsValid() {
			return cp, true
		}
	}
	return v, false
}

// appendValue appends the JSON of one outbound argument. A []byte (or a
// named byte-slice type) is an attachment; json.RawMessage is raw JSON;
// anything else goes through encoding/json with its []byte values, at any
// depth, extracted as attachments.
func appendValue(dst []byte, a any, attachments [][]byte) ([]byte, [][]byte, error) {
	switch v := a.(type) {
	case nil:
		return append(dst, "null"...), attachments, nil
	case []byte:
		if v == nil {
			return append(dst, "null"...), attachments, nil
		}
		dst = appendPlaceholder(dst, len(attachments))
		return dst, append(attachments, v), nil
	case json.RawMessage:
		if !isJSON(v) {
			return dst, attachments, ErrInvalidJSON
		}
		return append(dst, v...), attachments, nil
	case string:
		return appendQuoted(dst, v), attachments, nil
	}
	rv := reflect.ValueOf(a)
	var x extractor
	if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 && mayHoldBytes(rv.Type()) {
		if rv.IsNil() {
			return append(dst, "null"...), attachments, nil
		}
		dst = appendPlaceholder(dst, len(attachments))
		return dst, append(attachments, rv.Bytes()), nil
	}
	sub, ok := x.substitute(rv)
	if ok {
		a = sub.Interface()
	}
	js, err := json.Marshal(a)
	if err != nil {
		return dst, attachments, err
	}
	if !ok {
		return append(dst, js...), attachments, nil
	}
	return replaceMarkers(dst, js, x.blobs, attachments)
}

// replaceMarkers appends js with each marker string swapped for a
// placeholder, numbering the attachments in order of appearance.
func replaceMarkers(dst, js []byte, blobs, attachments [][]byte) ([]byte, [][]byte, error) {
	last := 0
	var m [markerLen]byte
	for i := 0; i+markerQuoted <= len(js); {
		j := indexFrom(js, markerPrefixB64, i)
		if j < 0 || j+markerQuoted > len(js) {
			break
		}
		n, err := base64.StdEncoding.Decode(m[:], js[j+1:j+markerQuoted-1])
		if err != nil || n != markerLen || js[j+markerQuoted-1] != '"' {
			i = j + 1
			continue
		}
		idx := int(binary.BigEndian.Uint32(m[markerPrefixLen:]))
		if idx >= len(blobs) {
			i = j + 1
			continue
		}
		dst = append(dst, js[last:j]...)
		dst = appendPlaceholder(dst, len(attachments))
		attachments = append(attachments, blobs[idx])
		last = j + markerQuoted
		i = last
	}
	return append(dst, js[last:]...), attachments, nil
}

func indexFrom(b, sep []byte, from int) int {
	for i := from; i+len(sep) <= len(b); i++ {
		if b[i] == sep[0] && string(b[i:i+len(sep)]) == string(sep) {
			return i
		}
	}
	return -1
}

func appendPlaceholder(dst []byte, num int) []byte {
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(num), 10)
	return append(dst, '}')
}

// encodeValues encodes an EVENT (withName) or ACK payload: the JSON array
// of the name and args, and the attachments extracted from args.
func encodeValues(dst []byte, name string, withName bool, args []any) (body []byte, attachments [][]byte, err error) {
	dst = append(dst, '[')
	if withName {
		dst = appendQuoted(dst, name)
	}
	for i, a := range args {
		if i > 0 || withName {
			dst = append(dst, ',')
		}
		if dst, attachments, err = appendValue(dst, a, attachments); err != nil {
			return nil, nil, err
		}
	}
	return append(dst, ']'), attachments, nil
}

// appendValuesPacket appends an Engine.IO message carrying an encoded
// EVENT (typ sioEvent) or ACK (sioAck) body; with attachments it becomes a
// BINARY_EVENT or BINARY_ACK announcing them.
func appendValuesPacket(dst []byte, typ byte, nsp string, id uint64, hasID bool, body []byte, attachments int) []byte {
	if attachments > 0 {
		typ += sioBinaryEvent - sioEvent // EVENT→BINARY_EVENT, ACK→BINARY_ACK
	}
	dst = appendSIOHeader(dst, typ, nsp, attachments, id, hasID)
	return append(dst, body...)
}
