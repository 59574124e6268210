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
	hj net.Conn // fasthttp's hijacked connection
	rc syscall.RawConn
	// viaHJ: fasthttp's reader may still hold bytes that arrived with
	// the upgrade request. A read through it that returns less than was
	// asked has emptied it.
	viaHJ bool
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
	return &socketSource{hj: hj, rc: rc, viaHJ: true}
}

// read reads into p, as a net.Conn does (for frameReader.next).
func (s *socketSource) read(p []byte) (int, error) {
	if s.viaHJ {
		n, err := s.hj.Read(p)
		if n < len(p) {
			s.viaHJ = false
		}
		return n, err
	}
	var (
		n    int
		rerr error
	)
	err := s.rc.Read(func(fd uintptr) bool {
		n, rerr = readFD(fd, p)
		return rerr != syscall.EAGAIN
	})
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

// readFD is read(2), retried on EINTR.
func readFD(fd uintptr, p []byte) (int, error) {
	for {
		n, err := syscall.Read(int(fd), p)
		if err != syscall.EINTR {
			return n, err
		}
	}
}

// run reads messages until the connection fails or deliver returns an
// error, passing each to deliver (messages fr already holds first). It
// returns the error that ended it.
func (s *socketSource) run(fr *frameReader, deliver func(wsMessage) error) error {
	flush := func() error {
		for {
			m, ok := fr.take()
			if !ok {
				return nil
			}
			if err := deliver(m); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	for s.viaHJ {
		if err := fr.fill(); err != nil {
			return err
		}
		if err := flush(); err != nil {
			return err
		}
	}
	var result error
	err := s.rc.Read(func(fd uintptr) bool {
		for {
			buf, bp := fr.readBuffer()
			n, rerr := readFD(fd, buf)
			if rerr != nil || n == 0 {
				_ = fr.consume(buf, bp, 0)
				switch {
				case rerr == syscall.EAGAIN:
					return false // wait until readable
				case rerr == nil:
					result = io.EOF
				default:
					result = rerr
				}
				return true
			}
			perr := fr.consume(buf, bp, n)
			// The messages parsed before a bad frame are delivered.
			if result = flush(); result != nil {
				return true
			}
			if perr != nil {
				result = perr
				return true
			}
			if n < len(buf) {
				// Drained: wait until readable, without a read that
				// would only say EAGAIN.
				return false
			}
		}
	})
	if result == nil {
		result = err
	}
	return result
}
