package socketio

import (
	"reflect"
	"testing"
	"time"
)

// TestZeroConfigIsDefault: every field of a Config left at zero takes the
// documented default of its package-level variable, so a Config built by
// hand is the default server but for what it sets.
func TestZeroConfigIsDefault(t *testing.T) {
	t.Parallel()
	zero := Config{}.normalized()
	def := DefaultConfig().normalized()
	if !zero.serves("polling") || !zero.serves("websocket") {
		t.Errorf("zero Config serves polling %v, websocket %v", zero.serves("polling"), zero.serves("websocket"))
	}
	def.Transports = nil // nil serves both, as the default list does
	if !reflect.DeepEqual(zero, def) {
		zv, dv := reflect.ValueOf(zero), reflect.ValueOf(def)
		for i := range zv.NumField() {
			f := zv.Type().Field(i)
			if f.IsExported() && !reflect.DeepEqual(zv.Field(i).Interface(), dv.Field(i).Interface()) {
				t.Errorf("%s: zero Config %v, DefaultConfig %v", f.Name, zv.Field(i), dv.Field(i))
			}
		}
	}
}

// TestConfigNegativeDisables: a negative bound or timeout stays negative
// (what a package-level zero maps to), and the session then applies none.
func TestConfigNegativeDisables(t *testing.T) {
	t.Parallel()
	if zeroOff(0*time.Second) != -1 || zeroOff(7) != 7 {
		t.Errorf("zeroOff(0) = %v, zeroOff(7) = %v", zeroOff(0*time.Second), zeroOff(7))
	}
	c := Config{HandshakeTimeout: -1, MaxAuthPayload: -1, MaxEventArgs: -1, PollQueueMaxFrames: -1}.normalized()
	if c.HandshakeTimeout >= 0 || c.MaxAuthPayload >= 0 || c.MaxEventArgs >= 0 {
		t.Errorf("negative values became %v %v %v", c.HandshakeTimeout, c.MaxAuthPayload, c.MaxEventArgs)
	}
	if c.PollQueueMaxFrames < 1<<30 {
		t.Errorf("PollQueueMaxFrames -1 became %d, want no bound", c.PollQueueMaxFrames)
	}
	es := newEchoServer(t, func(c *Config) { c.HandshakeTimeout = -1 })
	sid := openPolling(t, es.testServer)
	if s := es.session(sid); !s.handshakeBy.IsZero() {
		t.Errorf("HandshakeTimeout -1: CONNECT deadline %v, want none", s.handshakeBy)
	}
}

// TestZeroConfigServesDefaultClient: the official client with its default
// options (polling, then the upgrade) connects to NewServer(Config{}) and
// ends on WebSocket; before, a hand-built Config served no polling and
// the client could never connect.
func TestZeroConfigServesDefaultClient(t *testing.T) {
	t.Parallel()
	srv := NewServer(Config{})
	srv.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
	ts := startServer(t, srv, nil)
	res := runNode(t, ts.url, `
const socket = io(URL);
socket.on("connect_error", (e) => fail("connect_error " + e.message));
socket.on("connect", async () => {
  const back = await socket.emitWithAck("echo", "hi");
  const wait = () => socket.io.engine.transport.name === "websocket" ? Promise.resolve()
    : new Promise((r) => socket.io.engine.once("upgrade", r));
  await wait();
  out({ back, transport: socket.io.engine.transport.name });
  socket.disconnect();
  setTimeout(() => process.exit(0), 50);
});
`, 20*time.Second)
	if !res.has(`{"back":"hi","transport":"websocket"}`) {
		t.Errorf("client output %q", res.lines)
	}
}
