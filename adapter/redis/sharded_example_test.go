package redisadapter_test

import (
	"time"

	"github.com/fiber-socketio/socketio"
	redisadapter "github.com/fiber-socketio/socketio/adapter/redis"
	"github.com/gofiber/fiber/v3"
	"github.com/redis/go-redis/v9"
)

// Every node of the cluster (Go, or Node with createShardedAdapter from
// @socket.io/redis-adapter) uses the same Redis 7, channel prefix and
// subscription mode. With a Redis Cluster, pass a *redis.ClusterClient.
func ExampleNewSharded() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	srv := socketio.NewServer(socketio.DefaultConfig())
	srv.SetAdapter(redisadapter.NewSharded(client, redisadapter.ShardedOptions{
		// The defaults of Node's createShardedAdapter, spelled out.
		ChannelPrefix:    "socket.io",
		SubscriptionMode: redisadapter.SubscriptionDynamic,
		RequestsTimeout:  5 * time.Second,
	}))

	srv.On("chat", func(ep *socketio.EventPayload) {
		// In dynamic mode this goes on the channel of room "lobby", which
		// only the nodes with members in the room subscribe to.
		_ = srv.To("lobby").Emit("chat", ep.Data)
	})

	app := fiber.New()
	h := srv.Handler(func(kws *socketio.Websocket) { kws.Join("lobby") })
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)
	_ = app.Listen("127.0.0.1:3000")
}
