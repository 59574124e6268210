package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"
)

// This file is the contract between a namespace and the store of its rooms.
// The in-memory Adapter (adapter_memory.go) serves one process; a multi-node
// adapter (for instance one speaking the protocol of Node's
// @socket.io/redis-adapter) implements the same interface in its own module
// and forwards Packet and BroadcastOptions to the other nodes, which deliver
// locally through their AdapterHost.

// Errors of rooms, operators and adapters.
var (
	// ErrBroadcastAckTimeout is passed to a BroadcastOperator.EmitWithAck
	// callback when some receivers did not acknowledge in time; the error
	// wrapping it says how many.
	ErrBroadcastAckTimeout = errors.New("socketio: broadcast ack timeout")
	// ErrNoAdapter is returned by an operator whose namespace has no
	// adapter (a dynamic parent namespace with no child yet has nothing to
	// address, so this is only returned by a faulty AdapterFactory).
	ErrNoAdapter = errors.New("socketio: namespace has no adapter")
	// ErrAdapterTimeout is wrapped by the errors of requests that a
	// multi-node adapter sent to the other nodes and that some nodes did
	// not answer in time (FetchSockets, ServerSideEmitWithAck).
	ErrAdapterTimeout = errors.New("socketio: adapter request timeout")
)

// BroadcastFlags are the modifiers of a broadcast, as set by the operator.
type BroadcastFlags struct {
	// Volatile drops the packet for a receiver that cannot take it now (its
	// send queue is full, or it is on polling with no GET waiting) instead
	// of queueing it or disconnecting the receiver.
	Volatile bool
	// Local restricts the broadcast to this node (meaningful for multi-node
	// adapters only).
	Local bool
	// NoCompress is set by Compress(false) (and cleared by Compress(true)):
	// the packet is never sent in a compressed WebSocket frame, and a
	// polling response holding only such packets is not compressed. By
	// default packets may be compressed, as in the Node server (see
	// PerMessageDeflateThreshold and HTTPCompressionThreshold).
	NoCompress bool
	// Timeout bounds EmitWithAck and remote requests (FetchSockets on a
	// multi-node adapter); zero means the server's OutboundAckTimeout.
	Timeout time.Duration
}

// BroadcastOptions select the receivers of a broadcast or a socket
// operation: the sockets in any of Rooms (every socket of the namespace
// when Rooms is empty) that are in none of Except.
type BroadcastOptions struct {
	Rooms  []string
	Except []string
	Flags  BroadcastFlags
}

// Packet is a Socket.IO EVENT as a broadcast carries it, before encoding:
// what a multi-node adapter forwards to the other nodes.
type Packet struct {
	// Nsp is the namespace name, e.g. "/" or "/admin".
	Nsp string
	// Event is the event name.
	Event string
	// Args are the event arguments, one raw JSON value each (text that is
	// not valid JSON is sent as a JSON string).
	Args [][]byte
	// Attachments are binary attachments; Args reference them with
	// {"_placeholder":true,"num":i} values. A packet with attachments is
	// sent as a BINARY_EVENT.
	Attachments [][]byte
	// ID is the ack id when HasID is set (EmitWithAck).
	ID    uint64
	HasID bool
	// Offset, set by the namespace when connection-state recovery is on
	// and the packet is neither volatile nor with an ack, is appended as
	// the last argument; adapters store such packets for the sessions they
	// persist (see SessionAwareAdapter). The namespace's offsets are
	// base-36 numbers; a PacketStore replaces them with its own.
	Offset string
}

// EncodedPacket is a Packet encoded once for every receiver: Text is the
// complete Engine.IO message ("42[...]"), followed by the binary
// Attachments. The bytes are shared by every receiver's queue and must not
// be modified.
type EncodedPacket struct {
	Text        []byte
	Attachments [][]byte
	// ID and HasID repeat the packet's ack id, for AdapterHost.Deliver.
	ID    uint64
	HasID bool
	// Offset repeats the packet's recovery offset ("" when it has none).
	Offset string
	off    uint64
	// deflated is the compressed frame of Text, made once for every
	// receiver that takes it compressed.
	deflated deflatedFrame
	// parsed is the packet as the server's Parser encodes it, made once
	// for every receiver (allocated then: most servers have no Parser).
	parsed atomic.Pointer[parsedPacket]
}

