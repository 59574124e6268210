package socketio

import (
	"testing"
	"time"

	"github.com/gofiber/contrib/v3/websocket"
	"github.com/gofiber/fiber/v3"
)

// TestWebSocketSubprotocols: a client offering WebSocket subprotocols
// (socket.io-client's protocols option) gets the first one, as from the
// Node server, whose ws library picks it; a client gets no connection
// unless the server picks one. The Subprotocols of a websocket.Config
// choose among the offered ones instead.
func TestWebSocketSubprotocols(t *testing.T) {
	cases := []struct {
		name string
		cfg  []websocket.Config
		want string
	}{
		{"first offered", nil, "chat-v1"},
		{"Subprotocols", []websocket.Config{{Subprotocols: []string{"other"}}}, "other"},
	}
	for _, tc := range cases {
		for _, tr := range []struct{ name, opts string }{transports[0], transports[2]} {
			t.Run(tc.name+"/"+tr.name, func(t *testing.T) {
				t.Parallel()
				srv := NewServer(testConfig())
				srv.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
				app := fiber.New()
				h := srv.Handler(nil, tc.cfg...)
				app.Get("/socket.io/", h)
				app.Post("/socket.io/", h)
				ts := serveApp(t, srv, app)
				res := runNode(t, ts.url, `
const socket = io(URL, { `+tr.opts+`, protocols: ["chat-v1", "other"], reconnection: false });
socket.on("connect_error", (e) => fail("connect_error " + e.message));
socket.on("connect", async () => {
  while (socket.io.engine.transport.name !== "websocket") await new Promise((r) => setTimeout(r, 5));
  const echo = await socket.timeout(5000).emitWithAck("echo", "hi");
  out({ echo, protocol: socket.io.engine.transport.ws.protocol });
  socket.disconnect();
  setTimeout(() => process.exit(0), 50);
});
`, 15*time.Second)
				if want := `{"echo":"hi","protocol":"` + tc.want + `"}`; !res.has(want) {
					t.Errorf("client output %q, want %s", res.lines, want)
				}
			})
		}
	}
}
