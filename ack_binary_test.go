package socketio

import (
	"bytes"
	"errors"
	"sort"
	"testing"
	"time"
)

// TestAckEchoesBinary: ep.Ack(ep.Args...) answers a binary event with its
// Buffers, as a Node listener calling back with its arguments does; a
// part of the arguments takes the attachments it refers to, renumbered;
// and an answer without placeholders stays a plain ACK.
func TestAckEchoesBinary(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(testConfig())
			srv.On("echo", func(ep *EventPayload) {
				if err := ep.Ack(ep.Args...); err != nil {
					t.Errorf("echo: %v", err)
				}
			})
			srv.On("second", func(ep *EventPayload) {
				if err := ep.Ack(ep.Args[1], []byte("text"), nil, ep.Args[0]); err != nil {
					t.Errorf("second: %v", err)
				}
			})
			srv.On("plain", func(ep *EventPayload) {
				if err := ep.Ack([]byte(`"fine"`)); err != nil {
					t.Errorf("plain: %v", err)
				}
			})
			ts := startServer(t, srv, nil)
			res := runNode(t, ts.url, `
const socket = io(URL, { `+tr.opts+` });
const norm = (v) => Buffer.isBuffer(v) ? "hex:" + v.toString("hex") : v instanceof ArrayBuffer ? "hex:" + Buffer.from(v).toString("hex") : v;
const deep = (v) => Array.isArray(v) ? v.map(deep) : v && typeof v === "object" && !Buffer.isBuffer(v) && !(v instanceof ArrayBuffer)
  ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x)])) : norm(v);
socket.on("connect_error", (e) => fail("connect_error " + e.message));
const ask = (ev, ...a) => new Promise((resolve) => socket.emit(ev, ...a, (...x) => resolve(x)));
socket.once("connect", async () => {
  const args = [Buffer.from([1, 2]), { a: Buffer.from("ab"), b: [new Uint8Array([7]).buffer, 1] }, "t", 5];
  out({ echo: deep(await ask("echo", ...args)) });
  out({ second: deep(await ask("second", ...args)) });
  out({ plain: deep(await ask("plain", Buffer.from([3]))) });
  socket.disconnect();
  setTimeout(() => process.exit(0), 50);
});
`, 20*time.Second)
			for _, w := range []string{
				`{"echo":["hex:0102",{"a":"hex:6162","b":["hex:07",1]},"t",5]}`,
				`{"second":[{"a":"hex:6162","b":["hex:07",1]},"text","hex:0102"]}`,
				`{"plain":["fine"]}`,
			} {
				if !res.has(w) {
					t.Errorf("client output lacks %s; got %q", w, res.lines)
				}
			}
		})
	}
}

// TestAppendBinaryAck: placeholders are renumbered in order of
// appearance, each taking its attachment (twice if used twice); text is
// quoted and empty arguments skipped, as by appendAck; a placeholder of
// no attachment of the event, or none at all, leaves the answer to
// appendAck.
func TestAppendBinaryAck(t *testing.T) {
	atts := [][]byte{[]byte("A"), []byte("B"), []byte("C")}
	ph := func(n string) string { return `{"_placeholder":true,"num":` + n + `}` }
	pkt, used, ok := appendBinaryAck(nil, "/x", 7, [][]byte{
		[]byte(`[` + ph("2") + `,` + ph("0") + `]`), nil, []byte("plain text"), []byte(ph("2")),
	}, atts)
	want := `461-/x,7[[` + ph("0") + `,` + ph("1") + `],"plain text",` + ph("2") + `]`
	// 4 (message), 6 (BINARY_ACK), 3 attachments.
	want = "463-" + want[4:]
	if !ok || string(pkt) != want {
		t.Errorf("got %q ok %v, want %q", pkt, ok, want)
	}
	if len(used) != 3 || !bytes.Equal(used[0], atts[2]) || !bytes.Equal(used[1], atts[0]) || !bytes.Equal(used[2], atts[2]) {
		t.Errorf("attachments %q, want C A C", used)
	}
	for _, args := range [][][]byte{
		{[]byte(`{"a":1}`), []byte("x")},
		{[]byte(ph("3"))},
	} {
		if _, _, ok := appendBinaryAck(nil, "/", 1, args, atts); ok {
			t.Errorf("%q: a BINARY_ACK, want none", args)
		}
	}
}

