package socketio

// Go values to and from the JSON of binary packets: decoding arguments with
// their placeholders resolved, and encoding Go values with their []byte
// extracted as attachments. Pure functions, no I/O.

import (
	"bytes"
	"crypto/rand"
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"unicode/utf8"
)

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
// placeholders: every []byte position and every interface position where
// the JSON had a placeholder receives the attachment as a []byte, without
// a copy. Generic destinations (*any, *map[string]any, *[]any) are resolved
// on the decoded tree; other types through markers (decodeWithMarkers).
// Only a destination holding a type that decodes itself (UnmarshalJSON,
// UnmarshalText) takes the slow, always-correct way: placeholders become
// base64 strings, so its []byte positions still get the bytes (copied) but
// an interface position gets the string.
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
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() && decodeInfoOf(rv.Type().Elem()).safe {
		return decodeWithMarkers(arg, refs, attachments, rv)
	}
	size := len(arg)
	for _, r := range refs {
		size += base64.StdEncoding.EncodedLen(len(attachments[r.num])) + 2
	}
	return json.Unmarshal(resolvePlaceholders(make([]byte, 0, size), arg, refs, attachments), v)
}

// decodeWithMarkers decodes into a typed destination without passing the
// attachments through base64: each placeholder becomes a 16-byte marker
// (as a base64 string), and after json.Unmarshal the destination is walked
// to swap every marker for its attachment: in []byte values, and in
// interfaces, where the marker is still a string (a string destination
// gets the attachment's base64, as encoding/json would). It is used only for
// types without custom unmarshalers, so every place encoding/json can put
// a marker is one the walk reaches.
func decodeWithMarkers(arg []byte, refs []placeholderRef, attachments [][]byte, rv reflect.Value) error {
	dst := make([]byte, 0, len(arg)+len(refs)*markerQuoted)
	last := 0
	for _, r := range refs {
		dst = append(dst, arg[last:r.start]...)
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, marker(r.num))
		dst = append(dst, '"')
		last = r.end
	}
	dst = append(dst, arg[last:]...)
	if err := json.Unmarshal(dst, rv.Interface()); err != nil {
		return err
	}
	resolveMarkers(rv.Elem(), attachments)
	return nil
}

// markerNum returns the attachment index a marker stands for.
func markerNum(b []byte, n int) (int, bool) {
	if len(b) != markerLen || !bytes.Equal(b[:markerPrefixLen], markerPrefix[:]) {
		return 0, false
	}
	i := int(binary.BigEndian.Uint32(b[markerPrefixLen:]))
	return i, i < n
}

// markerStringNum is markerNum for a marker left as its base64 string.
func markerStringNum(s string, n int) (int, bool) {
	if len(s) != markerQuoted-2 || s[:len(markerPrefixB64)-1] != string(markerPrefixB64[1:]) {
		return 0, false
	}
	var m [markerLen]byte
	if k, err := base64.StdEncoding.Decode(m[:], []byte(s)); err != nil || k != markerLen {
		return 0, false
	}
	return markerNum(m[:], n)
}

// resolveMarkers swaps the markers in v (settable, or a map's copy) for
// their attachments and reports whether it swapped any.
func resolveMarkers(v reflect.Value, attachments [][]byte) bool {
	t := v.Type()
	if !decodeInfoOf(t).walk {
		return false
	}
	changed := false
	switch t.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			changed = resolveMarkers(v.Elem(), attachments)
		}
	case reflect.Interface:
		if v.IsNil() {
			return false
		}
		switch e := v.Elem(); e.Kind() {
		case reflect.String:
			if i, ok := markerStringNum(e.String(), len(attachments)); ok && v.CanSet() {
				v.Set(reflect.ValueOf(attachments[i]))
				changed = true
			}
		case reflect.Map, reflect.Slice:
			changed = resolveMarkers(e, attachments)
		}
	case reflect.String:
		// A placeholder decoded into a string: what the base64 way gives.
		if i, ok := markerStringNum(v.String(), len(attachments)); ok && v.CanSet() {
			v.SetString(base64.StdEncoding.EncodeToString(attachments[i]))
			changed = true
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			if i, ok := markerNum(v.Bytes(), len(attachments)); ok && v.CanSet() {
				v.SetBytes(attachments[i])
				changed = true
			}
			return changed
		}
		for i := 0; i < v.Len(); i++ {
			changed = resolveMarkers(v.Index(i), attachments) || changed
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			changed = resolveMarkers(v.Index(i), attachments) || changed
		}
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() || (f.Anonymous && f.Type.Kind() == reflect.Struct) {
				changed = resolveMarkers(v.Field(i), attachments) || changed
			}
		}
	case reflect.Map:
		if !decodeInfoOf(t.Elem()).walk {
			return false
		}
		it := v.MapRange()
		for it.Next() {
			cp := reflect.New(t.Elem()).Elem()
			cp.Set(it.Value())
			if resolveMarkers(cp, attachments) {
				v.SetMapIndex(it.Key(), cp)
				changed = true
			}
		}
	}
	return changed
}

