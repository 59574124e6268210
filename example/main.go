// Command example is a small chat served by socketio. From the repository
// root run `make example` and open http://127.0.0.1:3000 in two browser
// tabs.
//
// It shows:
//   - a middleware checking the nickname sent in the handshake's auth;
//   - rooms: a socket joins and leaves them, messages go to one room, and
//     the members see join and leave notices;
//   - acks: the server forwards a message to the room with an ack and
//     answers the sender's ack once the members confirmed it, so the
//     sender marks the message delivered;
//   - volatile broadcasts: the "is typing" indicator;
//   - a cross-origin page: the same page served on -page-addr
//     (http://127.0.0.1:3001) connects to the chat with credentials and an
//     Authorization header over HTTP long-polling, then upgrades to
//     WebSocket. The server allows that origin (CORS) and refuses every
//     handshake without the demo token (AllowRequest).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/fiber-socketio/socketio"
	"github.com/gofiber/fiber/v3"
)

// demoToken is the fixed token of this demo: every handshake must carry
// "Authorization: Bearer demo-token" (public/app.js sends it). A real app
// would check a token issued at login.
const demoToken = "demo-token"

// clientJS is where `npm ci` puts the official socket.io browser client.
const clientJS = "node_modules/socket.io-client/dist/socket.io.min.js"

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "host:port of the chat")
	pageAddr := flag.String("page-addr", "127.0.0.1:3001", "host:port of the cross-origin demo page (empty: none)")
	flag.Parse()

	chatURL := "http://" + *addr
	opts := options{ClientJS: clientJS}
	if *pageAddr != "" {
		opts.PageOrigin = "http://" + *pageAddr
	}
	app, _, err := newApp(opts)
	if err != nil {
		log.Fatal(err)
	}
	if *pageAddr != "" {
		page, err := newPageApp(chatURL, clientJS)
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("cross-origin demo page on %s", opts.PageOrigin)
		go func() { log.Fatal(page.Listen(*pageAddr, fiber.ListenConfig{DisableStartupMessage: true})) }()
	}
	log.Printf("chat on %s", chatURL)
	log.Fatal(app.Listen(*addr, fiber.ListenConfig{DisableStartupMessage: true}))
}

// options configure the chat app.
type options struct {
	// PageOrigin is the origin of the cross-origin demo page, allowed to
	// connect with credentials ("" allows same-origin pages only).
	PageOrigin string
	// ClientJS is the path of socket.io.min.js.
	ClientJS string
}

// newApp builds the chat: its Socket.IO server mounted at /socket.io/ and
// the page.
func newApp(opts options) (*fiber.App, *socketio.Server, error) {
	cfg := socketio.DefaultConfig()
	if opts.PageOrigin != "" {
		cfg.CORS = socketio.CORSConfig{
			AllowOrigins:     []string{opts.PageOrigin},
			AllowCredentials: true, // the page sends cookies and an Authorization header
		}
	}
	// Runs before a session is created: on the first polling request,
	// which is where a browser can put headers (not on a WebSocket).
	cfg.AllowRequest = func(c fiber.Ctx) error {
		if c.Get(fiber.HeaderAuthorization) != "Bearer "+demoToken {
			return fiber.NewError(fiber.StatusUnauthorized, "missing or wrong token")
		}
		return nil
	}
	// The sticky-session cookie ("io"); with credentials the cross-origin
	// page stores it too.
	cfg.Cookie = &socketio.CookieConfig{HTTPOnly: true}
	cfg.Logger = func(level, msg string, fields ...any) {
		log.Println(append([]any{level, msg}, fields...)...)
	}
	server := socketio.NewServer(cfg)
	setUpChat(server)

	app := fiber.New()
	h := server.Handler(nil)
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)
	app.Options("/socket.io/", h) // CORS preflight
	// Same origin: the page connects to the server that served it.
	if err := servePage(app, opts.ClientJS, "location.origin"); err != nil {
		return nil, nil, err
	}
	return app, server, nil
}

// newPageApp serves the page alone, on another origin than the chat at
// chatURL.
func newPageApp(chatURL, clientJS string) (*fiber.App, error) {
	app := fiber.New()
	server, _ := json.Marshal(chatURL)
	return app, servePage(app, clientJS, string(server))
}

// servePage serves the page, the browser client and /config.js, which
// tells the page where the chat server is (a JavaScript expression).
func servePage(app *fiber.App, clientJSPath, server string) error {
	js, err := os.ReadFile(clientJSPath)
	if err != nil {
		return fmt.Errorf("the socket.io browser client is missing (run `npm ci --prefix example`): %w", err)
	}
	file := func(contentType string, body []byte) fiber.Handler {
		return func(c fiber.Ctx) error {
			c.Set(fiber.HeaderContentType, contentType)
			return c.Send(body)
		}
	}
	for _, f := range []struct{ path, name, contentType string }{
		{"/", "public/index.html", fiber.MIMETextHTMLCharsetUTF8},
		{"/app.js", "public/app.js", fiber.MIMETextJavaScriptCharsetUTF8},
		{"/style.css", "public/style.css", fiber.MIMETextCSSCharsetUTF8},
	} {
		body, err := os.ReadFile(f.name)
		if err != nil {
			return err
		}
		app.Get(f.path, file(f.contentType, body))
	}
	app.Get("/socket.io.min.js", file(fiber.MIMETextJavaScriptCharsetUTF8, js))
	app.Get("/config.js", file(fiber.MIMETextJavaScriptCharsetUTF8, []byte("const CHAT_SERVER = "+server+";\n")))
	return nil
}