// Encode encodes the packet once.
func (p *Packet) Encode() *EncodedPacket {
	buf := packetBuf(p.Nsp, p.Event, p.Args, len(p.Offset))
	enc := &EncodedPacket{
		Text:        appendEventPacket(buf, p.Nsp, p.ID, p.HasID, p.Event, p.Args, len(p.Attachments)),
		Attachments: p.Attachments,
		ID:          p.ID,
		HasID:       p.HasID,
	}
	if p.Offset != "" && !p.HasID {
		if off, ok := parseOffset(p.Offset); ok {
			enc.Text = appendOffset(enc.Text, off)
			enc.Offset, enc.off = p.Offset, off
		} else if validExternalOffset(p.Offset) {
			enc.Text = appendOffsetString(enc.Text, p.Offset) // a PacketStore's
			enc.Offset = p.Offset
		}
	}
	return enc
}

// RemoteSocket describes a socket matched by FetchSockets: on this node
// Local returns the live socket; a multi-node adapter also returns sockets
// of other nodes, which the methods address through the adapter.
type RemoteSocket struct {
	// ID is the socket id (socket.id on the client).
	ID string
	// Rooms are the rooms the socket was in when fetched, its own id
	// included, sorted.
	Rooms []string
	// Handshake describes the request that opened the socket's connection
	// (socket.handshake of a Node socket).
	Handshake Handshake
	// Data is the socket's attributes as a JSON object (socket.data of a
	// Node socket, whatever JSON value that holds). Attributes that cannot
	// be marshalled are left out.
	Data json.RawMessage

	nsp *Namespace
	kws *Websocket
}

// Handshake describes the request that opened a socket's connection, as
// Node's socket.handshake does: the first polling request, or the
// WebSocket upgrade request of a session that started on WebSocket.
type Handshake struct {
	// Headers are the request headers, names lower-cased.
	Headers map[string]string `json:"headers"`
	// Time is when the socket connected, as JavaScript's Date.toString
	// writes it.
	Time string `json:"time"`
	// Address is the client's IP address.
	Address string `json:"address"`
	// XDomain reports a cross-origin request (an Origin header was sent).
	XDomain bool `json:"xdomain"`
	// Secure reports a TLS connection.
	Secure bool `json:"secure"`
	// Issued is Time in milliseconds since the Unix epoch.
	Issued int64 `json:"issued"`
	// URL is the request URL (path and query).
	URL string `json:"url"`
	// Query is the request's query string.
	Query map[string]string `json:"query"`
	// Auth is the client's auth payload (raw JSON, null when none).
	Auth json.RawMessage `json:"auth"`
}

// AdapterHost is the narrow view of a namespace an Adapter delivers
// through. Adapters receive it from the AdapterFactory.
type AdapterHost interface {
	// Name returns the namespace name.
	Name() string
	// Deliver queues pkt for the local socket id and reports whether it
	// was queued (false when the socket is not connected here, or when a
	// volatile packet was dropped). When pkt.HasID is set and ack is not
	// nil, ack receives the client's answer (its first argument, raw JSON,
	// binary data in it as Buffer JSON: see Adapter.BroadcastWithAck)
	// unless the receiver disconnects or does not answer within
	// flags.Timeout.
	Deliver(id string, pkt *EncodedPacket, flags BroadcastFlags, ack func(response []byte)) bool
	// DisconnectSocket disconnects the local socket id from the namespace;
	// with closeConn it closes the client's whole connection.
	DisconnectSocket(id string, closeConn bool)
	// NextAckID returns a fresh ack id of the namespace, for a broadcast
	// with ack that another node asked for.
	NextAckID() uint64
	// Describe returns the handshake and attributes (a JSON object) of the
	// local socket id, for a remote FetchSockets; ok is false when the
	// socket is not connected here.
	Describe(id string) (hs Handshake, data json.RawMessage, ok bool)
	// Recovery reports whether connection-state recovery is on for the
	// namespace: a PacketStore then stores the broadcasts of other nodes
	// too, and gives them their offset.
	Recovery() bool
	// ServerSideEvent runs the namespace's OnServerSideEmit listeners of
	// event with args (raw JSON values), as sent by another node's
	// ServerSideEmit. ack is nil when the sender asked for no answer;
	// otherwise the first listener to call it answers (raw JSON).
	ServerSideEvent(event string, args [][]byte, ack func(response []byte))
}

