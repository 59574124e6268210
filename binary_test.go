package socketio

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
)

// TestBinaryRoundTrip drives the real socket.io-client over each transport
// with binary data both ways: a Buffer, an ArrayBuffer and a Uint8Array,
// alone, nested in objects and arrays, several per packet; the server acks
// with bytes, emits bytes nested in Go values with an ack, and the client
// acks with a Buffer and an ArrayBuffer; the same again multiplexed in the
// /admin namespace.
func TestBinaryRoundTrip(t *testing.T) {
	// forceBase64: the client sends binary packets as base64 text ("b"),
	// on WebSocket too.
	base64Transports := []struct{ name, opts string }{
		{"websocket-base64", `transports: ["websocket"], forceBase64: true`},
		{"upgrade-base64", `transports: ["polling", "websocket"], forceBase64: true`},
	}
	for _, tr := range append(transports[:len(transports):len(transports)], base64Transports...) {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(testConfig())
			var (
				mu       sync.Mutex
				problems []string
				upSeen   bool
				reply    string
				adminHex string
			)
			report := func(format string, a ...any) {
				mu.Lock()
				problems = append(problems, fmt.Sprintf(format, a...))
				mu.Unlock()
			}
			srv.On("up", func(ep *EventPayload) {
				var (
					buf, ab, u8 []byte
					obj         struct {
						Nested struct {
							Buf  []byte   `json:"buf"`
							List [][]byte `json:"list"`
							N    int      `json:"n"`
						} `json:"nested"`
					}
					arr  [][]byte
					text string
				)
				if err := ep.Decode(&buf, &ab, &u8, &obj, &arr, &text); err != nil {
					report("up: decode: %v", err)
				}
				want := []struct {
					name      string
					got, want []byte
				}{
					{"Buffer", buf, []byte{1, 2, 3}},
					{"ArrayBuffer", ab, []byte{4, 5}},
					{"Uint8Array", u8, []byte{6}},
					{"nested Buffer", obj.Nested.Buf, []byte("xyz")},
				}
				for _, w := range want {
					if !bytes.Equal(w.got, w.want) {
						report("up: %s = %v, want %v", w.name, w.got, w.want)
					}
				}
				if len(obj.Nested.List) != 2 || string(obj.Nested.List[0]) != "a" || string(obj.Nested.List[1]) != "c" || obj.Nested.N != 7 {
					report("up: nested list %q n %d", obj.Nested.List, obj.Nested.N)
				}
				var generic map[string]any
				if err := ep.Bind(3, &generic); err != nil {
					report("up: bind generic: %v", err)
				} else if b, ok := generic["nested"].(map[string]any)["buf"].([]byte); !ok || string(b) != "xyz" {
					report("up: generic nested buf %#v", generic["nested"])
				}
				if len(arr) != 1 || string(arr[0]) != "b" || text != "text" {
					report("up: array %q text %q", arr, text)
				}
				if len(ep.Attachments) != 7 {
					report("up: %d attachments, want 7", len(ep.Attachments))
				}
				if string(ep.Args[0]) != `{"_placeholder":true,"num":0}` {
					report("up: raw first argument %s", ep.Args[0])
				}
				mu.Lock()
				upSeen = true
				mu.Unlock()
				if err := ep.AckValues("ok", []byte{9, 8, 7}, map[string]any{"deep": []any{[]byte("q"), 1}}); err != nil {
					report("up: AckValues: %v", err)
				}
			})
			srv.On("go", func(ep *EventPayload) {
				type file struct {
					Name string `json:"name"`
					Data []byte `json:"data"`
				}
				err := ep.Kws.EmitValuesWithAckTimeout("down", 5*time.Second, func(r *AckReply, err error) {
					if err != nil {
						report("down: ack error %v", err)
						ep.Kws.EmitValues("done", "error")
						return
					}
					var (
						b     []byte
						inner struct {
							Inner []byte `json:"inner"`
						}
					)
					if err := r.Decode(&b, &inner); err != nil {
						report("down: reply decode: %v", err)
					}
					mu.Lock()
					reply = fmt.Sprintf("%s|%v|%d", b, inner.Inner, len(r.Attachments))
					mu.Unlock()
					if err := ep.Kws.EmitValues("done", "ok"); err != nil {
						report("done: %v", err)
					}
				}, []byte{0, 255}, file{Name: "f.bin", Data: []byte("file")}, [][]byte{[]byte("x"), []byte("yy")}, "s", 5)
				if err != nil {
					report("down: %v", err)
				}
			})
			srv.Of("/admin").On("adminUp", func(ep *EventPayload) {
				var b []byte
				if err := ep.Decode(&b); err != nil {
					report("adminUp: %v", err)
				}
				mu.Lock()
				adminHex = fmt.Sprintf("%x", b)
				mu.Unlock()
				if err := ep.AckValues(map[string][]byte{"back": append(b, 0xee)}); err != nil {
					report("adminUp: AckValues: %v", err)
				}
			})
			ts := startServer(t, srv, nil)
			res := runNode(t, ts.url, `
const opts = { `+tr.opts+` };
const socket = io(URL, opts);
const admin = io(URL + "/admin", opts);
const hex = (b) => Buffer.isBuffer(b) ? b.toString("hex") : "NOT A BUFFER: " + JSON.stringify(b);
const state = {};
function maybeDone() {
  if (!state.main || !state.admin) return;
  out({ transport: socket.io.engine.transport.name });
  socket.disconnect(); admin.disconnect();
  setTimeout(() => process.exit(0), 50);
}
socket.on("connect_error", (e) => fail("connect_error " + e.message));
admin.on("connect_error", (e) => fail("admin connect_error " + e.message));
socket.on("down", (b, file, list, s, n, cb) => {
  out({ down: [hex(b), file.name, hex(file.data), list.map(hex), s, n] });
  cb(Buffer.from("reply"), { inner: new Uint8Array([5, 6]).buffer });
});
socket.on("done", (s) => { out({ done: s }); state.main = true; maybeDone(); });
socket.once("connect", () => {
  const ab = new Uint8Array([4, 5]).buffer;
  socket.emit("up", Buffer.from([1, 2, 3]), ab, new Uint8Array([6]),
    { nested: { buf: Buffer.from("xyz"), list: [Buffer.from("a"), Buffer.from("c")], n: 7 } },
    [Buffer.from("b")], "text",
    (s, b, o) => {
      out({ upAck: [s, hex(b), hex(o.deep[0]), o.deep[1]] });
      socket.emit("go");
    });
});
admin.once("connect", () => {
  admin.emit("adminUp", Buffer.from([0xab, 0xcd]), (o) => {
    out({ adminAck: hex(o.back) });
    state.admin = true; maybeDone();
  });
});
`, 20*time.Second)
			for _, w := range []string{
				`{"upAck":["ok","090807","71",1]}`,
				`{"down":["00ff","f.bin","66696c65",["78","7979"],"s",5]}`,
				`{"done":"ok"}`,
				`{"adminAck":"abcdee"}`,
			} {
				if !res.has(w) {
					t.Errorf("client output lacks %s; got %q", w, res.lines)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for _, p := range problems {
				t.Error(p)
			}
			if !upSeen {
				t.Error("the server never saw the client's binary event")
			}
			if reply != "reply|[5 6]|2" {
				t.Errorf("client's binary ack = %q", reply)
			}
			if adminHex != "abcd" {
				t.Errorf("/admin binary event = %q", adminHex)
			}
		})
	}
}