// user is what the server keeps about a socket.
type user struct {
	nick  string
	mu    sync.Mutex
	rooms map[string]bool
}

// setRoom records joining (in=true) or leaving a room; it reports whether
// that changed anything.
func (u *user) setRoom(room string, in bool) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.rooms[room] == in {
		return false
	}
	if in {
		u.rooms[room] = true
	} else {
		delete(u.rooms, room)
	}
	return true
}

func (u *user) inRoom(room string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.rooms[room]
}

func (u *user) roomList() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var list []string
	for r := range u.rooms {
		list = append(list, r)
	}
	sort.Strings(list)
	return list
}

func userOf(kws *socketio.Websocket) *user {
	u, _ := kws.GetAttribute("user").(*user)
	return u
}

// validName accepts nicknames and room names.
var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,20}$`).MatchString

// roomKey is the socketio room of a chat room. The prefix keeps clients
// out of the rooms named by socket ids.
func roomKey(room string) string { return "chat:" + room }

// Messages the server sends. Every event carries its room.
type (
	chatMessage struct {
		Room string `json:"room"`
		From string `json:"from"`
		Text string `json:"text"`
	}
	notice struct {
		Room string `json:"room"`
		Text string `json:"text"`
	}
	typing struct {
		Room   string `json:"room"`
		From   string `json:"from"`
		Typing bool   `json:"typing"`
	}
	// reply answers the client's acks.
	reply struct {
		OK        bool   `json:"ok"`
		Error     string `json:"error,omitempty"`
		Receivers int    `json:"receivers"`
	}
)

// emitTo sends event with v (JSON-encoded) to the room, kws excepted.
func emitTo(kws *socketio.Websocket, room, event string, v any) {
	data, _ := json.Marshal(v)
	_ = kws.To(roomKey(room)).Emit(event, data)
}

// setUpChat adds the chat's middleware and event listeners to server.
func setUpChat(server *socketio.Server) {
	// The nickname comes with the handshake: io(url, { auth: { nick } }).
	server.Use(func(kws *socketio.Websocket, next func(error)) {
		var auth struct{ Nick string }
		_ = json.Unmarshal(kws.HandshakeAuth(), &auth)
		if !validName(auth.Nick) {
			next(&socketio.ConnectError{Message: "nickname: 1 to 20 letters, digits, - or _"})
			return
		}
		kws.SetAttribute("user", &user{nick: auth.Nick, rooms: map[string]bool{}})
		next(nil)
	})

	// socket.emit("join", room, ack) and socket.emit("leave", room, ack).
	server.On("join", func(ep *socketio.EventPayload) { joinOrLeave(ep, true) })
	server.On("leave", func(ep *socketio.EventPayload) { joinOrLeave(ep, false) })

	// socket.emit("chat", { room, text }, ack): the message goes to the
	// other members, who ack it; then the sender's ack says how many did.
	server.On("chat", func(ep *socketio.EventPayload) {
		u := userOf(ep.Kws)
		var m chatMessage
		if ep.Decode(&m) != nil || m.Text == "" || len(m.Text) > 500 || !u.inRoom(m.Room) {
			_ = ep.AckValues(reply{Error: "not sent: join the room first"})
			return
		}
		m.From = u.nick
		data, _ := json.Marshal(m)
		err := ep.Kws.To(roomKey(m.Room)).Timeout(5*time.Second).EmitWithAck("chat", [][]byte{data},
			func(responses [][]byte, err error) {
				// err: some members did not confirm in time.
				_ = ep.AckValues(reply{OK: true, Receivers: len(responses)})
			})
		if err != nil {
			_ = ep.AckValues(reply{Error: err.Error()})
		}
	})

	// socket.emit("typing", { room, typing }): volatile, as losing one
	// does not matter.
	server.On("typing", func(ep *socketio.EventPayload) {
		u := userOf(ep.Kws)
		var t typing
		if ep.Decode(&t) != nil || !u.inRoom(t.Room) {
			return
		}
		t.From = u.nick
		data, _ := json.Marshal(t)
		_ = ep.Kws.To(roomKey(t.Room)).Volatile().Emit("typing", data)
	})

	// The socket has left its socketio rooms already when EventDisconnect
	// fires; the user keeps the list for the notices.
	server.On(socketio.EventDisconnect, func(ep *socketio.EventPayload) {
		u := userOf(ep.Kws)
		if u == nil { // refused by the middleware
			return
		}
		for _, room := range u.roomList() {
			emitTo(ep.Kws, room, "notice", notice{room, u.nick + " left #" + room})
		}
	})

}

// joinOrLeave joins or leaves the room named in the event and tells the
// other members.
func joinOrLeave(ep *socketio.EventPayload, join bool) {
	u := userOf(ep.Kws)
	var room string
	if json.Unmarshal(ep.Data, &room) != nil || !validName(room) {
		_ = ep.AckValues(reply{Error: "room: 1 to 20 letters, digits, - or _"})
		return
	}
	if u.setRoom(room, join) {
		if join {
			ep.Kws.Join(roomKey(room))
			emitTo(ep.Kws, room, "notice", notice{room, u.nick + " joined #" + room})
		} else {
			ep.Kws.Leave(roomKey(room))
			emitTo(ep.Kws, room, "notice", notice{room, u.nick + " left #" + room})
		}
	}
	_ = ep.AckValues(reply{OK: true})
}
