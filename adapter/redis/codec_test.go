package redisadapter

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	socketio "github.com/fiber-socketio/socketio"
	"github.com/vmihailenco/msgpack/v5"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The bytes Node's adapter (notepack.io) wrote, recorded on the channels.
const (
	nodeRoomBroadcast = "93 a66c385174524c 83 a474797065 02 a464617461 92 ad726f6f6d2d31372d306d386362 81a172a152 a36e7370 a12f" +
		"83 a5726f6f6d73 91 aa522d31312d6b76347539 a6657863657074 90 a5666c616773 80"
	nodeBroadcastRequest = "85a3756964a66c385174524ca9726571756573744964a678765a684730a47479706507a67061636b657483a47479706502a46461746192ac61736b2d33382d7262716b6281a17100a36e7370a12fa46f70747383a5726f6f6d7390a665786365707490a5666c61677381a774696d656f7574cd0fa0"
	nodeAck              = "83a47479706509a9726571756573744964a678765a684730a67061636b657483a26964b4517956474d76794561746a675036346b41414141a46e6f6465a56e6f646532a17081a17100"
)

func TestEncodeMatchesNode(t *testing.T) {
	got, err := encodeBroadcast("l8QtRL",
		&socketio.Packet{Nsp: "/", Event: "room-17-0m8cb", Args: [][]byte{[]byte(`{"r":"R"}`)}},
		socketio.BroadcastOptions{Rooms: []string{"R-11-kv4u9"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, nodeRoomBroadcast); !bytes.Equal(got, want) {
		t.Errorf("broadcast\n got %x\nwant %x", got, want)
	}
	got, err = encodeBroadcastRequest("l8QtRL", "xvZhG0",
		&socketio.Packet{Nsp: "/", Event: "ask-38-rbqkb", Args: [][]byte{[]byte(`{"q":0}`)}},
		socketio.BroadcastOptions{Flags: socketio.BroadcastFlags{Timeout: 4 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, nodeBroadcastRequest); !bytes.Equal(got, want) {
		t.Errorf("broadcast request\n got %x\nwant %x", got, want)
	}
	got = encodeAck("xvZhG0", []byte(`{"id":"QyVGMvyEatjgP64kAAAA","node":"node2","p":{"q":0}}`))
	if want := unhex(t, nodeAck); !bytes.Equal(got, want) {
		t.Errorf("ack\n got %x\nwant %x", got, want)
	}
}

func TestDecodeNode(t *testing.T) {
	js, atts, err := msgpackToJSON(unhex(t, nodeRoomBroadcast), binAttach)
	if err != nil || len(atts) != 0 {
		t.Fatal(err, atts)
	}
	want := `["l8QtRL",{"type":2,"data":["room-17-0m8cb",{"r":"R"}],"nsp":"/"},{"rooms":["R-11-kv4u9"],"except":[],"flags":{}}]`
	if string(js) != want {
		t.Errorf("got %s", js)
	}
}

// TestNumbers checks the smallest-int rule both ways and every width on
// decoding.
func TestNumbers(t *testing.T) {
	for _, c := range []struct{ json, hex string }{
		{`0`, "00"}, {`127`, "7f"}, {`128`, "cc80"}, {`255`, "ccff"}, {`256`, "cd0100"},
		{`65536`, "ce00010000"}, {`4294967296`, "cf0000000100000000"},
		{`-1`, "ff"}, {`-32`, "e0"}, {`-33`, "d0df"}, {`-129`, "d1ff7f"}, {`-32769`, "d2ffff7fff"},
		{`-2147483649`, "d3ffffffff7fffffff"}, {`1.5`, "cb3ff8000000000000"}, {`2.0`, "02"},
		{`"é"`, "a2c3a9"}, {`null`, "c0"}, {`true`, "c3"}, {`[]`, "90"}, {`{}`, "80"},
	} {
		var buf bytes.Buffer
		enc := newTestEncoder(&buf)
		if err := writeJSONValue(enc, []byte(c.json), nil); err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(buf.Bytes()); got != c.hex {
			t.Errorf("encode %s: %s, want %s", c.json, got, c.hex)
		}
		back, _, err := msgpackToJSON(buf.Bytes(), binAttach)
		want := c.json
		if want == `2.0` {
			want = `2`
		}
		if err != nil || string(back) != want {
			t.Errorf("decode %s: %s %v", c.hex, back, err)
		}
	}
	for _, c := range []struct{ hex, json string }{
		{"ca3fc00000", "1.5"},                          // float32
		{"d000", "0"},                                  // int8 holding a small value
		{"cd0001", "1"},                                // uint16 holding 1
		{"cb7ff8000000000000", "null"},                 // NaN
		{"d9026869", `"hi"`},                           // str8
		{"dc0001c0", "[null]"},                         // array16
		{"de0001a161c3", `{"a":true}`},                 // map16
		{"8101c3", `{"1":true}`},                       // a key that is not a string
		{"d6ff00000001", `"1970-01-01T00:00:01.000Z"`}, // timestamp32 (a Date)
		{"d40000", "null"},                             // undefined
	} {
		back, _, err := msgpackToJSON(unhex(t, c.hex), binBuffer)
		if err != nil || string(back) != c.json {
			t.Errorf("decode %s: %s %v, want %s", c.hex, back, err, c.json)
		}
	}
}

func TestBinary(t *testing.T) {
	pkt := &socketio.Packet{Nsp: "/", Event: "b",
		Args:        [][]byte{[]byte(`{"x":{"_placeholder":true,"num":0},"y":[{"_placeholder":true,"num":1}]}`)},
		Attachments: [][]byte{{1, 2, 3}, {}}}
	msg, err := encodeBroadcast("u", pkt, socketio.BroadcastOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(msg, unhex(t, "c403010203")) || !bytes.Contains(msg, unhex(t, "c400")) {
		t.Errorf("attachments not encoded as bin: %x", msg)
	}
	js, atts, err := msgpackToJSON(msg, binAttach)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"x":{"_placeholder":true,"num":0},"y":[{"_placeholder":true,"num":1}]`) ||
		len(atts) != 2 || !bytes.Equal(atts[0], []byte{1, 2, 3}) || len(atts[1]) != 0 {
		t.Errorf("decoded %s %v", js, atts)
	}
	js, _, _ = msgpackToJSON(unhex(t, "c4020aff"), binBuffer)
	if string(js) != `{"type":"Buffer","data":[10,255]}` {
		t.Errorf("buffer: %s", js)
	}
}

// TestBinaryAck: in a broadcast's ack, Buffer JSON goes as bin (anywhere
// in the answer), which a Go requester reads back as Buffer JSON;
// look-alikes stay maps; a cluster adapter's ack without one stays JSON.
func TestBinaryAck(t *testing.T) {
	buf := `{"type":"Buffer","data":[202,254,0,255]}`
	for _, c := range []struct{ answer, hex, back string }{
		{buf, "c404cafe00ff", buf},
		{`{"data":[1],"type":"Buffer"}`, "c40101", `{"type":"Buffer","data":[1]}`},
		{`{"type":"Buffer","data":[]}`, "c400", `{"type":"Buffer","data":[]}`},
		{`[1,{"x":` + buf + `}]`, "9201 81a178 c404cafe00ff", `[1,{"x":` + buf + `}]`},
		{`{"type":"Buffer","data":[256]}`, "82 a474797065 a6427566666572 a464617461 91 cd0100", ``},
		{`{"type":"Buffer","data":[1],"n":1}`, "83 a474797065 a6427566666572 a464617461 9101 a16e01", ``},
		{`{"type":"Buffer","data":[1.5]}`, "82 a474797065 a6427566666572 a464617461 91 cb3ff8000000000000", ``},
		{`{"type":"buffer","data":[1]}`, "82 a474797065 a6627566666572 a464617461 9101", ``},
	} {
		var b bytes.Buffer
		if err := writeAckValue(newTestEncoder(&b), []byte(c.answer)); err != nil || !bytes.Equal(b.Bytes(), unhex(t, c.hex)) {
			t.Errorf("writeAckValue(%s) = %x, %v; want %s", c.answer, b.Bytes(), err, c.hex)
		}
		back := c.back
		if back == "" {
			back = c.answer
		}
		if js, _, err := msgpackToJSON(b.Bytes(), binBuffer); err != nil || string(js) != back {
			t.Errorf("%s came back as %s, %v", c.answer, js, err)
		}
	}
	if got := encodeAck("r", []byte(buf)); !bytes.HasSuffix(got, unhex(t, "a67061636b6574 c404cafe00ff")) {
		t.Errorf("encodeAck: %x", got)
	}

	a := &clusterNsp{uid: "u", nsp: "/"}
	for _, c := range []struct {
		typ    int
		packet string
		binary bool
	}{
		{msgBroadcastAck, buf, true},
		{msgBroadcastAck, `{"a":[` + buf + `]}`, true},
		{msgBroadcastAck, `{"type":"Buffer","data":[-1]}`, false},
		{msgBroadcastAck, `"Buffer"`, false},
		{msgBroadcastAck, `{"q":1}`, false},
		{msgServerSideEmitResponse, buf, false},
	} {
		msg, err := a.encodeMsg(c.typ, map[string]any{"requestId": "r", "packet": json.RawMessage(c.packet)})
		if err != nil {
			t.Fatal(err)
		}
		if isJSON := msg[0] == '{'; isJSON == c.binary {
			t.Errorf("type %d with %s: %q", c.typ, c.packet, msg)
			continue
		}
		m, _, err := decodeCluster(msg)
		if err != nil || string(m.Data.Packet) != c.packet {
			t.Errorf("type %d with %s decoded: %+v, %v", c.typ, c.packet, m, err)
		}
	}
}

func TestMalformed(t *testing.T) {
	for _, h := range []string{"", "dc", "92a1", "c1", "dd7fffffff", "de7fffffff", "c5ffff"} {
		if _, _, err := msgpackToJSON(unhex(t, h), binAttach); err == nil {
			t.Errorf("%q decoded", h)
		}
	}
	deep := bytes.Repeat([]byte{0x91}, 1000)
	if _, _, err := msgpackToJSON(append(deep, 0xc0), binAttach); err == nil {
		t.Error("deep nesting decoded")
	}
	// Invalid JSON is sent as a string.
	var buf bytes.Buffer
	if err := writeJSONValue(newTestEncoder(&buf), []byte(`not json`), nil); err != nil || buf.String() != "\xa8not json" {
		t.Errorf("%q %v", buf.String(), err)
	}
}

func newTestEncoder(buf *bytes.Buffer) *msgpack.Encoder { return msgpack.NewEncoder(buf) }

// TestOwnBroadcast: the node's own broadcasts are recognised by their
// head; anything else goes on to the full decoding.
func TestOwnBroadcast(t *testing.T) {
	a := &adapter{uid: "Ab3-_z"}
	pkt := &socketio.Packet{Nsp: "/", Event: "e", Args: [][]byte{[]byte(`1`)}}
	mine, err := encodeBroadcast(a.uid, pkt, socketio.BroadcastOptions{Rooms: []string{"r"}})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := encodeBroadcast("Ab3-_y", pkt, socketio.BroadcastOptions{})
	if !a.ownBroadcast(mine) {
		t.Error("own broadcast not recognised")
	}
	for _, p := range [][]byte{other, mine[:len(a.uid)+2], nil, {0x93}, append([]byte{0x94}, mine[1:]...)} {
		if a.ownBroadcast(p) {
			t.Errorf("% x taken for an own broadcast", p)
		}
	}
}

// TestCompressFlag: Compress(false) travels as "compress": false, as Node's
// adapter writes socket.compress(false); a missing or true flag leaves
// packets compressible. Both adapters' encodings decode back.
func TestCompressFlag(t *testing.T) {
	pkt := &socketio.Packet{Nsp: "/", Event: "e", Args: [][]byte{[]byte(`1`)}}
	for _, noCompress := range []bool{false, true} {
		opts := socketio.BroadcastOptions{Flags: socketio.BroadcastFlags{NoCompress: noCompress}}
		msg, err := encodeBroadcast("u", pkt, opts)
		if err != nil {
			t.Fatal(err)
		}
		js, _, err := msgpackToJSON(msg, binAttach)
		if err != nil {
			t.Fatal(err)
		}
		wantFlags := `"flags":{}`
		if noCompress {
			wantFlags = `"flags":{"compress":false}`
		}
		if !strings.Contains(string(js), wantFlags) {
			t.Errorf("NoCompress %v: classic message %s, want %s", noCompress, js, wantFlags)
		}
		sharded, err := json.Marshal(wireOptions(opts, false))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(sharded), wantFlags) {
			t.Errorf("NoCompress %v: sharded options %s, want %s", noCompress, sharded, wantFlags)
		}
		for _, enc := range [][]byte{js, sharded} {
			var parts []json.RawMessage
			raw := enc
			if json.Unmarshal(enc, &parts) == nil {
				raw = parts[2]
			}
			var o wireOpts
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Fatal(err)
			}
			if got := toOptions(&o).Flags.NoCompress; got != noCompress {
				t.Errorf("%s decodes to NoCompress %v, want %v", raw, got, noCompress)
			}
		}
	}
	var o wireOpts
	if err := json.Unmarshal([]byte(`{"rooms":[],"except":[],"flags":{"compress":true}}`), &o); err != nil || toOptions(&o).Flags.NoCompress {
		t.Errorf(`"compress": true decodes to NoCompress (err %v)`, err)
	}
}

// TestMsgpackDeclaredLengths: a str, bin or ext header declaring more
// bytes than the message holds is refused without allocating them (a
// bin32 of 2.8 GB in a 39-byte message, found by FuzzDecodeEntry, cost
// 2.8 GB and seconds of memclr before).
func TestMsgpackDeclaredLengths(t *testing.T) {
	for name, msg := range map[string][]byte{
		"bin32":        {0xc6, 0xa6, 0x70, 0x61, 0x63, 'x'},
		"str32":        {0xdb, 0xff, 0xff, 0xff, 0xf0, 'x'},
		"ext32":        {0xc9, 0xff, 0xff, 0xff, 0xf0, 0x00, 'x'},
		"in a map":     {0x81, 0xa1, 'k', 0xc5, 0xff, 0xff},
		"fixstr short": {0xa5, 'a', 'b'},
	} {
		for _, mode := range []binMode{binAttach, binBuffer} {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := msgpackToJSON(msg, mode)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Errorf("%s: no error", name)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
				t.Errorf("%s: %d bytes allocated", name, n)
			}
		}
	}
	// What fits is still read.
	js, atts, err := msgpackToJSON([]byte{0x82, 0xa1, 'b', 0xc4, 0x02, 0x00, 0x01, 0xa1, 's', 0xd9, 0x02, 'h', 'i'}, binAttach)
	if err != nil || string(js) != `{"b":{"_placeholder":true,"num":0},"s":"hi"}` || len(atts) != 1 || string(atts[0]) != "\x00\x01" {
		t.Errorf("got %s %q %v", js, atts, err)
	}
}
