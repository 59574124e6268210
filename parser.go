package socketio

import (
	"errors"
	"fmt"
	"sync"
)

// Parser converts Socket.IO packets between this package's own encoding
// (the text encoding of socket.io-protocol v5, with binary attachments)
// and another wire format, as the Node server's parser option does: with
// the Parser of the module github.com/fiber-socketio/socketio/parser/msgpack,
// clients created with the npm package socket.io-msgpack-parser connect.
// Every client of a server must then use that parser. Set it with
// PacketParser or Config.Parser; nil, the default, is the standard
// encoding.
//
// The server keeps its own encoding inside (listeners still receive raw
// JSON arguments, and a broadcast is still encoded once); the parser
// converts each packet as it is written to, or read from, a connection,
// and a broadcast once for all its receivers.
type Parser interface {
	// Encode converts one outbound packet: text is the packet in the
	// default encoding, without the Engine.IO message type (such as
	// `2/admin,12["ev",{"_placeholder":true,"num":0}]`), and attachments
	// its binary attachments. It returns the Engine.IO message to send,
	// and whether that message is binary.
	Encode(text []byte, attachments [][]byte) (msg []byte, binary bool, err error)
	// Decode converts one inbound Engine.IO message into the default
	// encoding: the packet's text, with placeholders for its binary
	// values, and the attachments they refer to.
	Decode(msg []byte, binary bool) (text []byte, attachments [][]byte, err error)
}

// ErrParser is the disconnect reason when the server's Parser could not
// decode a client's message (wrapped with the parser's error).
var ErrParser = errors.New("socketio: the parser refused the packet")

// wireItems converts queued packets for the wire when the server has a
// Parser: each Socket.IO packet (a text message, with the attachments
// queued after it) becomes the parser's message; Engine.IO packets go as
// they are. A packet the parser cannot encode is dropped and logged.
func (s *session) wireItems(items []outPacket) []outPacket {
	p := s.cfg.Parser
	if p == nil || len(items) == 0 {
		return items
	}
	out := make([]outPacket, 0, len(items))
	for i := 0; i < len(items); i++ {
		it := items[i]
		if it.ctrl != 0 || it.binary || it.framed || it.parsed || len(it.data) == 0 || it.data[0] != eioMessage {
			out = append(out, it)
			continue
		}
		var atts [][]byte
		for n := sioAttachments(it.data[1:]); n > 0 && i+1 < len(items) && items[i+1].binary; n-- {
			atts = append(atts, items[i+1].data)
			i++
		}
		msg, binary, err := encodeWithParser(p, it.data[1:], atts)
		if err != nil {
			s.cfg.log("error", "parser could not encode a packet; dropped", "sid", s.sid, "error", err.Error())
			continue
		}
		if !binary {
			msg = append([]byte{eioMessage}, msg...)
		}
		out = append(out, outPacket{data: msg, binary: binary, plain: it.plain})
	}
	return out
}

// parsedPacket is a broadcast packet as the server's Parser encodes it,
// made once for every receiver.
type parsedPacket struct {
	once   sync.Once
	msg    []byte
	binary bool
	ok     bool
}

// parsedForm returns the packet's parsedPacket, made on the first call.
func (p *EncodedPacket) parsedForm() *parsedPacket {
	if pp := p.parsed.Load(); pp != nil {
		return pp
	}
	p.parsed.CompareAndSwap(nil, new(parsedPacket))
	return p.parsed.Load()
}

// get returns the Engine.IO message of the encoded packet text (with its
// attachments), made on the first call; false when the parser failed.
// text and attachments must be the same on every call.
func (pp *parsedPacket) get(p Parser, text []byte, attachments [][]byte) ([]byte, bool, bool) {
	pp.once.Do(func() {
		msg, binary, err := encodeWithParser(p, text[1:], attachments)
		if err != nil {
			return
		}
		if !binary {
			msg = append([]byte{eioMessage}, msg...)
		}
		pp.msg, pp.binary, pp.ok = msg, binary, true
	})
	return pp.msg, pp.binary, pp.ok
}

// encodeWithParser is p.Encode, with a panic reported as an error.
func encodeWithParser(p Parser, text []byte, atts [][]byte) (msg []byte, binary bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parser panicked: %v", r)
		}
	}()
	return p.Encode(text, atts)
}

// sioAttachments is the attachment count of an encoded Socket.IO packet
// (zero but for BINARY_EVENT and BINARY_ACK).
func sioAttachments(text []byte) int {
	if len(text) < 2 || (text[0] != '0'+sioBinaryEvent && text[0] != '0'+sioBinaryAck) {
		return 0
	}
	n := 0
	for _, c := range text[1:] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// onParsed handles an Engine.IO message through the server's Parser: the
// packet it decodes to, then its attachments, as the default encoding
// sends them.
func (c *client) onParsed(p Parser, data []byte, binary bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: parser panicked: %v", ErrParser, r)
		}
	}()
	text, atts, err := p.Decode(data, binary)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrParser, err)
	}
	if err := c.onDecoded(text, false); err != nil {
		return err
	}
	for _, a := range atts {
		if err := c.onDecoded(a, true); err != nil {
			return err
		}
	}
	c.rxMu.Lock()
	incomplete := c.rx.active
	c.rxMu.Unlock()
	if incomplete {
		return ErrMissingAttachment
	}
	return nil
}
