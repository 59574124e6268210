package socketio

import (
	"fmt"
	"time"
)

// Binary data: the Go side of Socket.IO's BINARY_EVENT and BINARY_ACK.
//
// Inbound, a client's Buffer, ArrayBuffer or typed array (alone, or nested
// in objects and arrays) arrives as an attachment: EventPayload.Args keeps
// the raw JSON with {"_placeholder":true,"num":N} in its place, and
// EventPayload.Attachments holds the bytes. Decode and Bind unmarshal the
// arguments with every placeholder resolved: a []byte destination (a
// variable, a struct field, a slice element or a map value) receives the
// attachment's bytes, and an interface (any, map[string]any, []any, an any
// field) holds a []byte where the client had binary data. One exception:
// when the destination holds a type that decodes itself (UnmarshalJSON or
// UnmarshalText, json.RawMessage and time.Time among them), placeholders
// are decoded as base64 strings, so []byte positions still receive the
// bytes but an interface position there receives the base64 string.
//
// Outbound, EmitValues, EmitValuesWithAck and AckValues take Go values and
// send every non-empty []byte in them (at the top level, or in exported
// struct fields, maps, slices, arrays, pointers and interfaces, as
// encoding/json would reach them) as an attachment: the client receives a
// Buffer (an ArrayBuffer in a browser) in the same place. Other values are
// encoded with encoding/json; a type with its own MarshalJSON or
// MarshalText encodes itself (json.RawMessage is sent as raw JSON). An empty
// []byte nested in a value stays what encoding/json makes of it ("", or
// omitted with omitempty); at the top level it is an empty attachment.

// AckReply is a client's answer to EmitValuesWithAck: its arguments as raw
// JSON (placeholders left in) and its binary attachments.
type AckReply struct {
	// Args are the ack's arguments, one raw JSON value each.
	Args [][]byte
	// Attachments are the ack's binary attachments (nil without any).
	Attachments [][]byte
}

// Decode unmarshals the ack's arguments into v, in order, resolving
// attachments as EventPayload.Decode does.
func (r *AckReply) Decode(v ...any) error { return decodeArgs(r.Args, r.Attachments, v) }

// Bind unmarshals argument i into v, resolving attachments as
// EventPayload.Decode does.
func (r *AckReply) Bind(i int, v any) error { return bindArg(r.Args, r.Attachments, i, v) }

// Decode unmarshals the event's arguments into v with encoding/json, one
// destination per argument in order (a nil destination skips its argument;
// arguments beyond len(v) are ignored; fewer arguments than destinations
// is an error). Every attachment placeholder is resolved, so []byte
// positions receive the attachment's bytes and interface positions a
// []byte (see the notes on binary data above for the one exception); such
// bytes may share memory with Attachments.
func (ep *EventPayload) Decode(v ...any) error { return decodeArgs(ep.Args, ep.Attachments, v) }

// Bind unmarshals argument i (0 is the first argument after the event
// name) into v, resolving attachments as Decode does.
func (ep *EventPayload) Bind(i int, v any) error { return bindArg(ep.Args, ep.Attachments, i, v) }

func bindArg(args, attachments [][]byte, i int, v any) error {
	if i < 0 || i >= len(args) {
		return fmt.Errorf("socketio: argument %d of %d", i, len(args))
	}
	if err := decodeArg(args[i], attachments, v); err != nil {
		return fmt.Errorf("socketio: argument %d: %w", i, err)
	}
	return nil
}

// EmitValues sends event with args encoded as JSON; every []byte in them
// goes out as a binary attachment (see the package's binary data notes),
// making the packet a BINARY_EVENT. Unlike EmitArgs, a []byte argument here
// is binary data, not raw JSON: pass json.RawMessage for raw JSON. It
// returns the encoding error, ErrTooManyAttachments, ErrReservedEventName,
// or the send error.
func (kws *Websocket) EmitValues(event string, args ...any) error {
	if kws.refuseReserved(event) {
		return ErrReservedEventName
	}
	body, attachments, err := kws.encodeValues(event, true, args)
	if err != nil {
		return err
	}
	return kws.sendStored(appendValuesPacket(nil, sioEvent, kws.nsp.name, 0, false, body, len(attachments)), attachments)
}

// EmitValuesWithAck is EmitValues with an acknowledgement: cb receives the
// client's reply, or ErrAckTimeout after OutboundAckTimeout, or
// ErrAckDisconnected (also when the socket is gone or the packet could not
// be queued). It returns an error, and then never calls cb, only when the
// packet cannot be built: an encoding error, ErrTooManyAttachments or
// ErrReservedEventName.
func (kws *Websocket) EmitValuesWithAck(event string, cb func(reply *AckReply, err error), args ...any) error {
	return kws.EmitValuesWithAckTimeout(event, kws.sess.cfg.OutboundAckTimeout, cb, args...)
}

// EmitValuesWithAckTimeout is EmitValuesWithAck with its own deadline; a
// zero timeout waits until the client answers or disconnects.
func (kws *Websocket) EmitValuesWithAckTimeout(event string, timeout time.Duration, cb func(reply *AckReply, err error), args ...any) error {
	if kws.refuseReserved(event) {
		return ErrReservedEventName
	}
	body, attachments, err := kws.encodeValues(event, true, args)
	if err != nil {
		return err
	}
	id := kws.nsp.ackIDs.Add(1) - 1
	if !kws.acks.registerReply(id, cb, timeout, kws.logError) {
		return nil // cb got ErrAckDisconnected
	}
	pkt := appendValuesPacket(nil, sioEvent, kws.nsp.name, id, true, body, len(attachments))
	kws.notifyOutgoing(pkt, attachments, false)
	if err := kws.sendBinary(pkt, attachments); err != nil {
		kws.acks.cancel(id, ErrAckDisconnected, kws.logError)
	}
	return nil
}

// AckValues answers the client's callback for this event with args encoded
// as EmitValues encodes them: []byte values arrive as Buffers, in a
// BINARY_ACK. As with Ack, only the first answer of an event is sent.
func (ep *EventPayload) AckValues(args ...any) error {
	if !ep.HasAck {
		return ErrAckNotRequested
	}
	kws, id := ep.Kws, ep.AckID // read before ackSent is set (see Ack)
	if kws == nil || !kws.IsAlive() {
		return ErrorInvalidConnection
	}
	body, attachments, err := kws.encodeValues("", false, args)
	if err != nil {
		return err
	}
	if !ep.ackSent.CompareAndSwap(false, true) {
		return ErrAckAlreadySent
	}
	return kws.sendBinary(appendValuesPacket(nil, sioAck, kws.nsp.name, id, true, body, len(attachments)), attachments)
}

func (kws *Websocket) encodeValues(event string, withName bool, args []any) ([]byte, [][]byte, error) {
	body, attachments, err := encodeValues(nil, event, withName, args)
	if err != nil {
		return nil, nil, fmt.Errorf("socketio: encoding %q: %w", event, err)
	}
	if max := kws.sess.cfg.MaxAttachments; len(attachments) > max {
		return nil, nil, fmt.Errorf("%w: %d attachments, %d allowed", ErrTooManyAttachments, len(attachments), max)
	}
	return body, attachments, nil
}
