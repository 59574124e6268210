package socketio

import (
	"errors"
	"io/fs"
	"time"

	"github.com/gofiber/fiber/v3"
)

// Tunables. They are read once, when New (or NewServer) is called, into a
// Config snapshot; sessions then keep the snapshot they started with, so a
// running session never sees a half-changed value. Set them in init() or
// early in main, before New.
var (
	// PingInterval is how often the server sends an Engine.IO PING.
	PingInterval = 25 * time.Second
	// PingTimeout is how long the server waits for the PONG answering a PING
	// before it drops the connection. It is advertised to the client too.
	PingTimeout = 20 * time.Second
	// HandshakeTimeout bounds the time between the Engine.IO OPEN and the
	// client's first Socket.IO CONNECT. Zero disables it.
	HandshakeTimeout = 10 * time.Second
	// UpgradeTimeout bounds a polling session's upgrade to WebSocket, from
	// the WebSocket's opening to the client's UPGRADE packet (Node's
	// upgradeTimeout); a WebSocket that has not completed it by then is
	// closed and the session goes on on polling.
	UpgradeTimeout = 10 * time.Second
	// CloseTimeout bounds how long a server-side close waits for the queued
	// packets (the DISCONNECT among them) to reach the client; and, after
	// Close disconnected a connection's last namespace, how long the server
	// leaves the client to close that connection itself (as the Node server
	// does) before closing it. Zero closes without waiting.
	CloseTimeout = 5 * time.Second
	// WriteTimeout bounds one write to a WebSocket; zero bounds it by
	// PingInterval+PingTimeout, the time the heartbeat gives a silent peer
	// (a peer that stops reading is also dropped as soon as its send queue
	// overflows).
	WriteTimeout time.Duration
	// MaxPayload is the largest inbound WebSocket message and polling POST
	// body, in bytes. It is advertised to the client as maxPayload, and the
	// official client never sends a polling batch larger than it.
	MaxPayload int64 = 1_000_000
	// MaxAuthPayload bounds the JSON auth object of a Socket.IO CONNECT.
	// Zero disables the bound.
	MaxAuthPayload = 8 * 1024
	// MaxBatchPackets bounds the number of Engine.IO packets in one batched
	// WebSocket frame (0x1E separated). A polling POST may carry any number
	// of packets within MaxPayload, as the official client batches freely.
	// Zero disables the bound.
	MaxBatchPackets = 256
	// MaxEventNameLength bounds an inbound event name, in bytes. Zero
	// disables the bound.
	MaxEventNameLength = 256
	// MaxEventArgs bounds the number of elements of an inbound EVENT or ACK
	// array, the event name included. Zero disables the bound.
	MaxEventArgs = 256
	// MaxAttachments bounds the binary attachments of one BINARY_EVENT or
	// BINARY_ACK, both ways: an inbound packet announcing more closes the
	// connection with ErrTooManyAttachments, and an emit holding more is
	// refused with it. The default, 10, is socket.io-parser's, which the
	// official client and the Node server both enforce on what they
	// receive. Zero or less selects the default. A packet and its
	// attachments together are bounded by MaxPayload.
	MaxAttachments = 10
	// OutboundAckTimeout is the default deadline of EmitWithAck and
	// EmitWithAckArgs. Zero leaves them without a deadline (a broadcast's
	// EmitWithAck then waits 30 s, as it needs one).
	OutboundAckTimeout = 30 * time.Second
	// SendQueueSize is the capacity, in packets, of a WebSocket connection's
	// send queue. An emit that finds it full waits for the connection's
	// writer to take what is queued, so a listener may emit any number of
	// packets in a loop to a client that reads them. When the connection
	// has not taken packets for 250 ms (its client stopped reading), what
	// is emitted goes past the bound, up to MaxStalledBytes, and then the
	// queue overflows (see DropFramesOnOverflow).
	SendQueueSize = 100
	// MaxStalledBytes is how many bytes a connection that stopped taking
	// packets for 250 ms may have queued past its queue's bound
	// (SendQueueSize, PollQueueMaxFrames) before the queue overflows (see
	// DropFramesOnOverflow): a client that pauses, a browser tab busy for
	// a second or a mobile network's hiccup, loses nothing, as with the
	// Node server, which buffers without a bound, and a client that
	// stopped for good is closed by the heartbeat, or by the overflow once
	// it holds that much. Emits do not wait for a stalled connection past
	// those 250 ms. Zero applies the overflow rule at the bound.
	MaxStalledBytes = 8 << 20
	// DropFramesOnOverflow chooses what an overflowing send queue does
	// (see SendQueueSize and PollQueueMaxFrames): when false (the default)
	// the connection is closed with ErrSendQueueClosed; when true the
	// packet is dropped and EventError fires with ErrSendQueueOverflow.
	// Volatile emits are dropped, silently, as soon as the queue is full.
	DropFramesOnOverflow = false
	// ReuseEventPayloads (default false) recycles the EventPayload of a
	// client's event once its listeners have returned, as fasthttp
	// recycles its RequestCtx: an event then allocates its message and
	// nothing else, and the garbage collector runs less often (about 3 %
	// of the server's CPU per ack in the echo benchmark, see
	// bench/BENCHMARKS.md). In exchange a listener must not keep the
	// *EventPayload, nor its Args slice, after it returns: what it keeps
	// it copies out (Data, Kws, Name, an element of Args and the
	// Attachments are not reused and may be kept). A payload whose ack is
	// still to be sent when the listeners return (an Ack from a goroutine
	// started by a listener) is not recycled. Payloads of lifecycle
	// events (EventConnect, EventDisconnect, ...) never are.
	ReuseEventPayloads = false
	// EnablePolling makes the handler serve HTTP long-polling (and the
	// upgrade from polling to WebSocket). Unlike the middleware this package
	// replaces, it defaults to true: the official client starts on polling.
	EnablePolling = true
	// Transports lists the Engine.IO transports served, as Node's
	// transports option: "polling" and "websocket" (the default, both). A
	// request for a transport not listed is refused with the Engine.IO
	// error "Transport unknown" (400). Polling is served only when it is
	// listed and EnablePolling is true. Nil or empty means both; other
	// names are ignored.
	Transports = []string{"polling", "websocket"}
	// AllowUpgrades lets a session started on polling upgrade to
	// WebSocket (Node's allowUpgrades, default true). When false the
	// handshake advertises no upgrade and an upgrade request is accepted
	// and closed at once, as for a session already upgraded.
	AllowUpgrades = true
	// AllowEIO3 lets clients of Engine.IO protocol v3 connect (Node's
	// allowEIO3, default false): socket.io-client 1.x and 2.x, and the
	// mobile clients of their time, which speak Socket.IO protocol v4.
	// Their sessions send no PING (the client does, and the server answers
	// it), frame polling payloads and binary messages as v3 does, are
	// connected to the main namespace at once, and authenticate with the
	// query of the namespace they connect (which becomes the socket's
	// auth, a JSON object of strings). Connection-state recovery does not
	// apply to them. When false, their handshake is refused with
	// "Unsupported protocol version".
	AllowEIO3 = false
	// PacketParser, when not nil, replaces the standard Socket.IO packet
	// encoding on every connection (Node's parser option): see Parser.
	PacketParser Parser
	// PollingMaxBufferSize bounds one polling response body, in bytes;
	// packets beyond it wait for the next GET. An inbound POST is bounded by
	// MaxPayload.
	PollingMaxBufferSize = 1_000_000
	// MaxPollWait bounds how long a long-polling GET waits for packets
	// before it is answered with a NOOP.
	MaxPollWait = 30 * time.Second
	// PollQueueMaxFrames is the capacity, in packets, of a polling session's
	// send queue. As for SendQueueSize, a full queue makes an emit wait for
	// the client's next GET; when no GET has come for 250 ms since the
	// last one ended, what is emitted goes past the bound up to
	// MaxStalledBytes, and then the queue overflows. Zero disables the
	// bound.
	PollQueueMaxFrames = 1024
	// PongTimeout is kept for source compatibility.
	//
	// Deprecated: the heartbeat uses PingInterval and PingTimeout.
	PongTimeout = 20 * time.Second
	// RetrySendTimeout is kept for source compatibility.
	//
	// Deprecated: every packet is written once by the connection's worker;
	// there is nothing to retry.
	RetrySendTimeout = 20 * time.Millisecond
	// MaxSendRetry is kept for source compatibility.
	//
	// Deprecated: see RetrySendTimeout.
	MaxSendRetry = 5
	// ReadTimeout is kept for source compatibility.
	//
	// Deprecated: the read loop blocks in one read; it is not consulted.
	ReadTimeout = 10 * time.Millisecond

	// ErrSendQueueOverflow is reported through EventError when a packet is
	// dropped because the send queue was full and DropFramesOnOverflow is
	// true.
	ErrSendQueueOverflow = errors.New("socketio: send queue overflow, frame dropped")
)

