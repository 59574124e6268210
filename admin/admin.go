// Package admin instruments a socketio.Server for the Socket.IO Admin UI
// (https://admin.socket.io, or the static files of the @socket.io/admin-ui
// npm package hosted yourself), as Node's instrument(io, options) from
// @socket.io/admin-ui 0.5 does: the UI connects to the server's "/admin"
// namespace and sees the servers, namespaces, sockets, rooms, clients and
// events, and can make sockets join or leave rooms, disconnect them, or
// emit to them.
//
// It lives in its own module so that the core's dependency list stays
// short (it needs bcrypt for the UI's basic authentication).
//
// What it sends goes through the admin namespace's adapter, so with a
// Redis adapter one UI sees every node, as with Node's.
package admin

import (
	"errors"
	"os"
	"sync"
	"time"

	"github.com/fiber-socketio/socketio"
)

// Errors Instrument returns for options it cannot use.
var (
	// ErrAuthRequired: Options has neither Auth nor NoAuth, as Node's
	// instrument requires auth to be given or explicitly false.
	ErrAuthRequired = errors.New("admin: Options.Auth must be set, or NoAuth to run without authentication")
	// ErrInvalidPasswordHash: Auth.PasswordHash is not a bcrypt hash.
	ErrInvalidPasswordHash = errors.New("admin: Auth.PasswordHash must be a valid bcrypt hash")
	// ErrInvalidMode: Options.Mode is neither "development" nor "production".
	ErrInvalidMode = errors.New(`admin: Options.Mode must be "development" or "production"`)
)

// Modes of Options.Mode.
const (
	// Development sends the UI every detail: the sockets with their
	// handshakes and rooms, and every event (Node's default mode).
	Development = "development"
	// Production sends only the server statistics, which spares the
	// instrumentation's traffic and memory.
	Production = "production"
)

// Options configure Instrument, as the options of Node's instrument.
type Options struct {
	// NamespaceName is the namespace the UI connects to; "/admin" when
	// empty.
	NamespaceName string
	// Auth, when set, requires the UI to log in with its username and
	// password (HTTP basic-like, checked against a bcrypt hash).
	Auth *BasicAuth
	// NoAuth runs the admin namespace without authentication (Node's
	// auth: false): anyone who reaches the server can then watch it and
	// act on its sockets. One of Auth and NoAuth must be set.
	NoAuth bool
	// ReadOnly forbids the UI's actions (emit, join, leave, disconnect).
	ReadOnly bool
	// ServerID names this server in the UI; the host name when empty.
	ServerID string
	// Store keeps the session ids the UI gets after logging in, so that it
	// reconnects without the credentials; an in-memory store when nil.
	// Servers behind one UI with Auth should share one (see Store).
	Store Store
	// Mode is Development (the default) or Production.
	Mode string
	// StatsInterval is how often the server statistics are sent; 2 s
	// (Node's period) when zero.
	StatsInterval time.Duration
}

// BasicAuth is the UI's login.
type BasicAuth struct {
	// Username is the login's user name.
	Username string
	// PasswordHash is the bcrypt hash of the password (for instance from
	// golang.org/x/crypto/bcrypt.GenerateFromPassword, or the bcryptjs
	// hash a Node setup uses).
	PasswordHash string
}

// Features the UI is told the server supports (Node's Feature enum).
const (
	featureEmit             = "EMIT"
	featureJoin             = "JOIN"
	featureLeave            = "LEAVE"
	featureDisconnect       = "DISCONNECT"
	featureMJoin            = "MJOIN"
	featureMLeave           = "MLEAVE"
	featureMDisconnect      = "MDISCONNECT"
	featureAggregatedEvents = "AGGREGATED_EVENTS"
	featureAllEvents        = "ALL_EVENTS"
)

// Instrumentation is a server instrumented by Instrument. Stop ends it.
type Instrumentation struct {
	srv      *socketio.Server
	nsp      *socketio.Namespace
	opts     Options
	features []string
	dev      bool
	base     serverIdentity
	started  time.Time
	events   *eventBuffer
	polling  sync.Map // sid -> struct{}: sessions still on polling
	clients  sync.Map // sid -> *clientSockets (Development)
	// newSessions are the session ids of the UIs that logged in with their
	// credentials, until they are connected and sent theirs.
	newSessions sync.Map // *socketio.Websocket -> string
	stop        chan struct{}
	stopOnce    sync.Once
	done        chan struct{}
}

