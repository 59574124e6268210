package socketio

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
)

// TestShutdownClientsReconnect: a rolling restart. As from the Node
// server, the clients of a server that shuts down see their transport
// close ("transport close", not "io server disconnect"), so the official
// client reconnects on its own, here to the new server on the same
// address.
func TestShutdownClientsReconnect(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			old := NewServer(testConfig())
			ts := startServer(t, old, nil)
			addr := strings.TrimPrefix(ts.url, "http://")
			restarted := make(chan error, 1)
			old.On("ready", func(*EventPayload) {
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					if err := old.Shutdown(ctx); err != nil {
						restarted <- err
						return
					}
					if err := ts.app.ShutdownWithTimeout(5 * time.Second); err != nil {
						restarted <- err
						return
					}
					ln, err := net.Listen("tcp4", addr)
					if err != nil {
						restarted <- err
						return
					}
					srv := NewServer(testConfig())
					srv.On("hello", func(ep *EventPayload) { _ = ep.Ack([]byte(`"new server"`)) })
					app := fiber.New()
					h := srv.Handler(nil)
					app.Get("/socket.io/", h)
					app.Post("/socket.io/", h)
					serveAppOn(t, srv, app, ln)
					restarted <- nil
				}()
			})
			res := runNode(t, ts.url, `
const opts = { `+tr.opts+`, reconnectionDelay: 100, reconnectionDelayMax: 200 };
const socket = io(URL, opts);
let connects = 0;
socket.on("connect", async () => {
  if (++connects === 1) {
    // Upgraded first: a client whose upgrade probe the shutdown closes
    // keeps its polling paused until its heartbeat times out (as with
    // the Node server).
    while (opts.transports.length > 1 && socket.io.engine.transport.name !== "websocket") await new Promise((r) => setTimeout(r, 5));
    return socket.emit("ready");
  }
  out({ hello: await socket.timeout(5000).emitWithAck("hello") });
  socket.disconnect();
  setTimeout(() => process.exit(0), 50);
});
socket.on("disconnect", (reason) => out({ reason, active: socket.active }));
`, 20*time.Second)
			select {
			case err := <-restarted:
				if err != nil {
					t.Fatalf("restart: %v", err)
				}
			default:
				t.Fatal("the server was not restarted")
			}
			for _, want := range []string{`{"reason":"transport close","active":true}`, `{"hello":"new server"}`} {
				if !res.has(want) {
					t.Errorf("client output %q lacks %s", res.lines, want)
				}
			}
		})
	}
}