// Logger, when not nil, receives every warning and error the package
// reports: level is "warn" or "error", msg a short stable description, and
// fields a flat key/value list of context. It must be safe for concurrent
// use and must not block. Set it before serving connections.
var Logger func(level, msg string, fields ...any)

// Config is a snapshot of the tunables, held by a Server. DefaultConfig
// reads the package-level variables; NewServer takes a Config directly, so
// two servers in one process (or tests in parallel) do not share settings.
//
// A field left at its zero value takes the default of the package-level
// variable of its name (as documented there, not its current value), so
// NewServer(Config{PingInterval: 10 * time.Second}) serves like New with
// only PingInterval changed: both transports, upgrades, every bound. Where
// a variable's zero disables a bound or a timeout, the field's negative
// values do (DefaultConfig maps one to the other); the variables that
// default to true are the fields DisablePolling and DisableUpgrades.
type Config struct {
	PingInterval       time.Duration
	PingTimeout        time.Duration
	HandshakeTimeout   time.Duration
	CloseTimeout       time.Duration
	UpgradeTimeout     time.Duration
	WriteTimeout       time.Duration
	MaxPayload         int64
	MaxAuthPayload     int
	MaxBatchPackets    int
	MaxEventNameLength int
	MaxEventArgs       int
	MaxAttachments     int
	OutboundAckTimeout time.Duration
	SendQueueSize      int
	// MaxStalledBytes: see the package-level variable; negative values
	// apply the overflow rule at the bound.
	MaxStalledBytes      int
	DropFramesOnOverflow bool
	// ReuseEventPayloads: see the package-level variable.
	ReuseEventPayloads bool
	// DisablePolling is EnablePolling (see the package-level variable)
	// negated, so that the zero value serves polling.
	DisablePolling bool
	// Transports: see the package-level variable. Nil serves both.
	Transports []string
	// DisableUpgrades is AllowUpgrades (see the package-level variable)
	// negated, so that the zero value lets polling sessions upgrade.
	DisableUpgrades bool
	// AllowEIO3: see the package-level variable.
	AllowEIO3 bool
	// Parser: see PacketParser.
	Parser               Parser
	PollingMaxBufferSize int
	MaxPollWait          time.Duration
	PollQueueMaxFrames   int
	// HTTPCompressionThreshold: see the package-level variable.
	HTTPCompressionThreshold int
	// PerMessageDeflateThreshold: see the package-level variable.
	PerMessageDeflateThreshold int
	// CleanupEmptyChildNamespaces: see the package-level variable.
	CleanupEmptyChildNamespaces bool
	// Logger receives warnings and errors; nil is silent.
	Logger func(level, msg string, fields ...any)
	// CORS is the cross-origin policy for both transports.
	CORS CORSConfig
	// AllowRequest, when set, may refuse a handshake before a session is
	// created.
	AllowRequest func(c fiber.Ctx) error
	// GenerateID, when set, gives new sessions their id (see the
	// package-level variable).
	GenerateID func(c fiber.Ctx) string
	// Cookie, when set, is sent on the handshake response for sticky
	// sessions.
	Cookie *CookieConfig
	// ConnectionStateRecovery, when not nil, turns connection-state
	// recovery on (see RecoveryConfig); nil, the default, leaves it off.
	ConnectionStateRecovery *RecoveryConfig
	// ClientFiles, when set, holds the socket.io-client bundle (the dist
	// directory of the npm package: socket.io.js, socket.io.min.js,
	// socket.io.esm.min.js, socket.io.msgpack.min.js and their .map files),
	// which the handler then serves next to the endpoint, as Node's
	// serveClient: GET /socket.io/socket.io.min.js and the others, with
	// the origin policy, an ETag (ClientVersion, else a hash of the file),
	// 304 to a client that has it, gzip or deflate. Mount the handler on
	// the files' paths too (app.Get("/socket.io/*", h)). nil, the default,
	// serves none (this module does not ship the client).
	ClientFiles fs.FS
	// ClientVersion is the bundle's version (its package.json's), the
	// files' ETag as Node's; empty takes a hash of each file.
	ClientVersion string

	// libraryIO makes every WebSocket go through the websocket library,
	// as on systems without raw socket I/O (rawSocketIO): the tests run
	// that path on Linux with it.
	libraryIO bool
}

