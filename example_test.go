package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing/fstest"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/fiber-socketio/socketio"
	"github.com/gofiber/fiber/v3"
)

// New returns the handler of the default server; mount it on GET, POST and
// OPTIONS of one path. The callback runs for every socket that connects.
func ExampleNew() {
	app := fiber.New()

	h := socketio.New(func(kws *socketio.Websocket) {
		kws.SetAttribute("user", kws.Query("user", "guest"))
		kws.EmitEvent("welcome", []byte(`{"id":"`+kws.UUID+`"}`))
	})
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)
	app.Options("/socket.io/", h)

	log.Fatal(app.Listen("127.0.0.1:3000"))
}

// On registers a listener for a client event, or for a lifecycle event
// such as EventConnect and EventDisconnect.
func ExampleOn() {
	socketio.On("chat", func(ep *socketio.EventPayload) {
		// ep.Data is the first argument as raw JSON; ep.Args holds all.
		var text string
		if err := json.Unmarshal(ep.Data, &text); err != nil {
			return
		}
		msg, _ := json.Marshal(map[string]string{
			"from": ep.Kws.GetStringAttribute("user"),
			"text": text,
		})
		ep.Kws.Broadcast(msg, true) // everyone in the namespace but the sender
	})
	socketio.On(socketio.EventDisconnect, func(ep *socketio.EventPayload) {
		log.Printf("socket %s left: %v", ep.SocketUUID, ep.Error)
	})
}

// Websocket.On adds a listener to one socket, as Node's socket.on in the
// connection handler: its closure keeps that connection's state. Use adds
// a middleware that sees every event of the socket first.
func ExampleWebsocket_On() {
	h := socketio.New(func(kws *socketio.Websocket) {
		var votes atomic.Int64 // this socket's own (EventDisconnect may run on another goroutine)
		kws.Use(func(ep *socketio.EventPayload) error {
			if kws.GetStringAttribute("user") == "" && ep.Name != "login" {
				return errors.New("log in first") // reaches EventError, not the listeners
			}
			return nil
		})
		kws.On("login", func(ep *socketio.EventPayload) {
			kws.SetAttribute("user", string(ep.Data))
		})
		kws.On("vote", func(ep *socketio.EventPayload) {
			_ = ep.Ack([]byte(fmt.Sprint(votes.Add(1))))
		})
		kws.OnAny(func(ep *socketio.EventPayload) { log.Printf("%s: %s", kws.UUID, ep.Name) })
		kws.On(socketio.EventDisconnect, func(ep *socketio.EventPayload) {
			log.Printf("%s cast %d votes", kws.UUID, votes.Load())
		})
	})
	app := fiber.New()
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)
}

// EmitWithAckTimeout sends an event the client answers with a callback; the
// Go callback receives the client's first argument, or an error when the
// client does not answer in time or disconnects.
func ExampleWebsocket_EmitWithAckTimeout() {
	socketio.On(socketio.EventConnect, func(ep *socketio.EventPayload) {
		ep.Kws.EmitWithAckTimeout("question", []byte(`{"q":"ready?"}`), 5*time.Second,
			func(ack []byte, err error) {
				switch {
				case errors.Is(err, socketio.ErrAckTimeout):
					log.Print("no answer within 5s")
				case errors.Is(err, socketio.ErrAckDisconnected):
					log.Print("client left before answering")
				default:
					log.Printf("client answered %s", ack)
				}
			})
	})
	// Client side:
	//   socket.on("question", (q, cb) => cb({ ready: true }));
}

// Ack answers the callback a client passed to socket.emit. Arguments are
// raw JSON; other text is sent as a JSON string.
func ExampleEventPayload_Ack() {
	socketio.On("echo", func(ep *socketio.EventPayload) {
		if !ep.HasAck {
			return // the client emitted without a callback
		}
		if err := ep.Ack(ep.Args...); err != nil {
			log.Printf("ack: %v", err)
		}
	})
	// Client side:
	//   socket.emit("echo", "hi", { n: 1 }, (a, b) => console.log(a, b));
}

