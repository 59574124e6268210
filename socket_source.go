package socketio

import (
	"io"
	"net"
	"syscall"
)

// socketSource reads a hijacked connection for a frameReader: through
// fasthttp's buffered reader while that may hold bytes, then straight from
// the TCP socket.
//
// Its run loop stays inside one syscall.RawConn.Read: after a read that
// came back short of its buffer the socket was drained, so it waits for the
// socket to become readable again instead of trying a read that would fail
// with EAGAIN first, as a net.Conn read does (the runtime keeps the
// readiness that arrives meanwhile, so none is missed). That is one system
// call less per message, and no read buffer is held while the connection
// idles.
type socketSource struct {
	// What each read by run and each tryWrite touch comes first, in one
	// cache line, and the write's buffer and error in the next (see
	// session).
	rc syscall.RawConn
	// run's state, for its read callback (readable).
	fr      *frameReader
	deliver func(wsMessage) error
	result  error
	// tryWrite's state, for its write callback (writeOnce, made once).
	writeOnce func(fd uintptr) bool
	wn        int
	wp        []byte
	werr      error

	hj  net.Conn // fasthttp's hijacked connection
	tcp net.Conn // the socket under it
	// viaHJ: fasthttp's reader may still hold bytes that arrived with
	// the upgrade request. A read through it that returns less than was
	// asked has emptied it.
	viaHJ bool

	// read's state, for its read callback (readOnce, made at the first
	// read: most connections read only through run).
	rp       []byte
	rn       int
	rerr     error
	readOnce func(fd uintptr) bool

	// grown is set once run grew its goroutine's stack (see growStack);
	// until then readable hands the first bytes it reads to run in
	// first, firstBP and firstN, instead of parsing them itself.
	grown   bool
	first   []byte
	firstBP *[]byte
	firstN  int
}

