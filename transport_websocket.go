package socketio

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/contrib/v3/websocket"
)

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	opText   byte = 1
	opBinary byte = 2
	opClose  byte = 8
	opPong   byte = 10
)

// refusedCloseTimeout bounds the close of a WebSocket refused at its opening
// (the probe exchange of an upgrade is bounded by Config.UpgradeTimeout).
const refusedCloseTimeout = 10 * time.Second

// wsConn is a session's WebSocket. Whoever holds the session's writeMu
// (its worker, or its reader writing inline) frames packets itself and
// writes every queued frame with one write on the raw connection, instead
// of one library call (and one syscall) per packet. Server frames are never
// masked, so framing is a header and a copy. On a plain TCP socket the
// server's frame reader reads (fr, src); otherwise (TLS, compression) the
// library's reader does, and its control-frame replies are routed through
// the send queue so nothing else writes.
type wsConn struct {
	// What each write touches comes first, in one cache line (see
	// session).
	mu  sync.Mutex // guards buf and writes during shutdown
	buf []byte
	// src and fr, when not nil, read the client's frames instead of the
	// library (see frameReader and socketSource).
	src *socketSource
	// response, when not nil, is the HTTP 101 response to the upgrade,
	// left by fasthttp to the connection (see wsUpgrade): the first
	// write sends it ahead of its frames, and gives the buffer back.
	response *[]byte
	// deflateMin, when above zero, is the size from which messages are
	// sent compressed: the connection negotiated permessage-deflate (see
	// PerMessageDeflateThreshold).
	deflateMin int
	// eio3 is set on a connection of an Engine.IO v3 session: a binary
	// message goes with its packet type (4) as its first byte.
	eio3 bool
	// b64 is set when the client asked for binary messages in base64
	// ("b64" in the query of its WebSocket, a client's forceBase64): they
	// go as text messages, "b" and the base64, as the Node server sends
	// them.
	b64 bool

	conn      *websocket.Conn
	raw       net.Conn
	fr        *frameReader
	deadline  time.Time // the write deadline last set (without src)
	closeOnce sync.Once
	// With src, a write is first tried without blocking, and a deadline
	// is set only when the socket cannot take it all (see write).
	// blockedSince (monoNow) is set while such a write waits for the
	// peer, and while any write without src is in progress (see
	// session.stalledSince); cut once the session ended without grace: a
	// waiting write fails at once, a later one gets no time.
	blockedSince atomic.Int64
	cut          atomic.Bool
	// closeCode, when set, is the status of the close frame shutdown
	// sends instead of 1000: 1002 after a protocol violation, 1009 after
	// a message over MaxPayload.
	closeCode atomic.Int32
	// refused is set when the server stopped reading because it refused
	// what the client sent (a bad packet or frame, a message over
	// MaxPayload): the rest of it may still be arriving, so the close
	// lingers (see linger).
	refused atomic.Bool
	// libraryClosed is set when the websocket library's reader sent the
	// close frame itself (a message over its read limit): shutdown sends
	// none.
	libraryClosed atomic.Bool
	// lingering is set once shutdown sent the close frame and half-closed
	// the socket, leaving the rest to linger.
	lingering bool
	// maxMessage, when above zero, bounds the messages the library reads
	// (MaxPayload), also as they decompress (see readMessage).
	maxMessage int64
}

func newWSConn(conn *websocket.Conn) *wsConn {
	return &wsConn{conn: conn, raw: conn.NetConn()}
}

// appendFrameHeader appends an unmasked, final frame header.
func appendFrameHeader(dst []byte, op byte, n int) []byte {
	return appendFrameHeaderBits(dst, 0x80|op, n)
}

// appendFrameHeaderBits appends an unmasked frame header whose first byte
// (FIN, RSV bits, opcode) is b0, for a payload of n bytes.
func appendFrameHeaderBits(dst []byte, b0 byte, n int) []byte {
	dst = append(dst, b0)
	switch {
	case n < 126:
		return append(dst, byte(n))
	case n <= 0xffff:
		return append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127)
		return binary.BigEndian.AppendUint64(dst, uint64(n))
	}
}