// DefaultConfig returns the current values of the package-level tunables.
func DefaultConfig() Config {
	return Config{
		PingInterval:                PingInterval,
		PingTimeout:                 PingTimeout,
		HandshakeTimeout:            zeroOff(HandshakeTimeout),
		CloseTimeout:                zeroOff(CloseTimeout),
		UpgradeTimeout:              UpgradeTimeout,
		WriteTimeout:                WriteTimeout,
		MaxPayload:                  MaxPayload,
		MaxAuthPayload:              zeroOff(MaxAuthPayload),
		MaxBatchPackets:             zeroOff(MaxBatchPackets),
		MaxEventNameLength:          zeroOff(MaxEventNameLength),
		MaxEventArgs:                zeroOff(MaxEventArgs),
		MaxAttachments:              MaxAttachments,
		OutboundAckTimeout:          zeroOff(OutboundAckTimeout),
		SendQueueSize:               SendQueueSize,
		MaxStalledBytes:             zeroOff(MaxStalledBytes),
		DropFramesOnOverflow:        DropFramesOnOverflow,
		ReuseEventPayloads:          ReuseEventPayloads,
		DisablePolling:              !EnablePolling,
		Transports:                  append([]string(nil), Transports...),
		DisableUpgrades:             !AllowUpgrades,
		AllowEIO3:                   AllowEIO3,
		Parser:                      PacketParser,
		PollingMaxBufferSize:        PollingMaxBufferSize,
		MaxPollWait:                 MaxPollWait,
		PollQueueMaxFrames:          zeroOff(PollQueueMaxFrames),
		HTTPCompressionThreshold:    HTTPCompressionThreshold,
		PerMessageDeflateThreshold:  PerMessageDeflateThreshold,
		CleanupEmptyChildNamespaces: CleanupEmptyChildNamespaces,
		Logger:                      Logger,
		CORS:                        CORS,
		AllowRequest:                AllowRequest,
		GenerateID:                  GenerateID,
		Cookie:                      SessionCookie,
		// The pointer is copied by normalized, so later changes to the
		// tunable do not reach a server.
		ConnectionStateRecovery: ConnectionStateRecovery,
	}
}

