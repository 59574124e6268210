package socketio

import (
	"bytes"
	"compress/flate"
	"sync"

	"github.com/valyala/fasthttp"
)

// PerMessageDeflateThreshold is the smallest WebSocket message, in bytes,
// sent compressed on a connection that negotiated the permessage-deflate
// extension (RFC 7692), as the Node server's perMessageDeflate option
// does, with the same default threshold: 1024. The extension is offered
// when the websocket.Config given to New or Server.Handler sets
// EnableCompression (browsers and the Node client accept it); otherwise
// every frame is sent plain. Zero selects the default; a negative value
// sends every message plain (compressed client messages are still read).
// Messages emitted with Compress(false) are never compressed, and a
// message that would not shrink is sent plain.
var PerMessageDeflateThreshold = 1024

// rsv1Bit is the frame header bit of a compressed message (RFC 7692, 6).
const rsv1Bit = 0x40

// deflateTail ends the output of a sync flush; RFC 7692 (7.2.1) removes it
// from every compressed message.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// deflater compresses one message at a time. The extension is negotiated
// without context takeover (the websocket library answers
// server_no_context_takeover), so each message starts from a reset
// compressor and the compressors are shared by every connection.
type deflater struct {
	out bytes.Buffer
	w   *flate.Writer
}

// deflaters holds deflaters at flate.BestSpeed, the level the polling
// responses use too (see polling_compress.go).
var deflaters = sync.Pool{New: func() any {
	d := new(deflater)
	d.w, _ = flate.NewWriter(&d.out, flate.BestSpeed)
	return d
}}

// maxPooledDeflateBuffer bounds the output buffer a pooled deflater keeps.
const maxPooledDeflateBuffer = 256 << 10

// appendDeflatedFrame appends data as one compressed frame of type op and
// reports true, or appends nothing and reports false when compressing
// would not make it shorter.
func appendDeflatedFrame(dst []byte, op byte, data []byte) ([]byte, bool) {
	d := deflaters.Get().(*deflater)
	defer func() {
		if d.out.Cap() > maxPooledDeflateBuffer {
			d.out = bytes.Buffer{}
		}
		deflaters.Put(d)
	}()
	d.out.Reset()
	d.w.Reset(&d.out)
	if _, err := d.w.Write(data); err != nil {
		return dst, false
	}
	if err := d.w.Flush(); err != nil {
		return dst, false
	}
	z, ok := bytes.CutSuffix(d.out.Bytes(), deflateTail)
	if !ok || len(z) >= len(data) {
		return dst, false
	}
	dst = appendFrameHeaderBits(dst, 0x80|rsv1Bit|op, len(z))
	return append(dst, z...), true
}

// deflatedFrame is the compressed frame of a broadcast packet, made once
// and shared by every receiver: each message is compressed alone, so the
// frame is the same on every connection.
type deflatedFrame struct {
	once  sync.Once
	frame []byte
	ok    bool
}

// get returns the compressed text frame of data, made on the first call,
// or false when data does not shrink. data must be the same on every
// call; the frame is shared and never modified.
func (d *deflatedFrame) get(data []byte) ([]byte, bool) {
	d.once.Do(func() { d.frame, d.ok = appendDeflatedFrame(nil, opText, data) })
	return d.frame, d.ok
}

// deflateThreshold is the threshold of a connection whose 101 response is
// h (nil when fasthttp wrote it): the configured one (see
// PerMessageDeflateThreshold) when the response accepted
// permessage-deflate, 0 (never compress) otherwise.
func deflateThreshold(h *fasthttp.ResponseHeader, configured int) int {
	if h == nil || configured < 0 {
		return 0
	}
	if !bytes.Contains(h.Peek(fasthttp.HeaderSecWebSocketExtensions), []byte("permessage-deflate")) {
		return 0
	}
	return max(configured, 1)
}