// TestBinaryEmitLimits checks what an emit refuses: more attachments than
// MaxAttachments, values encoding/json cannot encode, reserved names.
func TestBinaryEmitLimits(t *testing.T) {
	srv := NewServer(testConfig())
	errs := make(chan error, 4)
	ts := startServer(t, srv, func(kws *Websocket) {
		many := make([]any, 11)
		for i := range many {
			many[i] = []byte{byte(i)}
		}
		errs <- kws.EmitValues("many", many...)
		errs <- kws.EmitValues("bad", make(chan int))
		errs <- kws.EmitValues("disconnect", []byte{1})
		errs <- kws.EmitValues("fine", many[:10]...)
	})
	res := runNode(t, ts.url, `
const socket = io(URL, { transports: ["websocket"] });
socket.on("many", () => out("many arrived"));
socket.on("fine", (...args) => { out({ fine: args.length, buffers: args.every(Buffer.isBuffer) }); process.exit(0); });
`, 10*time.Second)
	if !errors.Is(<-errs, ErrTooManyAttachments) {
		t.Error("11 attachments not refused")
	}
	if err := <-errs; err == nil {
		t.Error("a channel was encoded")
	}
	if !errors.Is(<-errs, ErrReservedEventName) {
		t.Error("reserved name not refused")
	}
	if err := <-errs; err != nil {
		t.Errorf("10 attachments: %v", err)
	}
	if res.has(`"many arrived"`) || !res.has(`{"fine":10,"buffers":true}`) {
		t.Errorf("client output %q", res.lines)
	}
}

// TestWebSocketBase64Binary: on a WebSocket whose client asked for base64
// ("b64" in its query, as socket.io-client sends with forceBase64), binary
// messages go both ways as text, "b" and the base64, as the Node server
// sends them; without it they go as binary messages.
func TestWebSocketBase64Binary(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	for _, tc := range []struct {
		query    string
		wantType int
		want     string
	}{
		{"&b64=1", fws.TextMessage, "bAQID"},
		{"", fws.BinaryMessage, "\x01\x02\x03"},
	} {
		w := dialWS(t, es.testServer, tc.query)
		if open := w.read(); !strings.HasPrefix(open, "0{") {
			t.Fatalf("%s: open %q", tc.query, open)
		}
		w.send("40")
		connectReplySID(t, w.read(), "/")
		w.send(`451-1["echo",{"_placeholder":true,"num":0}]`)
		w.send("bAQID") // the attachment in base64, as forceBase64 sends it
		w.expect(`461-1[{"_placeholder":true,"num":0}]`)
		if mt, msg := w.readMessage(); mt != tc.wantType || string(msg) != tc.want {
			t.Errorf("%s: attachment as message type %d %q, want %d %q", tc.query, mt, msg, tc.wantType, tc.want)
		}
		w.roundTrip("after binary")
	}
}
