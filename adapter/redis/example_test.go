package redisadapter_test

import (
	"github.com/fiber-socketio/socketio"
	redisadapter "github.com/fiber-socketio/socketio/adapter/redis"
	"github.com/gofiber/fiber/v3"
	"github.com/redis/go-redis/v9"
)

// Every node of the cluster (Go, or Node with @socket.io/redis-adapter)
// uses the same Redis and key prefix.
func Example() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	srv := socketio.NewServer(socketio.DefaultConfig())
	srv.SetAdapter(redisadapter.New(client, redisadapter.Options{}))

	srv.On("chat", func(ep *socketio.EventPayload) {
		// Reaches the room's members on every node.
		_ = srv.To("lobby").Emit("chat", ep.Data)
	})
	srv.OnServerSideEmit("reload", func(args [][]byte, ack func([]byte)) {
		if ack != nil {
			ack([]byte(`"reloaded"`))
		}
	})

	app := fiber.New()
	h := srv.Handler(func(kws *socketio.Websocket) { kws.Join("lobby") })
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)
	_ = app.Listen("127.0.0.1:3000")
}