// writePackets writes every packet as one frame each, all in one write.
func (w *wsConn) writePackets(items []outPacket, timeout time.Duration) error {
	if len(items) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	buf := w.buf[:0]
	response := w.response
	if response != nil {
		w.response = nil
		buf = *response
	}
	if need := framedSize(items); cap(buf)-len(buf) < need {
		// One allocation of the right size, not a few growing ones.
		buf = append(make([]byte, 0, len(buf)+need), buf...)
	}
	for _, p := range items {
		if w.b64 && p.binary && p.ctrl == 0 {
			p = outPacket{data: appendBase64Message(nil, p.data, w.eio3), plain: p.plain}
		}
		op := opText
		switch {
		case p.ctrl != 0:
			op = p.ctrl
		case p.binary:
			op = opBinary
		}
		if p.framed {
			buf = append(buf, p.data...)
			continue
		}
		if w.eio3 && p.binary && p.ctrl == 0 {
			buf = appendEIO3Binary(buf, p, w.deflateMin)
			continue
		}
		if w.deflateMin > 0 && p.ctrl == 0 && !p.plain && len(p.data) >= w.deflateMin {
			var ok bool
			if buf, ok = appendDeflatedFrame(buf, op, p.data); ok {
				continue
			}
		}
		buf = appendFrameHeader(buf, op, len(p.data))
		buf = append(buf, p.data...)
	}
	err := w.write(buf, timeout)
	if response != nil {
		releaseResponse(response, buf)
		return err
	}
	// Keep a modest buffer for the next burst; give big ones back.
	if cap(buf) > 64<<10 {
		buf = nil
	}
	w.buf = buf[:0]
	return err
}

// appendBase64Message appends a binary message as a client that asked for
// base64 gets it: "b", the packet type for Engine.IO v3, and the base64.
func appendBase64Message(dst, data []byte, eio3 bool) []byte {
	if !eio3 {
		return appendPollingBinary(dst, data)
	}
	dst = append(dst, 'b', eioMessage)
	return base64.StdEncoding.AppendEncode(dst, data)
}

// appendEIO3Binary appends the frame of a binary message to an Engine.IO
// v3 client: its packet type, then its data; compressed when deflateMin
// (see wsConn) allows and it shrinks.
func appendEIO3Binary(buf []byte, p outPacket, deflateMin int) []byte {
	if deflateMin > 0 && !p.plain && 1+len(p.data) >= deflateMin {
		typed := make([]byte, 0, 1+len(p.data))
		typed = append(append(typed, eioMessage-'0'), p.data...)
		if out, ok := appendDeflatedFrame(buf, opBinary, typed); ok {
			return out
		}
	}
	buf = appendFrameHeader(buf, opBinary, 1+len(p.data))
	buf = append(buf, eioMessage-'0')
	return append(buf, p.data...)
}

// framedSize is the length of items framed by writePackets, or a bit more
// (a v3 binary message takes a byte more).
func framedSize(items []outPacket) int {
	n := 0
	for _, p := range items {
		n += maxFrameHeader + 1 + len(p.data)
	}
	return n
}

// maxFrameHeader is the longest unmasked frame header.
const maxFrameHeader = 10

// writeResponse writes the 101 response if it is still to be written,
// with no deadline, as fasthttp writes it by default: it is the first
// write on the connection, and a socket's buffer takes it whole.
func (w *wsConn) writeResponse() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	response := w.response
	if response == nil {
		return nil
	}
	w.response = nil
	_, err := w.raw.Write(*response)
	releaseResponse(response, *response)
	return err
}