// ServerSideEmitter is implemented by multi-node adapters that carry
// Namespace.ServerSideEmit to the other nodes. An adapter without it is a
// single node: server-side events have nobody to reach.
type ServerSideEmitter interface {
	// ServerSideEmit sends event with args (raw JSON values) to the other
	// nodes' namespace. With a non-nil ack, each other node answers once
	// and ack is called once: with every answer, or with those received so
	// far and an error when some did not answer in time.
	ServerSideEmit(event string, args [][]byte, ack func(responses [][]byte, err error)) error
}

// Adapter stores the rooms of one namespace and carries its broadcasts.
// Methods may be called from any goroutine. Room membership changes (AddAll,
// Del, DelAll) concern sockets of this node and are kept locally; the
// operations taking BroadcastOptions address every node.
type Adapter interface {
	// AddAll adds socket id to rooms.
	AddAll(id string, rooms []string)
	// Del removes socket id from room.
	Del(id, room string)
	// DelAll removes socket id from every room.
	DelAll(id string)
	// SocketRooms returns the rooms of the local socket id (nil when
	// unknown).
	SocketRooms(id string) []string
	// Rooms returns the names of the rooms that have local members,
	// socket-id rooms included.
	Rooms() []string
	// Broadcast encodes pkt once and delivers it to the selected sockets.
	Broadcast(pkt *Packet, opts BroadcastOptions) error
	// BroadcastWithAck is Broadcast for a packet with an ack id: each node
	// reports through clientCount how many of its sockets received it
	// (once per node), and ack receives each client's answer: the first
	// argument of its ack as raw JSON (nil when it acked with none). Binary
	// data in an answer (a client's Buffer, ArrayBuffer or typed array,
	// alone or nested) is written as Node's Buffer.toJSON writes a Buffer,
	// {"type":"Buffer","data":[1,2]}: AdapterHost.Deliver gives the answers
	// of this node's clients so, and a multi-node adapter passes on the
	// binary answers of other nodes' clients in the same form (a Node
	// server's adapter sends them as binary, which the form stands for).
	BroadcastWithAck(pkt *Packet, opts BroadcastOptions, clientCount func(n int), ack func(response []byte)) error
	// ServerCount returns the number of nodes (1 for a single process).
	ServerCount(ctx context.Context) (int, error)
	// FetchSockets returns the selected sockets.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]RemoteSocket, error)
	// AddSockets makes the selected sockets join rooms.
	AddSockets(opts BroadcastOptions, rooms []string) error
	// DelSockets makes the selected sockets leave rooms.
	DelSockets(opts BroadcastOptions, rooms []string) error
	// DisconnectSockets disconnects the selected sockets; with closeConn
	// their clients' connections close too.
	DisconnectSockets(opts BroadcastOptions, closeConn bool) error
	// Close releases the adapter (the server shut down or the adapter was
	// replaced). It may be called more than once.
	Close() error
}

// AdapterFactory creates the adapter of a namespace. Server.SetAdapter
// installs one; the default is NewMemoryAdapter.
type AdapterFactory func(host AdapterHost) Adapter