// NewServer builds an independent server with its own settings. Here it
// serves on a loopback port and a bare WebSocket client speaks the wire
// format: it connects the main namespace ("40"), emits "echo" with ack id 0
// ("420[...]"), and reads the server's ACK ("430[...]").
func ExampleNewServer() {
	cfg := socketio.DefaultConfig()
	cfg.PingInterval = 10 * time.Second
	cfg.MaxEventNameLength = 64
	srv := socketio.NewServer(cfg)
	srv.On("echo", func(ep *socketio.EventPayload) {
		_ = ep.Ack(ep.Args...)
	})

	app := fiber.New()
	h := srv.Handler(nil)
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = app.ShutdownWithTimeout(5 * time.Second)
	}()

	reply, err := emitRaw("ws://"+ln.Addr().String()+"/socket.io/?EIO=4&transport=websocket", `420["echo","hello",{"n":1}]`)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(reply)
	// Output: 430["hello",{"n":1}]
}

// emitRaw opens a WebSocket session, connects the main namespace, sends
// one packet and returns the next message that is not a PING.
func emitRaw(url, packet string) (string, error) {
	conn, _, err := fws.DefaultDialer.Dial(url, nil)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	read := func() (string, error) {
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil || string(msg) != "2" {
				return string(msg), err
			}
			if err := conn.WriteMessage(fws.TextMessage, []byte("3")); err != nil {
				return "", err
			}
		}
	}
	if open, err := read(); err != nil || !strings.HasPrefix(open, "0{") {
		return "", fmt.Errorf("open: %q %v", open, err)
	}
	if err := conn.WriteMessage(fws.TextMessage, []byte("40")); err != nil {
		return "", err
	}
	if connected, err := read(); err != nil || !strings.HasPrefix(connected, "40{") {
		return "", fmt.Errorf("connect: %q %v", connected, err)
	}
	if err := conn.WriteMessage(fws.TextMessage, []byte(packet)); err != nil {
		return "", err
	}
	return read()
}

// ExampleServer_OnConnectionError reports the requests the endpoint
// refuses, here a polling request for a session this node does not have,
// which is what a load balancer without sticky sessions causes.
func ExampleServer_OnConnectionError() {
	srv := socketio.NewServer(socketio.DefaultConfig())
	srv.OnConnectionError(func(e *socketio.ConnectionError) {
		fmt.Println(e.Status, e.Code, e.Message, e.Context["sid"])
	})
	app := fiber.New()
	app.Get("/socket.io/", srv.Handler(nil))

	resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling&sid=abc", nil))
	if err != nil {
		log.Fatal(err)
	}
	_ = resp.Body.Close()
	// Output: 400 1 Session ID unknown abc
}

// ExampleServer_OnHeaders sets a cookie on the handshake response of every
// session, as Node's io.engine.on("initial_headers") does.
func ExampleServer_OnHeaders() {
	cfg := socketio.DefaultConfig()
	cfg.CloseTimeout = 100 * time.Millisecond // the session below is never polled again
	srv := socketio.NewServer(cfg)
	srv.OnHeaders(func(c fiber.Ctx, initial bool) {
		if initial {
			c.Cookie(&fiber.Cookie{Name: "uid", Value: "1234", SameSite: "Strict"})
		}
	})
	app := fiber.New()
	app.Get("/socket.io/", srv.Handler(nil))

	resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling", nil))
	if err != nil {
		log.Fatal(err)
	}
	_ = resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Set-Cookie"))
	_ = srv.Shutdown(context.Background())
	// Output: 200 uid=1234; path=/; SameSite=Strict
}

