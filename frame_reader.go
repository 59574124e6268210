package socketio

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"unicode/utf8"

	fws "github.com/fasthttp/websocket"
)

// ErrWebSocketProtocol is the disconnect reason when a client's WebSocket
// frames break RFC 6455 (an unmasked or reserved frame, a control frame
// that is fragmented or too long, a continuation out of place).
var ErrWebSocketProtocol = errors.New("socketio: WebSocket protocol violation")

// frameReader reads a client's WebSocket messages (RFC 6455 section 5).
// It parses frames from whatever its source returns and keeps nothing
// between messages but the bytes of an incomplete frame, so an idle
// connection holds no read buffer: reads go into a pooled buffer.
//
// Only what this server negotiates is accepted: no extensions (reserved
// bits must be clear), masked frames (every client frame is).
type frameReader struct {
	// read fills p from the connection (for next and fill).
	read func(p []byte) (int, error)
	// limit bounds a message's size (MaxPayload); zero for none.
	limit int64
	// onPing is called with a PING frame's payload.
	onPing func([]byte)

	// pend holds the bytes of a frame not yet complete.
	pend []byte
	// ready[head:] holds messages parsed and not yet returned; the
	// slice is reused once emptied.
	ready []wsMessage
	head  int
	// err is the parse error that ended reading, returned once the
	// messages parsed before it are taken.
	err error
	// frag is the message being assembled from fragments.
	frag   []byte
	fragOp byte
	inFrag bool
}

// wsMessage is one complete message: its opcode (opText or opBinary) and
// its unmasked payload, which the caller may keep.
type wsMessage struct {
	op   byte
	data []byte
}

// WebSocket opcodes not named elsewhere.
const (
	opContinuation byte = 0
	opPing         byte = 9
)

// maxPrealloc bounds the buffer made for a frame ahead of its bytes; a
// larger frame (with no limit set) grows as it arrives.
const maxPrealloc = 1 << 20

// frameReadBufferSize is the size of the pooled buffers reads go into.
const frameReadBufferSize = 4096

var frameReadBuffers = sync.Pool{New: func() any {
	b := make([]byte, frameReadBufferSize)
	return &b
}}

// next returns the next message. A CLOSE frame ends reading with a
// *fws.CloseError (code 1005 when it has none), as the websocket library
// reports it; a protocol violation with ErrWebSocketProtocol; a message
// over the limit with ErrMessageTooLarge.
func (r *frameReader) next() (wsMessage, error) {
	for {
		if m, ok := r.take(); ok {
			return m, nil
		}
		if r.err != nil {
			return wsMessage{}, r.err
		}
		if err := r.fill(); err != nil {
			return wsMessage{}, err
		}
	}
}

// take returns the next message already parsed, if any.
func (r *frameReader) take() (wsMessage, bool) {
	if r.head == len(r.ready) {
		return wsMessage{}, false
	}
	m := r.ready[r.head]
	r.ready[r.head] = wsMessage{}
	r.head++
	if r.head == len(r.ready) {
		r.ready, r.head = r.ready[:0], 0
		if cap(r.ready) > 64 {
			r.ready = nil // a large batch: give the array back
		}
	}
	return m, true
}

// readBuffer returns where the next read goes: the free space of a frame
// in progress whose buffer was made to its size, or a pooled buffer (bp
// not nil), which consume gives back. Reading no further than the frame's
// end keeps the frame's buffer from being copied to a larger one.
func (r *frameReader) readBuffer() (buf []byte, bp *[]byte) {
	if free := cap(r.pend) - len(r.pend); free > 0 {
		return r.pend[len(r.pend):cap(r.pend)], nil
	}
	bp = frameReadBuffers.Get().(*[]byte)
	return *bp, bp
}

// consume parses the n bytes just read into buf (from readBuffer). A
// parse error is also kept in r.err: the messages parsed before it are
// still to be taken.
func (r *frameReader) consume(buf []byte, bp *[]byte, n int) error {
	if bp != nil {
		defer frameReadBuffers.Put(bp)
	}
	if r.err == nil {
		r.err = r.consumeBytes(buf, bp, n)
	}
	return r.err
}

func (r *frameReader) consumeBytes(buf []byte, bp *[]byte, n int) error {
	switch {
	case n <= 0:
		return nil
	case bp == nil:
		r.pend = r.pend[:len(r.pend)+n]
		return r.parsePending()
	case len(r.pend) == 0:
		return r.parse(buf[:n], true)
	default:
		r.pend = append(r.pend, buf[:n]...)
		return r.parsePending()
	}
}

// fill reads once and parses every complete frame read.
func (r *frameReader) fill() error {
	if r.err != nil {
		return r.err
	}
	buf, bp := r.readBuffer()
	n, err := r.read(buf)
	if perr := r.consume(buf, bp, n); perr != nil && r.head == len(r.ready) {
		return perr
	}
	if n <= 0 && err == nil {
		err = io.ErrNoProgress
	}
	if err != nil && r.head == len(r.ready) {
		return err
	}
	return nil
}

// parsePending parses r.pend.
func (r *frameReader) parsePending() error {
	p := r.pend
	r.pend = nil
	return r.parse(p, false)
}