// TestBroadcastValues: a room broadcast of Go values reaches every client
// in the room with its []byte values as Buffers (Node's
// io.to(room).emit with Buffers), from a socket's operator (the sender
// excluded) and from the server's; an encoding it cannot do, or too many
// attachments, is refused before anything is sent.
func TestBroadcastValues(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(testConfig())
			srv.On("join", func(ep *EventPayload) {
				ep.Kws.Join("r")
				_ = ep.Ack()
			})
			srv.On("share", func(ep *EventPayload) {
				var data []byte
				if err := ep.Decode(&data); err != nil {
					t.Errorf("share: %v", err)
				}
				if err := ep.Kws.To("r").EmitValues("shared", data, map[string]any{"copy": append(data, 0xff), "n": 1}); err != nil {
					t.Errorf("socket's EmitValues: %v", err)
				}
				if err := srv.To("r").EmitValues("all", []byte("x"), nil, "s"); err != nil {
					t.Errorf("server's EmitValues: %v", err)
				}
				_ = ep.Ack()
			})
			if err := srv.To("r").EmitValues("bad", func() {}); err == nil {
				t.Error("EmitValues of a func: no error")
			}
			many := make([]any, 11)
			for i := range many {
				many[i] = []byte{byte(i)}
			}
			if err := srv.EmitValues("many", many...); !errors.Is(err, ErrTooManyAttachments) {
				t.Errorf("EmitValues of 11 []byte: %v, want ErrTooManyAttachments", err)
			}
			ts := startServer(t, srv, nil)
			res := runNode(t, ts.url, `
const opts = { `+tr.opts+`, forceNew: true };
const a = io(URL, opts), b = io(URL, opts);
const hex = (v) => Buffer.isBuffer(v) ? v.toString("hex") : "NOT A BUFFER " + JSON.stringify(v);
const got = {};
const seen = (who, what) => {
  got[who] = (got[who] || []).concat([what]);
  if ((got.a || []).length === 1 && (got.b || []).length === 2) {
    out({ a: got.a, b: got.b });
    a.disconnect(); b.disconnect();
    setTimeout(() => process.exit(0), 50);
  }
};
a.on("shared", () => fail("the sender got its own broadcast"));
b.on("shared", (data, o) => seen("b", ["shared", hex(data), hex(o.copy), o.n]));
for (const [who, s] of [["a", a], ["b", b]]) {
  s.on("all", (x, n, str) => seen(who, ["all", hex(x), n, str]));
  s.on("connect_error", (e) => fail("connect_error " + e.message));
}
Promise.all([a, b].map((s) => new Promise((r) => s.on("connect", r))))
  .then(() => Promise.all([a.emitWithAck("join"), b.emitWithAck("join")]))
  .then(() => a.emit("share", Buffer.from([1, 2, 3])));
`, 20*time.Second)
			want := `{"a":[["all","78",null,"s"]],"b":[["shared","010203","010203ff",1],["all","78",null,"s"]]}`
			if !res.has(want) {
				t.Errorf("client output %q, want %s", res.lines, want)
			}
		})
	}
}

// TestBroadcastValuesWithAck: a room broadcast of Go values with an ack
// (Node's io.to(room).timeout(d).emit with Buffers and a callback) reaches
// each client with its Buffers, and the callback gets every answer.
func TestBroadcastValuesWithAck(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	answers := make(chan []string, 1)
	srv.On("join", func(ep *EventPayload) {
		ep.Kws.Join("r")
		_ = ep.Ack()
	})
	srv.On("go", func(ep *EventPayload) {
		err := srv.To("r").Timeout(5*time.Second).EmitValuesWithAck("ask", func(replies []*AckReply, err error) {
			if err != nil {
				t.Errorf("broadcast ack: %v", err)
			}
			got := make([]string, len(replies))
			for i, r := range replies {
				if err := r.Decode(&got[i]); err != nil || len(r.Attachments) != 0 {
					t.Errorf("reply %q: %v, %d attachments", r.Args, err, len(r.Attachments))
				}
			}
			sort.Strings(got)
			answers <- got
			_ = srv.To("r").Emit("done")
		}, []byte{1, 2}, map[string]any{"b": []byte{3}})
		if err != nil {
			t.Errorf("EmitValuesWithAck: %v", err)
		}
	})
	ts := startServer(t, srv, nil)
	runNode(t, ts.url, `
const opts = { transports: ["websocket"], forceNew: true };
const clients = [io(URL, opts), io(URL, opts)];
clients.forEach((s, i) => {
  s.on("ask", (buf, o, cb) => cb(i + ":" + buf.toString("hex") + ":" + o.b.toString("hex")));
  s.on("connect_error", (e) => fail("connect_error " + e.message));
});
Promise.all(clients.map((s) => new Promise((r) => s.on("connect", r))))
  .then(() => Promise.all(clients.map((s) => s.emitWithAck("join"))))
  .then(() => clients[0].emit("go"));
clients[0].on("done", () => { clients.forEach((s) => s.disconnect()); setTimeout(() => process.exit(0), 50); });
`, 15*time.Second)
	select {
	case got := <-answers:
		if want := []string{"0:0102:03", "1:0102:03"}; !equalStrings(got, want) {
			t.Errorf("answers %q, want %q", got, want)
		}
	default:
		t.Fatal("the client saw done, yet no broadcast ack callback ran")
	}
}