// serverIdentity is what every server_stats message says of the server.
type serverIdentity struct {
	ServerID string `json:"serverId"`
	Hostname string `json:"hostname"`
	PID      int    `json:"pid"`
}

// processStart stands for the process's start in the uptime the UI shows.
var processStart = time.Now()

// Instrument makes srv serve the Admin UI on Options.NamespaceName: the
// namespace gets the authentication middleware, every socket that
// connects to it gets the server's configuration, the list of sockets
// (Development) and then, every StatsInterval, the server statistics, and
// the UI's actions are carried out. It observes the server from then on
// (see socketio.EngineObserver, Server.OnNewNamespace): call it before the
// clients connect. Stop ends the statistics.
func Instrument(srv *socketio.Server, opts Options) (*Instrumentation, error) {
	if opts.NamespaceName == "" {
		opts.NamespaceName = "/admin"
	}
	switch opts.Mode {
	case "":
		opts.Mode = Development
	case Development, Production:
	default:
		return nil, ErrInvalidMode
	}
	if opts.Auth == nil && !opts.NoAuth {
		return nil, ErrAuthRequired
	}
	if opts.Auth != nil && !validHash(opts.Auth.PasswordHash) {
		return nil, ErrInvalidPasswordHash
	}
	if opts.Store == nil {
		opts.Store = NewMemoryStore()
	}
	if opts.StatsInterval <= 0 {
		opts.StatsInterval = 2 * time.Second
	}
	hostname, _ := os.Hostname()
	in := &Instrumentation{
		srv:     srv,
		nsp:     srv.Of(opts.NamespaceName),
		opts:    opts,
		dev:     opts.Mode == Development,
		base:    serverIdentity{ServerID: opts.ServerID, Hostname: hostname, PID: os.Getpid()},
		started: processStart,
		events:  newEventBuffer(),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if in.base.ServerID == "" {
		in.base.ServerID = hostname
	}
	if !opts.ReadOnly {
		in.features = []string{featureEmit, featureJoin, featureLeave, featureDisconnect, featureMJoin, featureMLeave, featureMDisconnect}
	}
	in.features = append(in.features, featureAggregatedEvents)
	if in.dev {
		in.features = append(in.features, featureAllEvents)
	}
	if opts.Auth != nil {
		in.nsp.Use(in.authenticate)
	}
	in.nsp.On(socketio.EventConnect, in.onAdminConnect)
	in.observeEngine()
	if in.dev {
		in.watchSockets()
	}
	go in.emitStatsLoop()
	return in, nil
}

// Stop ends the statistics the instrumentation sends. The listeners it
// added to the server stay, as Node's do.
func (in *Instrumentation) Stop() {
	in.stopOnce.Do(func() { close(in.stop) })
	<-in.done
}

// onAdminConnect greets a UI: the session id it logged in for, the
// features, and in Development the sockets of every server.
func (in *Instrumentation) onAdminConnect(ep *socketio.EventPayload) {
	kws := ep.Kws
	if id, ok := in.newSessions.LoadAndDelete(kws); ok {
		kws.EmitArgs("session", jsonString(id.(string)))
	}
	in.registerFeatureHandlers(kws)
	kws.EmitArgs("config", mustJSON(map[string]any{"supportedFeatures": in.features}))
	if in.dev {
		// The fetch asks the other nodes and waits for them: not on the
		// reader of this connection.
		go func() {
			sockets := in.allSockets()
			kws.EmitArgs("all_sockets", mustJSON(sockets))
		}()
	}
}

// allSockets describes the sockets of every namespace on every node, as
// the UI lists them.
func (in *Instrumentation) allSockets() []socketDescription {
	list := []socketDescription{}
	for _, n := range in.srv.Namespaces() {
		sockets, err := n.FetchSockets()
		if err != nil {
			continue
		}
		for i := range sockets {
			list = append(list, describe(&sockets[i], n.Name()))
		}
	}
	return list
}
