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