// TestBroadcastAckBinaryAnswers: clients in a room answer a broadcast
// with acks with Buffers (one alone, one nested in an object with text
// and in an array), with nothing, and with text. EmitWithAck's callback
// gets each Buffer as Node's Buffer.toJSON writes it, the rest unchanged;
// EmitValuesWithAck's replies decode to the exact bytes.
func TestBroadcastAckBinaryAnswers(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(testConfig())
			raws := make(chan []string, 1)
			replies := make(chan []*AckReply, 1)
			srv.On("join", func(ep *EventPayload) {
				ep.Kws.Join("r")
				_ = ep.Ack()
			})
			srv.On("go", func(ep *EventPayload) {
				err := srv.To("r").Timeout(5*time.Second).EmitWithAck("ask", nil, func(responses [][]byte, err error) {
					if err != nil {
						t.Errorf("EmitWithAck's callback: %v", err)
					}
					got := make([]string, len(responses))
					for i, r := range responses {
						got[i] = "<nil>"
						if r != nil {
							got[i] = string(r)
						}
					}
					sort.Strings(got)
					raws <- got
					err = srv.To("r").Timeout(5*time.Second).EmitValuesWithAck("ask", func(r []*AckReply, err error) {
						if err != nil {
							t.Errorf("EmitValuesWithAck's callback: %v", err)
						}
						replies <- r
						_ = srv.To("r").Emit("done")
					}, []byte{9})
					if err != nil {
						t.Errorf("EmitValuesWithAck: %v", err)
					}
				})
				if err != nil {
					t.Errorf("EmitWithAck: %v", err)
				}
			})
			ts := startServer(t, srv, nil)
			runNode(t, ts.url, `
const opts = { `+tr.opts+`, forceNew: true };
const clients = [io(URL, opts), io(URL, opts), io(URL, opts), io(URL, opts)];
const answers = [
  () => [Buffer.from([1, 2])],
  () => [{ text: "hi", nested: { b: Buffer.from([0, 255, 7]) }, list: [new Uint8Array([97, 98]).buffer, 3] }],
  () => [],
  () => ["plain"],
];
clients.forEach((s, i) => {
  s.on("ask", (...a) => { const cb = a.pop(); cb(...answers[i]()); });
  s.on("connect_error", (e) => fail("connect_error " + e.message));
});
Promise.all(clients.map((s) => new Promise((r) => s.on("connect", r))))
  .then(() => Promise.all(clients.map((s) => s.emitWithAck("join"))))
  .then(() => clients[0].emit("go"));
clients[0].on("done", () => { clients.forEach((s) => s.disconnect()); setTimeout(() => process.exit(0), 50); });
`, 20*time.Second)
			select {
			case got := <-raws:
				want := []string{
					`"plain"`,
					"<nil>",
					`{"text":"hi","nested":{"b":{"type":"Buffer","data":[0,255,7]}},"list":[{"type":"Buffer","data":[97,98]},3]}`,
					`{"type":"Buffer","data":[1,2]}`,
				}
				if !equalStrings(got, want) {
					t.Errorf("EmitWithAck's responses\n%q, want\n%q", got, want)
				}
			default:
				t.Fatal("the client saw done, yet EmitWithAck's callback did not run")
			}
			var got []*AckReply
			select {
			case got = <-replies:
			default:
				t.Fatal("the client saw done, yet EmitValuesWithAck's callback did not run")
			}
			var top, nested, none, plain int
			for _, r := range got {
				switch {
				case len(r.Args) == 0:
					none++
				case bytes.HasPrefix(r.Args[0], []byte(`{"_placeholder"`)):
					top++
					var b []byte
					if err := r.Decode(&b); err != nil || !bytes.Equal(b, []byte{1, 2}) {
						t.Errorf("top-level Buffer %q %q: %x, %v", r.Args, r.Attachments, b, err)
					}
				case bytes.HasPrefix(r.Args[0], []byte(`{"text"`)):
					nested++
					var m struct {
						Text   string
						Nested struct{ B []byte }
						List   []any
					}
					if err := r.Decode(&m); err != nil || m.Text != "hi" || !bytes.Equal(m.Nested.B, []byte{0, 255, 7}) ||
						len(m.List) != 2 || !bytes.Equal(asBytes(m.List[0]), []byte("ab")) || m.List[1] != 3.0 {
						t.Errorf("nested Buffers %q %q: %+v, %v", r.Args, r.Attachments, m, err)
					}
					if len(r.Attachments) != 2 {
						t.Errorf("nested Buffers: %d attachments, want 2", len(r.Attachments))
					}
				default:
					plain++
					var s string
					if err := r.Decode(&s); err != nil || s != "plain" || len(r.Attachments) != 0 {
						t.Errorf("plain answer %q %q: %q, %v", r.Args, r.Attachments, s, err)
					}
				}
			}
			if top != 1 || nested != 1 || none != 1 || plain != 1 {
				t.Errorf("replies: %d top-level Buffer, %d nested, %d none, %d plain; want one each", top, nested, none, plain)
			}
		})
	}
}

// asBytes returns v when it is a []byte, nil otherwise.
func asBytes(v any) []byte {
	b, _ := v.([]byte)
	return b
}