// parse parses the complete frames at the start of data and keeps the
// rest in r.pend (a copy when data is a pooled buffer, scratch).
func (r *frameReader) parse(data []byte, scratch bool) error {
	for len(data) > 0 {
		hlen, plen, err := r.header(data)
		if err != nil {
			return err
		}
		if hlen == 0 || int64(len(data)-hlen) < plen {
			// Incomplete: keep it, in a buffer the size of the whole
			// frame when its header says how big (checked against the
			// limit already), so the rest is read straight into it.
			need := len(data)
			if hlen > 0 {
				need = hlen + int(min(plen, maxPrealloc))
			}
			if scratch || cap(data) < need {
				kept := make([]byte, len(data), need)
				copy(kept, data)
				data = kept
			}
			r.pend = data
			return nil
		}
		if err := r.frame(data[:hlen], data[hlen:hlen+int(plen)]); err != nil {
			return err
		}
		data = data[hlen+int(plen):]
	}
	return nil
}

// header checks a frame header at the start of data and returns its
// length and the payload's; hlen is zero when the header is incomplete.
func (r *frameReader) header(data []byte) (hlen int, plen int64, err error) {
	if len(data) < 2 {
		return 0, 0, nil
	}
	b0, b1 := data[0], data[1]
	fin, op := b0&0x80 != 0, b0&0x0f
	if b0&0x70 != 0 || b1&0x80 == 0 {
		return 0, 0, ErrWebSocketProtocol // reserved bits, or not masked
	}
	hlen = 2 + 4
	plen = int64(b1 & 0x7f)
	switch plen {
	case 126:
		hlen += 2
		if len(data) < 4 {
			return 0, 0, nil
		}
		plen = int64(binary.BigEndian.Uint16(data[2:]))
	case 127:
		hlen += 8
		if len(data) < 10 {
			return 0, 0, nil
		}
		v := binary.BigEndian.Uint64(data[2:])
		if v>>63 != 0 {
			return 0, 0, ErrWebSocketProtocol
		}
		plen = int64(v)
	}
	switch op {
	case opClose, opPing, opPong:
		if !fin || plen > 125 {
			return 0, 0, ErrWebSocketProtocol
		}
	case opText, opBinary:
		if r.inFrag {
			return 0, 0, ErrWebSocketProtocol
		}
		if r.limit > 0 && plen > r.limit {
			return 0, 0, ErrMessageTooLarge
		}
	case opContinuation:
		if !r.inFrag {
			return 0, 0, ErrWebSocketProtocol
		}
		if r.limit > 0 && int64(len(r.frag))+plen > r.limit {
			return 0, 0, ErrMessageTooLarge
		}
	default:
		return 0, 0, ErrWebSocketProtocol
	}
	if len(data) < hlen {
		return 0, 0, nil
	}
	return hlen, plen, nil
}

// frame handles one complete frame, its header checked.
func (r *frameReader) frame(hdr, payload []byte) error {
	fin, op := hdr[0]&0x80 != 0, hdr[0]&0x0f
	key := hdr[len(hdr)-4:]
	switch op {
	case opPing:
		data := make([]byte, len(payload))
		maskBytes(data, payload, key)
		if r.onPing != nil {
			r.onPing(data)
		}
		return nil
	case opPong:
		return nil
	case opClose:
		data := make([]byte, len(payload))
		maskBytes(data, payload, key)
		return closeFrameError(data)
	case opContinuation:
		start := len(r.frag)
		r.frag = append(r.frag, payload...)
		maskBytes(r.frag[start:], payload, key)
		if fin {
			r.ready = append(r.ready, wsMessage{op: r.fragOp, data: r.frag})
			r.frag, r.inFrag = nil, false
		}
		return nil
	}
	data := make([]byte, len(payload))
	maskBytes(data, payload, key)
	if !fin {
		r.frag, r.fragOp, r.inFrag = data, op, true
		return nil
	}
	r.ready = append(r.ready, wsMessage{op: op, data: data})
	return nil
}

// closeFrameError is the error a CLOSE frame's payload ends reading with.
func closeFrameError(data []byte) error {
	switch {
	case len(data) == 0:
		return errCloseNoStatus
	case len(data) == 1:
		return ErrWebSocketProtocol
	}
	code := int(binary.BigEndian.Uint16(data))
	text := data[2:]
	if !utf8.Valid(text) || !validCloseCode(code) {
		return ErrWebSocketProtocol
	}
	if len(text) == 0 {
		switch code {
		case fws.CloseNormalClosure:
			return errCloseNormal
		case fws.CloseGoingAway:
			return errCloseGoingAway
		}
	}
	return &fws.CloseError{Code: code, Text: string(text)}
}

// The close errors of the usual CLOSE frames, made once: every
// connection ends with one.
var (
	errCloseNoStatus  = &fws.CloseError{Code: fws.CloseNoStatusReceived}
	errCloseNormal    = &fws.CloseError{Code: fws.CloseNormalClosure}
	errCloseGoingAway = &fws.CloseError{Code: fws.CloseGoingAway}
)

// validCloseCode reports whether a peer may send code (RFC 6455 section
// 7.4).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// maskBytes writes src XOR the 4-byte key (repeated) to dst, which is at
// least as long; dst and src may be the same slice.
func maskBytes(dst, src, key []byte) {
	k32 := binary.LittleEndian.Uint32(key)
	k64 := uint64(k32) | uint64(k32)<<32
	i := 0
	for ; i+8 <= len(src); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:])^k64)
	}
	for ; i < len(src); i++ {
		dst[i] = src[i] ^ key[i&3]
	}
}
