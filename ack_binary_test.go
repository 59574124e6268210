package socketio

import (
	"bytes"
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