// Count the messages and bytes of every connection, as monitoring does
// (the admin module's statistics are built on it), and log why sessions
// and sockets end, with the reasons Node's server gives.
func ExampleServer_ObserveEngine() {
	cfg := socketio.DefaultConfig()
	cfg.CloseTimeout = 100 * time.Millisecond
	srv := socketio.NewServer(cfg)
	var messagesIn, bytesIn atomic.Int64
	srv.ObserveEngine(socketio.EngineObserver{
		Open: func(sid, transport string) { fmt.Println("open on", transport) },
		PacketIn: func(_ string, size int) {
			messagesIn.Add(1)
			bytesIn.Add(int64(size))
		},
		Close: func(_, reason string) { fmt.Println("closed:", reason) },
	})
	srv.On(socketio.EventDisconnect, func(ep *socketio.EventPayload) {
		fmt.Println("socket disconnected:", ep.Reason())
	})
	app := fiber.New()
	h := srv.Handler(nil)
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)

	// A polling client: handshake, then CONNECT to "/".
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling", nil))
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	var open struct{ SID string }
	_ = json.Unmarshal(body[1:], &open)
	post := httptest.NewRequest(http.MethodPost, "/socket.io/?EIO=4&transport=polling&sid="+open.SID, strings.NewReader("40"))
	if resp, err = app.Test(post); err != nil {
		log.Fatal(err)
	}
	_ = resp.Body.Close()
	_ = srv.Shutdown(context.Background())
	fmt.Println(messagesIn.Load(), "message in,", bytesIn.Load(), "byte")
	// Output:
	// open on polling
	// socket disconnected: server shutting down
	// closed: server shutting down
	// 1 message in, 1 byte
}

// Serve the socket.io-client bundle next to the endpoint, as Node's
// serveClient does: here from an in-memory file system standing for the
// npm package's dist directory (os.DirFS or an embed.FS in an app).
func ExampleConfig_clientFiles() {
	cfg := socketio.DefaultConfig()
	cfg.ClientFiles = fstest.MapFS{"socket.io.min.js": {Data: []byte("/* the client */")}}
	cfg.ClientVersion = "4.8.4"
	srv := socketio.NewServer(cfg)
	app := fiber.New()
	h := srv.Handler(nil)
	app.Get("/socket.io/*", h) // the endpoint and the files
	app.Post("/socket.io/*", h)

	resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/socket.io/socket.io.min.js", nil))
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("ETag"), string(body))

	again := httptest.NewRequest(http.MethodGet, "/socket.io/socket.io.min.js", nil)
	again.Header.Set("If-None-Match", `"4.8.4"`)
	if resp, err = app.Test(again); err != nil {
		log.Fatal(err)
	}
	_ = resp.Body.Close()
	fmt.Println(resp.StatusCode)
	_ = srv.Shutdown(context.Background())
	// Output:
	// 200 application/javascript; charset=utf-8 "4.8.4" /* the client */
	// 304
}

// With ReuseEventPayloads the payload of a client's event is recycled once
// its listeners return: a listener copies out what it keeps (Data, an
// element of Args and Kws may be kept, the payload and its Args slice may
// not), and an ack answered later, here from a goroutine, keeps its
// payload until it is sent.
func ExampleConfig_reuseEventPayloads() {
	cfg := socketio.DefaultConfig()
	cfg.ReuseEventPayloads = true
	srv := socketio.NewServer(cfg)
	saved := make(chan string, 1)
	srv.On("save", func(ep *socketio.EventPayload) {
		data := ep.Data // the argument's bytes are not reused
		go func() {
			saved <- string(data)
			_ = ep.Ack([]byte(`"saved"`))
		}()
	})

	app := fiber.New()
	h := srv.Handler(nil)
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = app.ShutdownWithTimeout(5 * time.Second)
	}()

	reply, err := emitRaw("ws://"+ln.Addr().String()+"/socket.io/?EIO=4&transport=websocket", `427["save",{"draft":1}]`)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-saved)
	fmt.Println(reply)
	// Output:
	// {"draft":1}
	// 437["saved"]
}
