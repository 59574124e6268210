//go:build unix

package socketio

import "syscall"

// rawSocketIO: on Unix systems a WebSocket session reads and writes its
// TCP socket itself, with read(2) and write(2) on the descriptor (see
// socketSource).
const rawSocketIO = true

// writeSocket is write(2) on the socket fd, retried on EINTR only.
func writeSocket(fd uintptr, p []byte) (int, error) {
	for {
		n, err := syscall.Write(int(fd), p)
		if err != syscall.EINTR {
			return n, err
		}
	}
}

// readSocket is read(2) on the socket fd, retried on EINTR only.
func readSocket(fd uintptr, p []byte) (int, error) {
	for {
		n, err := syscall.Read(int(fd), p)
		if err != syscall.EINTR {
			return n, err
		}
	}
}