// newSocketSource returns a source for the hijacked connection hj, or nil
// when it is not a plain TCP socket underneath (TLS, say), which is then
// read through the websocket library.
func newSocketSource(hj net.Conn) *socketSource {
	u, ok := hj.(interface{ UnsafeConn() net.Conn })
	if !ok {
		return nil
	}
	tcp, ok := u.UnsafeConn().(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tcp.SyscallConn()
	if err != nil {
		return nil
	}
	s := &socketSource{hj: hj, tcp: tcp, rc: rc, viaHJ: true}
	s.writeOnce = s.writeFD
	s.leaveHJ()
	return s
}

// leaveHJ stops reading through fasthttp's buffered reader once it holds
// nothing, and lets that reader go (see dropHijackBuffer).
func (s *socketSource) leaveHJ() {
	if dropHijackBuffer(s.hj, s.tcp) {
		s.viaHJ = false
	}
}

// tryWrite writes what of p the socket takes without waiting; err is
// syscall.EAGAIN when it took nothing. Writes are serialized by the
// caller (wsConn.mu).
func (s *socketSource) tryWrite(p []byte) (int, error) {
	s.wp, s.wn, s.werr = p, 0, nil
	err := s.rc.Write(s.writeOnce)
	n, werr := s.wn, s.werr
	s.wp, s.werr = nil, nil
	if err != nil {
		return 0, err
	}
	return n, werr
}

// writeFD is tryWrite's callback: one write(2) (writeSocket).
func (s *socketSource) writeFD(fd uintptr) bool {
	n, err := writeSocket(fd, s.wp)
	s.wn, s.werr = max(n, 0), err
	return true
}

// read reads into p, as a net.Conn does (for frameReader.next).
func (s *socketSource) read(p []byte) (int, error) {
	if s.viaHJ {
		n, err := s.hj.Read(p)
		if n < len(p) {
			// fasthttp's reader is empty: read the socket from now on.
			s.viaHJ = false
			dropHijackBuffer(s.hj, s.tcp)
		}
		return n, err
	}
	if s.readOnce == nil {
		s.readOnce = s.readInto
	}
	s.rp, s.rn, s.rerr = p, 0, nil
	err := s.rc.Read(s.readOnce)
	n, rerr := s.rn, s.rerr
	s.rp, s.rerr = nil, nil
	if err == nil {
		err = rerr
	}
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// readInto is read's callback: one read(2) into s.rp, or false to wait
// until the socket is readable.
func (s *socketSource) readInto(fd uintptr) bool {
	s.rn, s.rerr = readSocket(fd, s.rp)
	return s.rerr != syscall.EAGAIN
}

// run reads messages until the connection fails or deliver returns an
// error, passing each to deliver (messages fr already holds first). It
// returns the error that ended it. A frame that ended reading (a CLOSE, a
// protocol violation) and came in the same read as the last message of
// the handshake or the upgrade ends it at once: waiting for the socket
// would wait for bytes the client will not send.
//
// Its state lives in s, not in closures: they would stay on the heap,
// held by the parked read, for as long as the connection idles.
func (s *socketSource) run(fr *frameReader, deliver func(wsMessage) error) error {
	s.fr, s.deliver, s.result = fr, deliver, nil
	defer func() { s.fr, s.deliver = nil, nil }()
	if err := s.flush(); err != nil {
		return err
	}
	if fr.err != nil {
		return fr.err
	}
	for s.viaHJ {
		if err := fr.fill(); err != nil {
			return err
		}
		if err := s.flush(); err != nil {
			return err
		}
	}
	for {
		err := s.rc.Read(s.readable)
		if s.first == nil {
			if s.result == nil {
				s.result = err
			}
			return s.result
		}
		// The connection's first bytes: grow the stack here, where it
		// holds a few frames, then parse them.
		s.grown = true
		growStack()
		buf, bp, n := s.first, s.firstBP, s.firstN
		s.first, s.firstBP = nil, nil
		perr := fr.consume(buf, bp, n)
		if err := s.flush(); err != nil {
			return err
		}
		if perr != nil {
			return perr
		}
	}
}

// growStack grows the calling goroutine's stack from 2 KiB to 4 KiB, by
// the size of its frame, when it is called near the top of a goroutine.
// A copy of the stack costs about half a microsecond per frame on it (each
// frame's pointers are found and moved): the reader's first message made
// the runtime grow it twelve frames down, in the frame parser, and the
// handshake four frames down, in fasthttp's response serialization, while
// here it holds one to four. Nothing grows that did not grow before: the
// reader calls it at its first message, and a connection that never sends
// one keeps its reader at 2 KiB.
//
//go:noinline
func growStack() {
	var frame [growStackFrame]byte
	keepFrame(&frame)
}

// keepFrame keeps growStack's frame from being optimized away.
//
//go:noinline
func keepFrame(*[growStackFrame]byte) {}

// growStackFrame is growStack's frame: more than a 2 KiB stack has left
// above the frames it is called under, less than what would make the
// runtime go to 8 KiB.
const growStackFrame = 2048

// flush delivers the messages the frame reader holds.
func (s *socketSource) flush() error {
	for {
		m, ok := s.fr.take()
		if !ok {
			return nil
		}
		if err := s.deliver(m); err != nil {
			return err
		}
	}
}

// readable is run's syscall.RawConn.Read callback: it reads and delivers
// until the socket is drained (false: wait until readable) or the
// connection ends (true, with s.result set).
func (s *socketSource) readable(fd uintptr) bool {
	fr := s.fr
	for {
		buf, bp := fr.readBuffer()
		n, rerr := readSocket(fd, buf)
		if rerr != nil || n == 0 {
			_ = fr.consume(buf, bp, 0)
			switch {
			case rerr == syscall.EAGAIN:
				return false // wait until readable
			case rerr == nil:
				s.result = io.EOF
			default:
				s.result = rerr
			}
			return true
		}
		if !s.grown {
			s.first, s.firstBP, s.firstN = buf, bp, n
			return true // run parses them, after growStack
		}
		perr := fr.consume(buf, bp, n)
		// The messages parsed before a bad frame are delivered.
		if s.result = s.flush(); s.result != nil {
			return true
		}
		if perr != nil {
			s.result = perr
			return true
		}
		if n < len(buf) {
			// Drained: wait until readable, without a read that would
			// only say EAGAIN.
			return false
		}
	}
}
