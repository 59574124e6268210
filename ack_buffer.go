package socketio

import (
	"errors"
	"strconv"
)

// Binary data in the answers of a broadcast with acks. The Adapter
// interface carries each answer as one raw JSON value, so binary data in
// it is written as Node's Buffer.toJSON writes a Buffer,
// {"type":"Buffer","data":[bytes...]}: the form a Node peer's answer
// arrives in through a multi-node adapter, and the form the answers of
// this node's clients are given in (bufferJSON). EmitValuesWithAck turns
// such objects back into placeholders and attachments (bufferAttachments).

// bufferJSON returns arg with each placeholder of attachments replaced by
// the attachment as Buffer JSON. Without attachments, or when no
// placeholder refers to one, arg itself is returned; an invalid
// placeholder (num out of range) is left as it is, as is an arg that is
// not valid JSON.
func bufferJSON(arg []byte, attachments [][]byte) []byte {
	if len(attachments) == 0 {
		return arg
	}
	var buf [4]placeholderRef
	refs, err := findPlaceholders(arg, len(attachments), buf[:0])
	if err != nil && !errors.Is(err, ErrInvalidPlaceholder) {
		return arg
	}
	size, n := len(arg), 0
	for _, r := range refs {
		if r.num >= 0 {
			size += len(`{"type":"Buffer","data":[]}`) + 4*len(attachments[r.num])
			n++
		}
	}
	if n == 0 {
		return arg
	}
	out := make([]byte, 0, size)
	last := 0
	for _, r := range refs {
		if r.num < 0 {
			continue
		}
		out = append(out, arg[last:r.start]...)
		out = appendBufferJSON(out, attachments[r.num])
		last = r.end
	}
	return append(out, arg[last:]...)
}

// appendBufferJSON appends b as Node's Buffer.toJSON writes it.
func appendBufferJSON(dst, b []byte) []byte {
	dst = append(dst, `{"type":"Buffer","data":[`...)
	for i, c := range b {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendUint(dst, uint64(c), 10)
	}
	return append(dst, "]}"...)
}

// bufferAttachments returns arg with each Buffer JSON object in it
// replaced by a placeholder of an attachment appended to attachments
// (numbered from len(attachments)), and the attachments. An object is
// taken for a Buffer when it has exactly the members "type", the string
// "Buffer", and "data", an array of integers from 0 to 255. Without such
// an object, or when arg is not valid JSON, arg itself is returned.
func bufferAttachments(arg []byte, attachments [][]byte) ([]byte, [][]byte) {
	var out []byte
	first, last := len(attachments), 0
	for i := 0; i < len(arg); {
		switch arg[i] {
		case '"':
			end, err := scanString(arg, i)
			if err != nil {
				return arg, attachments[:first]
			}
			i = end
		case '{':
			end, data, ok := matchBufferJSON(arg, i)
			if !ok {
				i++
				break
			}
			if out == nil {
				out = make([]byte, 0, len(arg))
			}
			out = append(out, arg[last:i]...)
			out = appendPlaceholder(out, len(attachments))
			attachments = append(attachments, data)
			last, i = end, end
		default:
			i++
		}
	}
	if out == nil {
		return arg, attachments
	}
	return append(out, arg[last:]...), attachments
}

// matchBufferJSON reports whether the object that starts at b[i] is Buffer
// JSON (see bufferAttachments), and returns the index just past it and
// its bytes.
func matchBufferJSON(b []byte, i int) (end int, data []byte, ok bool) {
	i++ // '{'
	var hasType, hasData bool
	for member := 0; member < 2; member++ {
		if member > 0 {
			if i = skipSpace(b, i); i >= len(b) || b[i] != ',' {
				return 0, nil, false
			}
			i++
		}
		if i = skipSpace(b, i); i >= len(b) || b[i] != '"' {
			return 0, nil, false
		}
		keyEnd, err := scanString(b, i)
		if err != nil {
			return 0, nil, false
		}
		key := b[i:keyEnd]
		if i = skipSpace(b, keyEnd); i >= len(b) || b[i] != ':' {
			return 0, nil, false
		}
		if i = skipSpace(b, i+1); i >= len(b) {
			return 0, nil, false
		}
		switch {
		case !hasType && jsonStringIs(key, "type"):
			if b[i] != '"' {
				return 0, nil, false
			}
			valEnd, err := scanString(b, i)
			if err != nil || !jsonStringIs(b[i:valEnd], "Buffer") {
				return 0, nil, false
			}
			hasType, i = true, valEnd
		case !hasData && jsonStringIs(key, "data"):
			if data, i, ok = scanByteArray(b, i); !ok {
				return 0, nil, false
			}
			hasData = true
		default:
			return 0, nil, false
		}
	}
	if i = skipSpace(b, i); i >= len(b) || b[i] != '}' {
		return 0, nil, false
	}
	return i + 1, data, true
}

// scanByteArray reads the JSON array at b[i] when it holds only integers
// from 0 to 255, and returns them and the index just past the array.
func scanByteArray(b []byte, i int) (data []byte, end int, ok bool) {
	if b[i] != '[' {
		return nil, 0, false
	}
	data = []byte{}
	if i = skipSpace(b, i+1); i < len(b) && b[i] == ']' {
		return data, i + 1, true
	}
	for i < len(b) {
		numEnd, err := scanNumber(b, i)
		if err != nil {
			return nil, 0, false
		}
		v, err := strconv.Atoi(string(b[i:numEnd]))
		if err != nil || v < 0 || v > 255 {
			return nil, 0, false
		}
		data = append(data, byte(v))
		if i = skipSpace(b, numEnd); i >= len(b) {
			break
		}
		switch b[i] {
		case ']':
			return data, i + 1, true
		case ',':
			i = skipSpace(b, i+1)
		default:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// jsonStringIs reports whether the quoted JSON string q is s (escapes
// decoded, as JSON.parse reads it).
func jsonStringIs(q []byte, s string) bool {
	if len(q) == len(s)+2 && string(q[1:len(q)-1]) == s {
		return true
	}
	for _, c := range q {
		if c == '\\' {
			u, err := unquote(q)
			return err == nil && u == s
		}
	}
	return false
}