// decodeInfo describes a destination type: safe when no type reachable in
// it decodes itself (UnmarshalJSON, UnmarshalText), so markers can only
// land where resolveMarkers looks; walk when it can hold a []byte, a string
// or an interface, so a marker can land in it at all.
type decodeInfo struct{ safe, walk bool }

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	decodeCache         sync.Map // reflect.Type -> decodeInfo
)

func decodeInfoOf(t reflect.Type) decodeInfo {
	if v, ok := decodeCache.Load(t); ok {
		return v.(decodeInfo)
	}
	d := decodeInfoRec(t, map[reflect.Type]bool{})
	decodeCache.Store(t, d)
	return d
}

func decodeInfoRec(t reflect.Type, visiting map[reflect.Type]bool) decodeInfo {
	if t.Kind() != reflect.Interface && (t.Implements(jsonUnmarshalerType) || t.Implements(textUnmarshalerType) ||
		reflect.PointerTo(t).Implements(jsonUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType)) {
		return decodeInfo{safe: false, walk: false}
	}
	if visiting[t] {
		return decodeInfo{safe: true, walk: true} // decided where it started
	}
	visiting[t] = true
	defer delete(visiting, t)
	switch t.Kind() {
	case reflect.Interface, reflect.String:
		return decodeInfo{safe: true, walk: true}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			e := decodeInfoRec(t.Elem(), visiting)
			return decodeInfo{safe: e.safe, walk: true}
		}
		return decodeInfoRec(t.Elem(), visiting)
	case reflect.Array, reflect.Pointer, reflect.Map:
		return decodeInfoRec(t.Elem(), visiting)
	case reflect.Struct:
		d := decodeInfo{safe: true}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() && !(f.Anonymous && f.Type.Kind() == reflect.Struct) {
				continue
			}
			e := decodeInfoRec(f.Type, visiting)
			d.safe = d.safe && e.safe
			d.walk = d.walk || e.walk
		}
		return d
	}
	return decodeInfo{safe: true}
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

// isJSONBytes reports whether encoding/json writes a value of slice type t
// as a base64 string: a slice of a byte kind whose elements do not marshal
// themselves.
func isJSONBytes(t reflect.Type) bool {
	if t.Kind() != reflect.Slice || t.Elem().Kind() != reflect.Uint8 {
		return false
	}
	p := reflect.PointerTo(t.Elem())
	return !p.Implements(jsonMarshalerType) && !p.Implements(textMarshalerType)
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
		if isJSONBytes(t) {
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
		if isJSONBytes(t) {
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
	if isJSONBytes(rv.Type()) && mayHoldBytes(rv.Type()) {
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
		j := bytes.Index(js[i:], markerPrefixB64)
		if j < 0 {
			break
		}
		j += i
		if j+markerQuoted > len(js) {
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

// appendBinaryAck appends the answer to an ack id with args (see
// appendAck) as a BINARY_ACK when args hold placeholders of attachments
// (those of the event being answered): each placeholder is renumbered in
// order of appearance, and used lists the attachments they stand for, in
// that order. ok is false, and nothing is appended, when no arg holds a
// placeholder of one of them.
func appendBinaryAck(dst []byte, nsp string, id uint64, args, attachments [][]byte) (pkt []byte, used [][]byte, ok bool) {
	var refs []placeholderRef
	body := []byte{'['}
	first := true
	for _, a := range args {
		if len(a) == 0 {
			continue // skipped, as appendAck does
		}
		if !first {
			body = append(body, ',')
		}
		first = false
		if !isJSON(a) || !utf8.Valid(a) {
			body = appendQuoted(body, string(a))
			continue
		}
		var err error
		if refs, err = findPlaceholders(a, len(attachments), refs); err != nil {
			// A placeholder of no attachment of the event: the
			// argument goes as it is, as from appendAck.
			refs = refs[:0]
		}
		last := 0
		for _, r := range refs {
			body = append(body, a[last:r.start]...)
			body = appendPlaceholder(body, len(used))
			used = append(used, attachments[r.num])
			last = r.end
		}
		body = append(body, a[last:]...)
	}
	if len(used) == 0 {
		return dst, nil, false
	}
	body = append(body, ']')
	return appendValuesPacket(dst, sioAck, nsp, id, true, body, len(used)), used, true
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
