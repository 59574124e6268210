//go:build !unix

package socketio

import "errors"

// rawSocketIO is false where the runtime does not do socket I/O with
// read(2) and write(2) on a descriptor (Windows): there every WebSocket is
// read and written through the websocket library, as over TLS or with
// compression, and no socketSource is made.
const rawSocketIO = false

// errNoRawSocketIO is what writeSocket and readSocket return; with
// rawSocketIO false nothing calls them.
var errNoRawSocketIO = errors.New("socketio: no raw socket I/O on this system")

func writeSocket(uintptr, []byte) (int, error) { return 0, errNoRawSocketIO }

func readSocket(uintptr, []byte) (int, error) { return 0, errNoRawSocketIO }