// write writes buf within timeout (none left when it is not positive).
// w.mu is held.
//
// A deadline costs a runtime timer update to set and another to clear, so
// on a plain TCP socket (src) the write is first tried without blocking:
// it usually fits in the socket's buffer, and then no deadline is touched.
// Only what does not fit is written with a deadline, cleared afterwards so
// it cannot fail a later write.
func (w *wsConn) write(buf []byte, timeout time.Duration) error {
	if w.src == nil {
		now := time.Now()
		if timeout > 0 {
			// Moving the deadline costs a timer update: do it only when
			// less than half of the allowance is left. Every write is
			// preceded by this check, so a deadline left behind never
			// fails a later write.
			if w.deadline.Sub(now) < timeout/2 {
				w.deadline = now.Add(timeout)
				_ = w.raw.SetWriteDeadline(w.deadline)
			}
		}
		w.blockedSince.Store(monoAt(now))
		_, err := w.raw.Write(buf)
		w.blockedSince.Store(0)
		return err
	}
	n, err := w.src.tryWrite(buf)
	if err == nil && n == len(buf) {
		return nil
	}
	if err != nil && err != syscall.EAGAIN {
		return err
	}
	if timeout <= 0 {
		return os.ErrDeadlineExceeded // no time left to wait for the peer
	}
	now := time.Now()
	w.blockedSince.Store(monoAt(now))
	defer w.blockedSince.Store(0)
	_ = w.raw.SetWriteDeadline(now.Add(timeout))
	if w.cut.Load() {
		_ = w.raw.SetWriteDeadline(time.Now())
	}
	if _, err = w.raw.Write(buf[n:]); err != nil {
		return err
	}
	_ = w.raw.SetWriteDeadline(time.Time{})
	return nil
}

// cutWrites makes a write in progress fail at once, and later ones fail
// rather than wait for the peer (the session ended without grace).
func (w *wsConn) cutWrites() {
	if w.src == nil {
		_ = w.raw.SetWriteDeadline(time.Now())
		return
	}
	w.cut.Store(true)
	if w.blockedSince.Load() != 0 {
		_ = w.raw.SetWriteDeadline(time.Now())
	}
}

// shutdown sends a normal close frame (when timeout > 0) and closes the
// connection, which ends the reader.
func (w *wsConn) shutdown(timeout time.Duration) {
	w.closeOnce.Do(func() {
		if timeout > 0 {
			w.mu.Lock()
			w.deadline = time.Time{} // a hard close may have moved it to the past
			w.mu.Unlock()
			code := int(w.closeCode.Load())
			if code == 0 {
				code = fws.CloseNormalClosure
			}
			var err error
			if !w.libraryClosed.Load() {
				msg := fws.FormatCloseMessage(code, "")
				err = w.writePackets([]outPacket{{data: msg, ctrl: opClose}}, timeout)
			}
			if err == nil && w.refused.Load() && w.closeWrite() {
				w.lingering = true
				return // linger reads the rest, then closes
			}
		}
		_ = w.raw.Close()
	})
}

// lingerTimeout bounds how long linger reads what a refused client still
// sends after the close frame.
const lingerTimeout = 2 * time.Second

// lingerMaxBytes bounds how much linger reads and discards.
const lingerMaxBytes = 64 << 20

// closeWrite half-closes the TCP connection, a FIN after the close frame;
// false when it is not a plain TCP socket as this package knows it (TLS,
// say), which is then closed at once.
func (w *wsConn) closeWrite() bool {
	tcp, ok := w.tcpConn()
	return ok && tcp.CloseWrite() == nil
}

// tcpConn returns the TCP socket under the hijacked connection.
func (w *wsConn) tcpConn() (*net.TCPConn, bool) {
	if w.src != nil {
		tcp, ok := w.src.tcp.(*net.TCPConn)
		return tcp, ok
	}
	u, ok := w.raw.(interface{ UnsafeConn() net.Conn })
	if !ok {
		return nil, false
	}
	tcp, ok := u.UnsafeConn().(*net.TCPConn)
	return tcp, ok
}

// linger ends a shutdown that sent its close frame after the server
// refused what the client sent (see refused): it reads and discards what
// still arrives until the client closes its side, lingerTimeout passes or
// lingerMaxBytes were read, and then closes the connection. Closing a
// socket with bytes unread would answer them with a TCP reset, and a reset
// can destroy the close frame (and its status, 1009 say) before the client
// reads it; Node's ws server reads on after its close frame for the same
// reason. linger runs on the session's worker once the session has ended;
// abort (Shutdown) cuts it short by closing the connection.
func (w *wsConn) linger() {
	if !w.lingering {
		return
	}
	w.lingering = false
	defer func() { _ = w.raw.Close() }()
	if w.raw.SetReadDeadline(time.Now().Add(lingerTimeout)) != nil {
		return
	}
	bp := frameReadBuffers.Get().(*[]byte)
	defer frameReadBuffers.Put(bp)
	for read := 0; read < lingerMaxBytes; {
		n, err := w.raw.Read(*bp)
		read += n
		if err != nil {
			return
		}
	}
}

