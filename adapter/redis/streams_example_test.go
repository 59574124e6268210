package redisadapter_test

import (
	"time"

	"github.com/fiber-socketio/socketio"
	redisadapter "github.com/fiber-socketio/socketio/adapter/redis"
	"github.com/gofiber/fiber/v3"
	"github.com/redis/go-redis/v9"
)

// Every node of the cluster (Go, or Node with createAdapter from
// @socket.io/redis-streams-adapter) uses the same Redis and options. With
// connection-state recovery on, a client whose connection was lost can
// come back through any node and get the events it missed.
func ExampleNewStreams() {
	socketio.ConnectionStateRecovery = &socketio.RecoveryConfig{
		MaxDisconnectionDuration: 2 * time.Minute,
	}
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	srv := socketio.NewServer(socketio.DefaultConfig())
	srv.SetAdapter(redisadapter.NewStreams(client, redisadapter.StreamsOptions{
		// The defaults of Node's createAdapter, spelled out.
		StreamName:       "socket.io",
		MaxLen:           10_000,
		SessionKeyPrefix: "sio:session:",
	}))

	srv.On(socketio.EventConnect, func(ep *socketio.EventPayload) {
		if ep.Kws.Recovered() {
			return // same id, rooms and attributes; missed events sent
		}
		ep.Kws.Join("lobby")
	})
	srv.On("chat", func(ep *socketio.EventPayload) {
		// Stored in the stream; the offset the clients receive is the
		// entry's id.
		_ = srv.To("lobby").Emit("chat", ep.Data)
	})

	app := fiber.New()
	h := srv.Handler(nil)
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)
	_ = app.Listen("127.0.0.1:3000")
}
