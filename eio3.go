package socketio

// This file is the Engine.IO v3 polling codec (engine.io-protocol v3, the
// protocol of socket.io-client 1.x and 2.x), served when AllowEIO3 is set:
// pure functions over bytes, fuzzed as the v4 codec is.
//
// A v3 polling payload is either text, every packet prefixed with its
// length in UTF-16 code units (as JavaScript counts a string's length) and
// a colon, binary messages base64 encoded as "b4" and the base64; or, when
// the client supports binary (no "b64" in its query) and the payload holds
// a binary message, binary: every packet prefixed with 0 (text) or 1
// (binary), its length in bytes as one byte per decimal digit, and 255.
// A binary message there, as on a v3 WebSocket, starts with its Engine.IO
// packet type as a byte (4).

import (
	"encoding/base64"
	"errors"
	"strconv"
	"unicode/utf8"
)

// ErrInvalidPayload is the disconnect reason for an Engine.IO v3 polling
// payload that does not follow the protocol's length-prefixed format.
var ErrInvalidPayload = errors.New("socketio: invalid Engine.IO v3 payload")

// eio3MaxLengthDigits bounds the decimal length of one packet of a v3
// payload: ten digits exceed any payload MaxPayload admits.
const eio3MaxLengthDigits = 10

// eio3Packet is one packet of a decoded v3 payload.
type eio3Packet struct {
	typ    byte
	data   []byte
	binary bool
}

// utf16Len returns the length of UTF-8 text b in UTF-16 code units, as
// JavaScript counts a string's length: two for a character beyond the
// Basic Multilingual Plane, one for any other character (an invalid byte
// counts one, as its replacement character does).
func utf16Len(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r > 0xffff {
			n += 2
		} else {
			n++
		}
		i += size
	}
	return n
}

// utf16Prefix returns how many bytes of b hold its first n UTF-16 code
// units; false when b is shorter or unit n splits a surrogate pair.
func utf16Prefix(b []byte, n int) (int, bool) {
	i := 0
	for n > 0 {
		if i >= len(b) {
			return 0, false
		}
		if b[i] < utf8.RuneSelf {
			n--
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		units := 1
		if r > 0xffff {
			units = 2
		}
		if units > n {
			return 0, false
		}
		n -= units
		i += size
	}
	return i, true
}

// decodeEIO3Payload decodes a v3 polling payload, text or (binary set,
// the request's content type being application/octet-stream) binary.
// The packets' data alias body.
func decodeEIO3Payload(body []byte, binary bool) ([]eio3Packet, error) {
	if binary {
		return decodeEIO3BinaryPayload(body)
	}
	if len(body) == 0 {
		return nil, ErrInvalidPayload
	}
	var out []eio3Packet
	for len(body) > 0 {
		n, i := 0, 0
		for ; i < len(body) && body[i] != ':'; i++ {
			c := body[i]
			if c < '0' || c > '9' || i >= eio3MaxLengthDigits {
				return nil, ErrInvalidPayload
			}
			n = n*10 + int(c-'0')
		}
		if i == 0 || i == len(body) {
			return nil, ErrInvalidPayload
		}
		body = body[i+1:]
		size, ok := utf16Prefix(body, n)
		if !ok {
			return nil, ErrInvalidPayload
		}
		msg := body[:size]
		body = body[size:]
		if len(msg) == 0 {
			continue // as the Node server, an empty packet is skipped
		}
		p, err := decodeEIO3Text(msg)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// decodeEIO3Text decodes one text packet: an Engine.IO packet, or "b",
// its type and base64 data for a binary message.
func decodeEIO3Text(msg []byte) (eio3Packet, error) {
	if msg[0] == 'b' {
		if len(msg) < 2 || msg[1] != eioMessage {
			return eio3Packet{}, ErrInvalidPacket
		}
		dst := make([]byte, base64.StdEncoding.DecodedLen(len(msg)-2))
		n, err := base64.StdEncoding.Decode(dst, msg[2:])
		if err != nil {
			return eio3Packet{}, ErrInvalidPacket
		}
		return eio3Packet{typ: eioMessage, data: dst[:n], binary: true}, nil
	}
	typ, data, err := decodeTextPacket(msg)
	return eio3Packet{typ: typ, data: data}, err
}

// decodeEIO3BinaryPayload decodes a v3 payload in its binary form.
func decodeEIO3BinaryPayload(body []byte) ([]eio3Packet, error) {
	if len(body) == 0 {
		return nil, ErrInvalidPayload
	}
	var out []eio3Packet
	for len(body) > 0 {
		kind := body[0]
		if kind > 1 {
			return nil, ErrInvalidPayload
		}
		n, i := 0, 1
		for ; i < len(body) && body[i] != 0xff; i++ {
			d := body[i]
			if d > 9 || i > eio3MaxLengthDigits {
				return nil, ErrInvalidPayload
			}
			n = n*10 + int(d)
		}
		if i == 1 || i == len(body) || n > len(body)-i-1 || n == 0 {
			return nil, ErrInvalidPayload
		}
		msg := body[i+1 : i+1+n]
		body = body[i+1+n:]
		if kind == 0 {
			typ, data, err := decodeTextPacket(msg)
			if err != nil {
				return nil, err
			}
			out = append(out, eio3Packet{typ: typ, data: data})
			continue
		}
		if msg[0] != eioMessage-'0' {
			return nil, ErrInvalidPacket
		}
		out = append(out, eio3Packet{typ: eioMessage, data: msg[1:], binary: true})
	}
	return out, nil
}

// appendEIO3Payload appends packets as a v3 polling payload, in its binary
// form when supportsBinary is set and a packet is binary (the second
// result is then true), in its text form otherwise. Control packets (ctrl)
// are left out.
func appendEIO3Payload(dst []byte, items []outPacket, supportsBinary bool) ([]byte, bool) {
	asBinary := false
	if supportsBinary {
		for _, p := range items {
			if p.binary && p.ctrl == 0 {
				asBinary = true
				break
			}
		}
	}
	for _, p := range items {
		if p.ctrl != 0 {
			continue
		}
		switch {
		case asBinary && p.binary:
			dst = append(dst, 1)
			dst = appendDigitBytes(dst, len(p.data)+1)
			dst = append(dst, 0xff, eioMessage-'0')
			dst = append(dst, p.data...)
		case asBinary:
			dst = append(dst, 0)
			dst = appendDigitBytes(dst, len(p.data))
			dst = append(dst, 0xff)
			dst = append(dst, p.data...)
		case p.binary:
			dst = strconv.AppendInt(dst, int64(2+base64.StdEncoding.EncodedLen(len(p.data))), 10)
			dst = append(dst, ':', 'b', eioMessage)
			dst = base64.StdEncoding.AppendEncode(dst, p.data)
		default:
			dst = strconv.AppendInt(dst, int64(utf16Len(p.data)), 10)
			dst = append(dst, ':')
			dst = append(dst, p.data...)
		}
	}
	return dst, asBinary
}

// appendDigitBytes appends n as one byte per decimal digit.
func appendDigitBytes(dst []byte, n int) []byte {
	start := len(dst)
	dst = strconv.AppendInt(dst, int64(n), 10)
	for i := start; i < len(dst); i++ {
		dst[i] -= '0'
	}
	return dst
}
