package redisadapter

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
	socketio "github.com/fiber-socketio/socketio"
	"github.com/gofiber/fiber/v3"
	"github.com/redis/go-redis/v9"
)

// Benchmarks of the adapter over a real redis-server on loopback. Run
// them with
//
//	go test -run '^$' -bench . -benchtime=2s
//
// Each run starts its own redis-server and servers. The clients are bare
// WebSocket clients in this process, so allocs/op include their reads
// (the same for every adapter compared).

// window bounds the broadcasts in flight per client, below the server's
// send queue (socketio.SendQueueSize), so that a slow reader is waited for
// rather than disconnected.
const window = 64

// wsClient is a bare Engine.IO/Socket.IO client over a WebSocket,
// connected to the main namespace. Its reader calls onEvent with every
// EVENT packet (the frame, valid only during the call) and answers pings.
type wsClient struct {
	conn *fws.Conn
	done chan struct{}
}

func dialClient(tb testing.TB, baseURL string, onEvent func(frame []byte)) *wsClient {
	tb.Helper()
	d := &fws.Dialer{NetDial: (&net.Dialer{Timeout: 5 * time.Second}).Dial, HandshakeTimeout: 5 * time.Second}
	u := "ws" + strings.TrimPrefix(baseURL, "http") + "/socket.io/?EIO=4&transport=websocket"
	conn, _, err := d.Dial(u, nil)
	if err != nil {
		tb.Fatalf("dial %s: %v", u, err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, open, err := conn.ReadMessage(); err != nil || len(open) == 0 || open[0] != '0' {
		tb.Fatalf("open packet %q: %v", open, err)
	}
	if err := conn.WriteMessage(fws.TextMessage, []byte("40")); err != nil {
		tb.Fatal(err)
	}
	if _, reply, err := conn.ReadMessage(); err != nil || !bytes.HasPrefix(reply, []byte(`40{"sid":`)) {
		tb.Fatalf("connect reply %q: %v", reply, err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	c := &wsClient{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		var buf bytes.Buffer
		for {
			_, r, err := conn.NextReader()
			if err != nil {
				return
			}
			buf.Reset()
			if _, err := buf.ReadFrom(r); err != nil {
				return
			}
			msg := buf.Bytes()
			switch {
			case bytes.HasPrefix(msg, []byte("42[")):
				onEvent(msg)
			case len(msg) == 1 && msg[0] == '2':
				if conn.WriteMessage(fws.TextMessage, []byte("3")) != nil {
					return
				}
			}
		}
	}()
	tb.Cleanup(func() {
		_ = conn.Close()
		<-c.done
	})
	return c
}

// counter counts the events its clients receive and wakes a waiter.
type counter struct {
	n    atomic.Int64
	wake chan struct{}
}

func newCounter() *counter { return &counter{wake: make(chan struct{}, 1)} }

func (c *counter) event([]byte) {
	c.n.Add(1)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// waitAtLeast waits until n events were counted.
func (c *counter) waitAtLeast(tb testing.TB, n int64) {
	t := time.NewTimer(20 * time.Second)
	defer t.Stop()
	for c.n.Load() < n {
		select {
		case <-c.wake:
		case <-t.C:
			tb.Fatalf("received %d events, want %d", c.n.Load(), n)
		}
	}
}

// startBenchServer serves srv (with factory as its adapter, nil for the
// in-memory one) on a loopback port and returns its URL.
func startBenchServer(tb testing.TB, factory socketio.AdapterFactory) (*socketio.Server, string) {
	tb.Helper()
	cfg := socketio.DefaultConfig()
	cfg.Logger = nil
	srv := socketio.NewServer(cfg)
	if factory != nil {
		srv.SetAdapter(factory)
	}
	app := fiber.New()
	h := srv.Handler(nil)
	app.Get("/socket.io/", h)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = app.ShutdownWithTimeout(5 * time.Second)
	})
	return srv, "http://" + ln.Addr().String()
}

// twoNodes starts redis-server and two Go nodes on it, and waits until
// each counts the other.
func twoNodes(b *testing.B, adapter string) (a, bn *goNode) {
	r := startRedis(b)
	if adapter == "streams" || adapter == "streams-recovery" {
		recovery := adapter == "streams-recovery"
		a = startStreamsGoNode(b, r, "A", StreamsOptions{}, recovery)
		bn = startStreamsGoNode(b, r, "B", StreamsOptions{}, recovery)
	} else {
		a = startGoNode(b, r, "A", Options{})
		bn = startGoNode(b, r, "B", Options{})
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := a.srv.Of("/").Adapter().ServerCount(context.Background())
		if err == nil && n == 2 {
			return a, bn
		}
		if time.Now().After(deadline) {
			b.Fatalf("server count %d, %v", n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var benchArg = []byte(`{"from":"a","text":"hello world"}`)

// benchAdapters are the multi-node adapters the benchmarks compare: New
// (pub/sub), and NewStreams with connection-state recovery off and on
// (a broadcast is then delivered locally once Redis took it).
var benchAdapters = []string{"pubsub", "streams", "streams-recovery"}

// BenchmarkCrossNodeBroadcast: node A broadcasts, a client on node B
// receives through Redis. One op is one message delivered; at most
// window messages are in flight.
func BenchmarkCrossNodeBroadcast(b *testing.B) {
	for _, adapter := range benchAdapters {
		b.Run(adapter, func(b *testing.B) { benchCrossNodeBroadcast(b, adapter) })
	}
}

func benchCrossNodeBroadcast(b *testing.B, adapter string) {
	a, bn := twoNodes(b, adapter)
	got := newCounter()
	dialClient(b, bn.url, got.event)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if i >= window {
			got.waitAtLeast(b, int64(i-window+1))
		}
		if err := a.srv.Emit("m", benchArg); err != nil {
			b.Fatal(err)
		}
	}
	got.waitAtLeast(b, int64(b.N))
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	if n := got.n.Load(); n != int64(b.N) {
		b.Fatalf("received %d messages, want %d", n, b.N)
	}
}

// BenchmarkBroadcastLatency: one message at a time, from node A's Emit to
// the client's receiving it: on A itself ("local", the Redis adapter's
// local path) and on node B ("via-redis"). The difference of the p50s is
// the latency Redis adds.
func BenchmarkBroadcastLatency(b *testing.B) {
	for _, c := range [][2]string{{"pubsub", "local"}, {"pubsub", "via-redis"}, {"streams", "local"}, {"streams", "via-redis"},
		{"streams-recovery", "local"}, {"streams-recovery", "via-redis"}} {
		adapter, where := c[0], c[1]
		b.Run(adapter+"/"+where, func(b *testing.B) {
			a, bn := twoNodes(b, adapter)
			target := bn
			if where == "local" {
				target = a
			}
			recv := make(chan struct{}, 1)
			dialClient(b, target.url, func([]byte) { recv <- struct{}{} })
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if err := a.srv.Emit("m", benchArg); err != nil {
					b.Fatal(err)
				}
				select {
				case <-recv:
				case <-time.After(10 * time.Second):
					b.Fatalf("message %d not received", i)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
		})
	}
}

// BenchmarkSingleNodeBroadcast compares the Redis adapter on a node with
// no peers (it still publishes every broadcast) with the in-memory
// adapter: the same broadcast to N local sockets. One op is one message
// delivered to every socket.
func BenchmarkSingleNodeBroadcast(b *testing.B) {
	for _, sockets := range []int{1, 100} {
		for _, kind := range []string{"memory", "redis"} {
			b.Run(fmt.Sprintf("%s/sockets=%d", kind, sockets), func(b *testing.B) {
				var factory socketio.AdapterFactory
				if kind == "redis" {
					r := startRedis(b)
					client := redis.NewClient(&redis.Options{Addr: r.addr()})
					b.Cleanup(func() { _ = client.Close() })
					factory = New(client, Options{})
				}
				srv, url := startBenchServer(b, factory)
				counters := make([]*counter, sockets)
				for i := range counters {
					counters[i] = newCounter()
					dialClient(b, url, counters[i].event)
				}
				waitAll := func(n int64) {
					for _, c := range counters {
						c.waitAtLeast(b, n)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if i >= window && i%(window/2) == 0 {
						waitAll(int64(i - window/2))
					}
					if err := srv.Emit("m", benchArg); err != nil {
						b.Fatal(err)
					}
				}
				waitAll(int64(b.N))
				b.StopTimer()
				for i, c := range counters {
					if n := c.n.Load(); n != int64(b.N) {
						b.Fatalf("socket %d received %d messages, want %d", i, n, b.N)
					}
				}
			})
		}
	}
}