// normalized fills zero values with working defaults.
func (c Config) normalized() Config {
	// Zero is the variable's default; negative, as set by zeroOff, stays
	// and disables (every use checks for a positive value).
	c.HandshakeTimeout = zeroDefault(c.HandshakeTimeout, 10*time.Second)
	c.CloseTimeout = zeroDefault(c.CloseTimeout, 5*time.Second)
	c.MaxAuthPayload = zeroDefault(c.MaxAuthPayload, 8*1024)
	c.MaxBatchPackets = zeroDefault(c.MaxBatchPackets, 256)
	c.MaxEventNameLength = zeroDefault(c.MaxEventNameLength, 256)
	c.MaxEventArgs = zeroDefault(c.MaxEventArgs, 256)
	c.OutboundAckTimeout = zeroDefault(c.OutboundAckTimeout, 30*time.Second)
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = 1_000_000
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = 10 * time.Second
	}
	if c.MaxAttachments <= 0 {
		c.MaxAttachments = 10
	}
	if c.SendQueueSize <= 0 {
		c.SendQueueSize = 100
	}
	c.MaxStalledBytes = zeroDefault(c.MaxStalledBytes, 8<<20)
	c.PollQueueMaxFrames = zeroDefault(c.PollQueueMaxFrames, 1024)
	if c.PollQueueMaxFrames < 0 {
		c.PollQueueMaxFrames = 1 << 30 // no bound
	}
	if c.HTTPCompressionThreshold == 0 {
		c.HTTPCompressionThreshold = 1024
	}
	if c.PerMessageDeflateThreshold == 0 {
		c.PerMessageDeflateThreshold = 1024
	}
	if c.PollingMaxBufferSize <= 0 {
		c.PollingMaxBufferSize = int(c.MaxPayload)
	}
	if c.MaxPollWait <= 0 {
		c.MaxPollWait = 30 * time.Second
	}
	c.ConnectionStateRecovery = c.ConnectionStateRecovery.normalized()
	return c
}

// zeroOff maps a package-level variable whose zero disables what it
// bounds to the Config value that does: -1.
func zeroOff[T int | int64 | time.Duration](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

// zeroDefault is v, or def when v is zero (a field left unset).
func zeroDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// serves reports whether transport is listed in c.Transports (nil or empty
// lists both).
func (c *Config) serves(transport string) bool {
	if len(c.Transports) == 0 {
		return true
	}
	for _, t := range c.Transports {
		if t == transport {
			return true
		}
	}
	return false
}

// log reports through the configured Logger, never letting a faulty hook
// take a connection down.
func (c *Config) log(level, msg string, fields ...any) {
	if c.Logger == nil {
		return
	}
	defer func() { _ = recover() }()
	c.Logger(level, msg, fields...)
}