// readLoop reads messages until the connection fails, passing each
// Engine.IO packet to the session.
func (s *session) readLoop(w *wsConn) {
	if w.fr != nil {
		s.readFrames(w)
		return
	}
	conn := w.conn
	requestReader := true // fasthttp's request reader may still be in use
	for {
		mt, r, err := conn.NextReader()
		if err != nil {
			s.endLibraryRead(w, err)
			return
		}
		data, err := readMessage(r, w.maxMessage)
		if errors.Is(err, ErrMessageTooLarge) {
			s.endReading(w, err, false)
			return
		}
		if err != nil {
			s.endLibraryRead(w, err)
			return
		}
		if requestReader {
			requestReader = !w.dropRequestReader()
		}
		if err := s.receiveFrame(mt, data); err != nil {
			w.refused.Store(true)
			s.cfg.log("warn", "closing session on bad packet", "sid", s.sid, "remote", s.remoteAddr(), "error", err.Error())
			s.closeOnReader(err)
			return
		}
	}
}

// endLibraryRead closes the session on w when the websocket library's
// reader failed with err. After a message over the read limit (1009) or a
// frame breaking the protocol (1002) the library has sent its close frame,
// so the session sends none, and the rest of what the client sent may
// still be arriving: the close lingers (see wsConn.linger).
func (s *session) endLibraryRead(w *wsConn, err error) {
	reason := wsReadReason(err)
	switch reason {
	case ErrMessageTooLarge:
		w.libraryClosed.Store(true)
		w.refused.Store(true)
	case ErrWebSocketProtocol:
		// The library has sent its close frame (1002); the rest of what
		// the client sent is read and dropped before the close.
		w.libraryClosed.Store(true)
		w.refused.Store(true)
		s.cfg.log("warn", "closing session on bad WebSocket frame", "sid", s.sid, "remote", s.remoteAddr(), "error", err.Error())
	}
	s.closeOnReader(reason)
}

// dropRequestReader lets fasthttp's request reader go when the library
// reads the connection (TLS, compression) and the reader holds nothing
// (see dropHijackBuffer). It runs on the reader between messages, and
// reports whether there is nothing left to try: the reader is gone, or
// the connection is not fasthttp's as this package knows it.
func (w *wsConn) dropRequestReader() bool {
	u, ok := w.raw.(interface{ UnsafeConn() net.Conn })
	if !ok || hijackReaderSlot(w.raw) == nil {
		return true
	}
	return dropHijackBuffer(w.raw, u.UnsafeConn())
}

// readFrames is readLoop with the server's own frame reader.
func (s *session) readFrames(w *wsConn) {
	var badPacket error
	err := w.src.run(w.fr, func(m wsMessage) error {
		badPacket = s.receiveFrame(messageType(m.op), m.data)
		return badPacket
	})
	s.endReading(w, err, badPacket != nil)
}

// readHandshake reads, with the server's frame reader, until the client
// has connected a namespace, and reports whether the session is still
// open then. The connection's reader then goes on in a goroutine of its
// own (engine.serveConn): the handshake (namespace middlewares, the New
// callback) grows the stack of the goroutine it runs on, and a goroutine's
// stack stays at its largest size while more than a quarter of it is in
// use, so an idle connection waiting on that one would keep a stack twice
// the size it needs.
func (s *session) readHandshake(w *wsConn) bool {
	c, ok := s.handler.(interface{ connected() bool })
	if !ok {
		// A handler with no handshake of its own (the Engine.IO echo of
		// the conformance suite): the read loop takes it all.
		return !s.closed()
	}
	for !c.connected() {
		m, err := w.fr.next()
		if err != nil {
			s.endReading(w, err, false)
			return false
		}
		if err := s.receiveFrame(messageType(m.op), m.data); err != nil {
			s.endReading(w, err, true)
			return false
		}
	}
	return !s.closed()
}

