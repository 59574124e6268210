package msgpack_test

import (
	socketio "github.com/fiber-socketio/socketio"
	"github.com/fiber-socketio/socketio/parser/msgpack"
	"github.com/gofiber/fiber/v3"
)

// A server whose clients use socket.io-msgpack-parser:
//
//	const socket = io(url, { parser: require("socket.io-msgpack-parser") });
func ExampleParser() {
	cfg := socketio.DefaultConfig()
	cfg.Parser = msgpack.Parser{}
	srv := socketio.NewServer(cfg)
	srv.On("chat", func(ep *socketio.EventPayload) {
		// Whatever the parser, arguments arrive as raw JSON (binary
		// values as ep.Attachments).
		_ = srv.To("lobby").Emit("chat", ep.Args...)
		_ = ep.Ack([]byte(`"ok"`))
	})
	app := fiber.New()
	app.Get("/socket.io/", srv.Handler(nil))
	app.Post("/socket.io/", srv.Handler(nil))
	// app.Listen(":3000")
}
