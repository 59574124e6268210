// Command floor is the reference point of the bench: a plain fasthttp +
// fasthttp/websocket server doing the least framing any Socket.IO server
// could over WebSocket. The OPEN and CONNECT replies are fixed templates
// with the session id spliced in, an echo is acked by slicing the text
// (42<id>["echo",...] becomes 43<id>[...], no JSON parsing), and a
// broadcast writes one websocket.PreparedMessage to every connection. It
// has no heartbeat, no namespaces, no polling.
//
// With -fiber the same connection handler is mounted in a Fiber app behind
// the contrib websocket middleware, as the socketio package is (the
// floor-fiber server of run.sh): what the framework costs before any
// Socket.IO work, a diagnostic row of the report with no target.
package main

import (
	"bytes"
	"flag"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/fasthttp/websocket"
	"github.com/fiber-socketio/socketio/bench/internal/cpuprof"
	"github.com/fiber-socketio/socketio/bench/internal/fdlimit"
	contribws "github.com/gofiber/contrib/v3/websocket"
	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"
)

// conn is a connection with the lock that serialises its writes (its own
// replies and broadcasts from other connections' goroutines).
type conn struct {
	ws *websocket.Conn
	mu sync.Mutex
}

func (c *conn) write(p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, p)
}

func (c *conn) writePrepared(pm *websocket.PreparedMessage) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws.WritePreparedMessage(pm)
}

var (
	mu    sync.Mutex
	conns = map[*conn]struct{}{}
	sids  atomic.Uint64

	openHead = []byte(`0{"sid":"`)
	openTail = []byte(`","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
	connHead = []byte(`40{"sid":"`)
	connTail = []byte(`"}`)

	echoPrefix  = []byte(`["echo",`)
	bcastPrefix = []byte(`42["bcast",`)
)

var upgrader = websocket.FastHTTPUpgrader{
	ReadBufferSize:  2048,
	WriteBufferSize: 2048,
	CheckOrigin:     func(*fasthttp.RequestCtx) bool { return true },
}

func serve(ws *websocket.Conn) {
	c := &conn{ws: ws}
	sid := strconv.AppendUint(nil, sids.Add(1), 36)
	open := append(append(append([]byte(nil), openHead...), sid...), openTail...)
	connected := append(append(append([]byte(nil), connHead...), sid...), connTail...)
	if c.write(open) != nil {
		return
	}
	mu.Lock()
	conns[c] = struct{}{}
	mu.Unlock()
	defer func() {
		mu.Lock()
		delete(conns, c)
		mu.Unlock()
	}()
	var out []byte
	buf := make([]byte, 512)
	for {
		msg, err := readInto(ws, &buf)
		if err != nil {
			return
		}
		switch {
		case len(msg) == 2 && msg[0] == '4' && msg[1] == '0':
			err = c.write(connected)
		case bytes.HasPrefix(msg, bcastPrefix):
			broadcast(msg)
		case len(msg) > 2 && msg[0] == '4' && msg[1] == '2':
			// 42<id>["echo",<args>] -> 43<id>[<args>]
			i := 2
			for i < len(msg) && msg[i] >= '0' && msg[i] <= '9' {
				i++
			}
			if i == 2 || !bytes.HasPrefix(msg[i:], echoPrefix) {
				continue
			}
			out = append(out[:0], '4', '3')
			out = append(out, msg[2:i]...)
			out = append(out, '[')
			out = append(out, msg[i+len(echoPrefix):]...)
			err = c.write(out)
		}
		if err != nil {
			return
		}
	}
}

// readInto reads one message into *buf (grown as needed), so reading
// allocates nothing in the steady state.
func readInto(ws *websocket.Conn, buf *[]byte) ([]byte, error) {
	_, r, err := ws.NextReader()
	if err != nil {
		return nil, err
	}
	b := *buf
	n := 0
	for {
		if n == len(b) {
			nb := make([]byte, 2*len(b))
			copy(nb, b)
			b = nb
			*buf = b
		}
		m, err := r.Read(b[n:])
		n += m
		if err == io.EOF {
			return b[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// broadcast handles 42["bcast",<payload>,<count>]: the count is the text
// after the last comma, the payload what comes before it.
func broadcast(msg []byte) {
	body := msg[len(bcastPrefix) : len(msg)-1]
	k := bytes.LastIndexByte(body, ',')
	if k < 0 {
		return
	}
	count, err := strconv.Atoi(string(body[k+1:]))
	if err != nil || count < 0 {
		return
	}
	pkt := append(append([]byte(`42["msg",`), body[:k]...), ']')
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, pkt)
	if err != nil {
		return
	}
	mu.Lock()
	all := make([]*conn, 0, len(conns))
	for c := range conns {
		all = append(all, c)
	}
	mu.Unlock()
	for i := 0; i < count; i++ {
		for _, c := range all {
			_ = c.writePrepared(pm)
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:3003", "listen address (loopback)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file (stopped on SIGTERM/SIGINT)")
	viaFiber := flag.Bool("fiber", false, "serve through a Fiber app and the contrib websocket middleware")
	flag.Parse()
	if host, _, err := net.SplitHostPort(*addr); err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("-addr must be a loopback address, got %q", *addr)
	}
	fdlimit.Raise(1 << 16)
	defer cpuprof.Start(*cpuprofile)()
	if *viaFiber {
		serveFiber(*addr)
		return
	}
	s := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Path()) != "/socket.io/" || string(ctx.QueryArgs().Peek("transport")) != "websocket" {
				ctx.SetStatusCode(fasthttp.StatusBadRequest)
				return
			}
			if err := upgrader.Upgrade(ctx, serve); err != nil {
				return
			}
		},
		NoDefaultServerHeader: true,
	}
	ln, err := net.Listen("tcp4", *addr)
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	_ = ln.Close()
}

// serveFiber serves the floor's connection handler at /socket.io/ of a
// Fiber app on addr, behind the contrib websocket middleware with the
// plain floor's buffer sizes, until SIGTERM or SIGINT.
func serveFiber(addr string) {
	app := fiber.New()
	app.Get("/socket.io/", func(c fiber.Ctx) error {
		if c.Query("transport") != "websocket" || !contribws.IsWebSocketUpgrade(c) {
			return c.SendStatus(fiber.StatusBadRequest)
		}
		return c.Next()
	}, contribws.New(func(c *contribws.Conn) { serve(c.Conn) }, contribws.Config{
		ReadBufferSize:  upgrader.ReadBufferSize,
		WriteBufferSize: upgrader.WriteBufferSize,
	}))
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	_ = ln.Close()
}