// messageType is the websocket library's message type for an opcode.
func messageType(op byte) int {
	if op == opBinary {
		return fws.BinaryMessage
	}
	return fws.TextMessage
}

// endReading closes the session on w when reading ended with err;
// badPacket is set when err came from a packet the session refused.
func (s *session) endReading(w *wsConn, err error, badPacket bool) {
	switch {
	case badPacket:
		w.refused.Store(true)
		s.cfg.log("warn", "closing session on bad packet", "sid", s.sid, "remote", s.remoteAddr(), "error", err.Error())
	case errors.Is(err, ErrWebSocketProtocol), errors.Is(err, ErrMessageTooLarge):
		code := int32(fws.CloseProtocolError)
		if errors.Is(err, ErrMessageTooLarge) {
			code = fws.CloseMessageTooBig
		}
		w.closeCode.Store(code)
		w.refused.Store(true)
		s.cfg.log("warn", "closing session on bad WebSocket frame", "sid", s.sid, "remote", s.remoteAddr(), "error", err.Error())
	default:
		err = wsReadReason(err)
	}
	s.closeOnReader(err)
}

// readMessage reads one message from w, with the server's frame reader
// when it has one.
func (w *wsConn) readMessage() (int, []byte, error) {
	if w.fr == nil {
		mt, r, err := w.conn.NextReader()
		if err != nil {
			return 0, nil, err
		}
		data, err := readMessage(r, w.maxMessage)
		return mt, data, err
	}
	m, err := w.fr.next()
	if err != nil {
		return 0, nil, err
	}
	return messageType(m.op), m.data, nil
}

// receiveFrame handles one WebSocket message: a binary message is one
// Engine.IO binary packet; a text message holds one or more (0x1E
// separated, at most MaxBatchPackets) text packets, among which a binary
// packet in base64 ("b" and the base64, as a client with forceBase64
// sends it on WebSocket too).
func (s *session) receiveFrame(mt int, data []byte) error {
	if mt == fws.BinaryMessage {
		if s.eio3 {
			// v3: the packet type comes first, and only a message may
			// be binary.
			if len(data) == 0 || data[0] != eioMessage-'0' {
				return ErrInvalidPacket
			}
			data = data[1:]
		}
		return s.received(eioMessage, data, true)
	}
	if bytes.IndexByte(data, recordSeparator) < 0 {
		return s.receiveText(data)
	}
	packets, err := splitPayload(data, s.cfg.MaxBatchPackets)
	if err != nil {
		return ErrBatchPacketsExceeded
	}
	for _, p := range packets {
		if err := s.receiveText(p); err != nil {
			return err
		}
	}
	return nil
}

// receiveText handles one text packet of a WebSocket message.
func (s *session) receiveText(p []byte) error {
	if len(p) > 0 && p[0] == 'b' {
		if s.eio3 {
			bp, err := decodeEIO3Text(p)
			if err != nil {
				return err
			}
			return s.received(bp.typ, bp.data, bp.binary)
		}
		typ, body, binary, err := decodePollingPacket(p)
		if err != nil {
			return err
		}
		return s.received(typ, body, binary)
	}
	typ, body, err := decodeTextPacket(p)
	if err != nil {
		return err
	}
	return s.received(typ, body, false)
}

// readBuffers holds the scratch buffers messages are read into, so an idle
// connection keeps none.
var readBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readMessage reads one message into a pooled buffer and returns an
// exactly sized copy, which listeners may keep. A message longer than
// limit bytes (when limit is above zero) fails with ErrMessageTooLarge
// once limit+1 bytes were read: the websocket library's read limit counts
// the bytes of the frames, so a compressed message (permessage-deflate)
// could otherwise inflate to any size.
func readMessage(r io.Reader, limit int64) ([]byte, error) {
	buf := readBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 64<<10 {
			readBuffers.Put(buf)
		}
	}()
	if limit > 0 {
		r = &io.LimitedReader{R: r, N: limit + 1}
	}
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	if limit > 0 && int64(buf.Len()) > limit {
		return nil, ErrMessageTooLarge
	}
	return bytes.Clone(buf.Bytes()), nil
}

