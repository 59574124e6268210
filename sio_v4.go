package socketio

// Socket.IO protocol v4, spoken by the clients of Engine.IO v3
// (AllowEIO3): socket.io-client 1.x and 2.x. It differs from v5 in the
// handshake only, as the Node server serves it:
//   - the client is connected to the main namespace as soon as the
//     Engine.IO session opens, without a CONNECT of its own;
//   - a CONNECT carries its auth as the query of the namespace name
//     ("0/admin?token=abc,"), which becomes the socket's auth, a JSON
//     object of strings;
//   - the CONNECT reply carries no payload, and a socket's id is the
//     session id, prefixed with the namespace and "#" but on the main
//     namespace (as the client computes it);
//   - a refused CONNECT gets an ERROR packet whose payload is the
//     middleware error's data, or its message as a JSON string.

import (
	"encoding/json"
	"net/url"
	"strings"
)

// msgInvalidNamespace is the CONNECT_ERROR message for a namespace not
// served.
const msgInvalidNamespace = "Invalid namespace"

// onOpenEIO3 connects a v3 client to the main namespace.
func (c *client) onOpenEIO3() {
	c.connect(sioPacket{Type: sioConnect, Nsp: "/"})
}

// v4Connect turns a v4 CONNECT into a v5 one: the namespace's query
// becomes the auth object (the last value of a repeated key wins, as in
// the Node server).
func v4Connect(pkt sioPacket) sioPacket {
	name, query, ok := strings.Cut(pkt.Nsp, "?")
	pkt.Nsp = name
	pkt.Data = nil
	if !ok || query == "" {
		return pkt
	}
	values, err := url.ParseQuery(query)
	auth := make(map[string]string, len(values))
	for k, v := range values {
		auth[k] = v[len(v)-1]
	}
	if err != nil && len(auth) == 0 {
		return pkt
	}
	pkt.Data, _ = json.Marshal(auth)
	return pkt
}

// v4SocketID is the id of a v3 client's socket, as the client computes it.
func v4SocketID(nsp, sid string) string {
	if nsp == "/" {
		return sid
	}
	return nsp + "#" + sid
}

// appendV4Connect appends a v4 CONNECT reply: no payload.
func appendV4Connect(dst []byte, nsp string) []byte {
	return appendSIOHeader(dst, sioConnect, nsp, 0, 0, false)
}

// appendV4ConnectError appends a v4 ERROR answering a CONNECT: data when
// given, the message as a JSON string otherwise; for a namespace not
// served, an object with the message, as the Node server sends it.
func appendV4ConnectError(dst []byte, nsp, message string, data []byte) []byte {
	if message == msgInvalidNamespace && data == nil {
		return appendConnectError(dst, nsp, message, nil)
	}
	dst = appendSIOHeader(dst, sioConnectError, nsp, 0, 0, false)
	if len(data) > 0 {
		return appendArg(dst, data)
	}
	return appendQuoted(dst, message)
}
