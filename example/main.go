// Command example is a small chat served by socketio: open
// http://localhost:3000 in two browser tabs.
package main

import (
	"encoding/json"
	"flag"
	"log"

	"github.com/fiber-socketio/socketio"
	"github.com/gofiber/fiber/v3"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen address")
	flag.Parse()
	log.Fatal(newApp().Listen(*addr))
}

// newApp builds the chat app: the page, the browser client from npm, and
// the Socket.IO handler.
func newApp() *fiber.App {
	app := fiber.New()

	socketio.On("chat", func(ep *socketio.EventPayload) {
		var text string
		if json.Unmarshal(ep.Data, &text) != nil || text == "" {
			_ = ep.Ack([]byte(`{"ok":false}`))
			return
		}
		msg, _ := json.Marshal(map[string]string{"from": ep.Kws.GetStringAttribute("nick"), "text": text})
		ep.Kws.Broadcast(msg, false)
		_ = ep.Ack([]byte(`{"ok":true}`))
	})
	socketio.On(socketio.EventDisconnect, func(ep *socketio.EventPayload) {
		left, _ := json.Marshal(ep.Kws.GetStringAttribute("nick") + " left")
		ep.Kws.Broadcast(left, true)
	})

	h := socketio.New(func(kws *socketio.Websocket) {
		var auth struct{ Nick string }
		_ = json.Unmarshal(kws.HandshakeAuth(), &auth)
		if auth.Nick == "" {
			auth.Nick = "guest"
		}
		kws.SetAttribute("nick", auth.Nick)
		joined, _ := json.Marshal(auth.Nick + " joined")
		kws.Broadcast(joined, false)
	})
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)
	app.Options("/socket.io/", h)

	app.Get("/socket.io.min.js", func(c fiber.Ctx) error {
		return c.SendFile("node_modules/socket.io-client/dist/socket.io.min.js")
	})
	app.Get("/", func(c fiber.Ctx) error { return c.SendFile("public/index.html") })
	return app
}