// wsReadReason turns a read error into a disconnect reason: a clean close
// frame (1000, 1001, no status) is a client close; a read limit breach is
// reported as such; anything else is the transport closing.
func wsReadReason(err error) error {
	if ce := closeErrorOf(err); ce != nil {
		switch ce.Code {
		case fws.CloseNormalClosure, fws.CloseGoingAway, fws.CloseNoStatusReceived:
			return errClientClose
		}
		return ErrTransportClosed
	}
	if errors.Is(err, fws.ErrReadLimit) {
		return ErrMessageTooLarge
	}
	if libraryProtocolError(err) {
		return ErrWebSocketProtocol
	}
	return ErrTransportClosed
}

// libraryProtocolError reports whether err is the websocket library's
// report of a frame that breaks the protocol (reserved bits or opcode, an
// unmasked frame, a bad control or continuation frame, a bad close code).
// The library has then sent its close frame (1002). It makes these errors
// with errors.New and the prefix "websocket: ", so they are told by their
// text; its other read errors are close errors, the network's, and
// sentinels, of which only ErrReadLimit and ErrCloseSent have that prefix.
func libraryProtocolError(err error) bool {
	return err != fws.ErrReadLimit && err != fws.ErrCloseSent && strings.HasPrefix(err.Error(), "websocket: ")
}

// closeErrorOf is errors.As for a *fws.CloseError, without the
// allocation of its target: every connection ends through here.
func closeErrorOf(err error) *fws.CloseError {
	switch e := err.(type) {
	case *fws.CloseError:
		return e
	case interface{ Unwrap() error }:
		return closeErrorOf(e.Unwrap())
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			if ce := closeErrorOf(inner); ce != nil {
				return ce
			}
		}
	}
	return nil
}

// ErrMessageTooLarge is the disconnect reason when a WebSocket message
// exceeded MaxPayload.
var ErrMessageTooLarge = errors.New("socketio: message exceeds MaxPayload")

// prepareConn routes the library's control-frame replies through the
// session's queue, so the worker stays the only writer.
func (s *session) prepareConn(w *wsConn) {
	conn := w.conn
	w.eio3 = s.eio3
	if s.cfg.MaxPayload > 0 {
		conn.SetReadLimit(s.cfg.MaxPayload)
		w.maxMessage = s.cfg.MaxPayload
	}
	onPing := func(data []byte) {
		s.q.pushControl(outPacket{data: data, ctrl: opPong})
		if h, ok := s.handler.(interface{ onWSPing([]byte) }); ok {
			h.onWSPing(data)
		}
	}
	if s.eng.ownReader {
		if src := newSocketSource(w.raw); src != nil {
			w.src = src
			w.fr = &frameReader{read: src.read, limit: s.cfg.MaxPayload, onPing: onPing}
			return // the library reads nothing: its handlers would never run
		}
	}
	conn.SetPingHandler(func(data string) error {
		onPing([]byte(data))
		return nil
	})
	conn.SetPongHandler(func(string) error { return nil })
	conn.SetCloseHandler(func(int, string) error { return nil })
}

// serveUpgrade completes a polling-to-WebSocket upgrade on conn: it answers
// the probe, releases the pending GET, and switches the session on the
// client's UPGRADE packet. It returns false when the probe failed.
func (s *session) serveUpgrade(w *wsConn) bool {
	conn := w.conn
	deadline := time.Now().Add(s.cfg.UpgradeTimeout)
	_ = conn.SetReadDeadline(deadline)
	mt, data, err := w.readMessage()
	if err != nil || mt != fws.TextMessage || string(data) != "2probe" {
		return false
	}
	if err := w.writePackets([]outPacket{{data: []byte("3probe")}}, time.Until(deadline)); err != nil {
		return false
	}
	s.upgrading.Store(true)
	select {
	case s.pollWake <- struct{}{}:
	default:
	}
	for {
		mt, data, err = w.readMessage()
		if err != nil || mt != fws.TextMessage {
			return false
		}
		switch string(data) {
		case "5":
			_ = conn.SetReadDeadline(time.Time{})
			return s.upgradeTo(w)
		case "6":
			continue // a NOOP while the client pauses polling
		default:
			return false
		}
	}
}
