package msgpack

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// packetParser restates the core package's Parser interface: Parser must
// satisfy it structurally.
type packetParser interface {
	Encode(text []byte, attachments [][]byte) (msg []byte, binary bool, err error)
	Decode(msg []byte, binary bool) (text []byte, attachments [][]byte, err error)
}

var (
	_ packetParser = Parser{}
	_ packetParser = (*Parser)(nil)
)

// vector is a message of the msgpack wire and the text and attachments (in
// hex) Decode must make of it.
type vector struct {
	name string
	hex  string
	text string
	atts []string
}

// encodeVector is a text packet, its attachments (hex), the message Encode
// makes of it (hex) and what the real Decoder made of that message.
type encodeVector struct {
	name string
	text string
	atts []string
	hex  string
	node string
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func unhexAll(t testing.TB, ss []string) [][]byte {
	t.Helper()
	if ss == nil {
		return nil
	}
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = unhex(t, s)
	}
	return out
}

func hexAll(bs [][]byte) []string {
	if len(bs) == 0 {
		return nil
	}
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = hex.EncodeToString(b)
	}
	return out
}

func sameAttachments(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// checkRoundTrip checks that Encode takes what Decode returned to a message
// that Decode maps back to the same text and attachments.
func checkRoundTrip(t testing.TB, text []byte, atts [][]byte) {
	t.Helper()
	var p Parser
	msg, bin, err := p.Encode(text, atts)
	if err != nil || !bin {
		t.Fatalf("Encode(%q, %x) = %x, %v, %v", text, atts, msg, bin, err)
	}
	text2, atts2, err := p.Decode(msg, true)
	if err != nil {
		t.Fatalf("Decode(Encode(%q)) = %v (message %x)", text, err, msg)
	}
	if !bytes.Equal(text2, text) || !sameAttachments(atts2, atts) {
		t.Fatalf("round trip of %q %x:\n got %q %x", text, atts, text2, atts2)
	}
}

// splitText splits a text packet into the parts the core's parser sees.
func splitText(t testing.TB, text []byte) (typ byte, nsp string, id string, data []byte) {
	t.Helper()
	if len(text) == 0 {
		t.Fatalf("empty text")
	}
	typ = text[0]
	i := 1
	if typ == '5' || typ == '6' {
		j := bytes.IndexByte(text, '-')
		if j < 0 {
			t.Fatalf("%q: no attachment count", text)
		}
		i = j + 1
	}
	nsp = "/"
	if i < len(text) && text[i] == '/' {
		j := i
		for j < len(text) && text[j] != ',' {
			j++
		}
		nsp = string(text[i:j])
		i = j
		if i < len(text) {
			i++
		}
	}
	j := i
	for j < len(text) && text[j] >= '0' && text[j] <= '9' {
		j++
	}
	return typ, nsp, string(text[i:j]), text[j:]
}

func testVectors(t *testing.T, vs []vector) {
	var p Parser
	seen := map[string]bool{}
	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			if seen[v.name] {
				t.Fatalf("duplicate vector name")
			}
			seen[v.name] = true
			text, atts, err := p.Decode(unhex(t, v.hex), true)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if string(text) != v.text {
				t.Errorf("text\n got %s\nwant %s", text, v.text)
			}
			if got := hexAll(atts); strings.Join(got, ",") != strings.Join(v.atts, ",") {
				t.Errorf("attachments\n got %q\nwant %q", got, v.atts)
			}
			checkRoundTrip(t, text, atts)
		})
	}
}

func TestDecodeNodeVectors(t *testing.T) { testVectors(t, nodeVectors) }

func TestDecodeCapturedVectors(t *testing.T) { testVectors(t, captureVectors) }

func TestEncodeVectors(t *testing.T) {
	var p Parser
	for _, v := range encodeVectors {
		t.Run(v.name, func(t *testing.T) {
			msg, bin, err := p.Encode([]byte(v.text), unhexAll(t, v.atts))
			if err != nil || !bin {
				t.Fatalf("Encode: %v, binary %v", err, bin)
			}
			if got := hex.EncodeToString(msg); got != v.hex {
				t.Fatalf("message\n got %s\nwant %s", got, v.hex)
			}
			// Decoding gives the canonical text, which encodes to the
			// same message.
			text, atts, err := p.Decode(msg, true)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			msg2, _, err := p.Encode(text, atts)
			if err != nil || !bytes.Equal(msg2, msg) {
				t.Fatalf("re-encoding %q: %x, %v", text, msg2, err)
			}
			if !json.Valid([]byte(v.node)) {
				t.Fatalf("node is not JSON")
			}
		})
	}
}

// TestDecodeCanonicalText checks that Decode returns the text of a canonical
// text packet that Encode was given (the encodeVectors whose text is already
// what socket.io-parser would write).
func TestDecodeCanonicalText(t *testing.T) {
	var p Parser
	for _, v := range encodeVectors {
		switch v.name {
		case "connect_nsp_no_comma", "binary_placeholder_spacing", "numbers",
			"huge_id", "unicode", "whitespace", "binary_ack":
			continue // not canonical: written differently by Decode
		}
		text, atts, err := p.Decode(unhex(t, v.hex), true)
		if err != nil || string(text) != v.text || !sameAttachments(atts, unhexAll(t, v.atts)) {
			t.Errorf("%s: Decode = %q %x %v", v.name, text, atts, err)
		}
	}
}

// --- a tiny MessagePack builder for hand-made messages ---

// s returns the hex of s as a fixstr (or str 8).
func s(v string) string {
	if len(v) < 32 {
		return hex.EncodeToString(append([]byte{0xa0 | byte(len(v))}, v...))
	}
	return hex.EncodeToString(append([]byte{0xd9, byte(len(v))}, v...))
}

// m returns the hex of a map of n entries given as alternating key (plain
// string) and value (hex) arguments.
func m(kv ...string) string {
	if len(kv)%2 != 0 || len(kv) > 30 {
		panic("bad map")
	}
	out := hex.EncodeToString([]byte{0x80 | byte(len(kv)/2)})
	for i := 0; i < len(kv); i += 2 {
		out += s(kv[i]) + kv[i+1]
	}
	return out
}

// a returns the hex of an array of the given values (hex).
func a(vs ...string) string {
	return hex.EncodeToString([]byte{0x90 | byte(len(vs))}) + strings.Join(vs, "")
}

// pkt is the hex of a packet object {type, data, nsp} with data (hex)
// omitted when empty.
func pkt(typ, nsp, data string) string {
	if data == "" {
		return m("type", typ, "nsp", s(nsp))
	}
	return m("type", typ, "data", data, "nsp", s(nsp))
}

func f64(f float64) string {
	var b [9]byte
	b[0] = 0xcb
	binary.BigEndian.PutUint64(b[1:], math.Float64bits(f))
	return hex.EncodeToString(b[:])
}

func date(ms int64) string {
	var b [10]byte
	b[0], b[1] = 0xd7, 0
	binary.BigEndian.PutUint64(b[2:], uint64(ms))
	return hex.EncodeToString(b[:])
}

const undef = "d40000"

func TestDecodeAccepts(t *testing.T) {
	ev := s("ev")
	tests := []struct {
		name string
		hex  string
		text string
		atts []string
	}{
		{"type as float 64", pkt(f64(2), "/", a(ev)), `2["ev"]`, nil},
		{"type as float 32", pkt("ca40400000", "/", a(ev)), `3["ev"]`, nil},
		{"type as uint 64", pkt("cf0000000000000002", "/", a(ev)), `2["ev"]`, nil},
		{"float 32 value", pkt("02", "/", a(ev, "ca3dcccccd", "ca3fc00000")), `2["ev",0.10000000149011612,1.5]`, nil},
		{"non-minimal ints", pkt("02", "/", a(ev, "cc05", "cd0005", "ce00000005", "cf0000000000000005", "d005", "d1fffb", "d2fffffffb", "d3fffffffffffffffb")), `2["ev",5,5,5,5,5,-5,-5,-5]`, nil},
		{"ints beyond 2^53 as JavaScript holds them", pkt("02", "/", a(ev, "cfffffffffffffffff", "d38000000000000000", "cf0020000000000001", "d3ffdfffffffffffff")), `2["ev",18446744073709552000,-9223372036854776000,9007199254740992,-9007199254740992]`, nil},
		{"float specials", pkt("02", "/", a(ev, f64(math.NaN()), f64(math.Inf(1)), f64(math.Inf(-1)), f64(math.Copysign(0, -1)), f64(1e21), f64(1e-7), f64(123e-20), f64(0.000001), f64(4.0))), `2["ev",null,null,null,0,1e+21,1e-7,1.23e-18,0.000001,4]`, nil},
		{"non-minimal containers and strings", pkt("02", "/", "dc0003"+s("ev")+"de0001"+s("k")+"d903616263"+"dd00000001da0001"+"78"), `2["ev",{"k":"abc"},["x"]]`, nil},
		{"map 32 and str 32", pkt("02", "/", a(ev, "df00000001db00000001"+"6b"+"c0")), `2["ev",{"k":null}]`, nil},
		{"bin 8 16 32", pkt("02", "/", a(ev, "c40101", "c5000102", "c600000001"+"03")), `53-["ev",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]`, []string{"01", "02", "03"}},
		{"ext 0 8 16 32 as binary", pkt("03", "/", a("c7010004", "c800010005", "c90000000100"+"06")), `63-[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]`, []string{"04", "05", "06"}},
		{"empty bin", pkt("02", "/", a(ev, "c400")), `51-["ev",{"_placeholder":true,"num":0}]`, []string{""}},
		{"undefined in array and map", pkt("02", "/", a(ev, undef, m("a", undef, "b", "01", "c", undef), "d40007")), `2["ev",null,{"b":1},null]`, nil},
		{"undefined only map entry", pkt("00", "/", m("a", undef)), `0{}`, nil},
		{"dates", pkt("02", "/", a(ev, date(0), date(-1), date(1500000000000), date(253402300799999), date(253402300800000), date(-62167219200000), date(-62167219200001), date(8.64e15), date(-8.64e15), date(8.64e15+1), date(-8.64e15-1), date(math.MaxInt64))),
			`2["ev","1970-01-01T00:00:00.000Z","1969-12-31T23:59:59.999Z","2017-07-14T02:40:00.000Z","9999-12-31T23:59:59.999Z","+010000-01-01T00:00:00.000Z","0000-01-01T00:00:00.000Z","-000001-12-31T23:59:59.999Z","+275760-09-13T00:00:00.000Z","-271821-04-20T00:00:00.000Z",null,null,null]`, nil},
		{"escapes", pkt("02", "/", a(ev, s("a\"b\\c\n\r\t\b\f\x00\x1f\x7f</>\u2028"))), "2[\"ev\",\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0000\\u001f\x7f</>\u2028\"]", nil},
		{"invalid UTF-8", pkt("02", "/", a(ev, s("a\xffb\xed\xa0\x80c"))), "2[\"ev\",\"a\uFFFDb\uFFFD\uFFFD\uFFFDc\"]", nil},
		{"invalid UTF-8 in a key and the namespace", pkt("00", "/\xff", m("\xfe", "01")), "0/\uFFFD,{\"\uFFFD\":1}", nil},
		{"namespace /", pkt("01", "/", ""), `1`, nil},
		{"disconnect with undefined data", m("type", "01", "data", undef, "nsp", s("/x")), `1/x,`, nil},
		{"id as float", m("type", "03", "data", a(), "nsp", s("/"), "id", f64(5)), `35[]`, nil},
		{"id -0", m("type", "03", "data", a(), "nsp", s("/"), "id", f64(math.Copysign(0, -1))), `30[]`, nil},
		{"id 2^53+1 as JavaScript holds it", m("type", "03", "data", a(), "nsp", s("/"), "id", "cf0020000000000001"), `39007199254740992[]`, nil},
		{"id beyond 2^53", m("type", "03", "data", a(), "nsp", s("/"), "id", f64(1e19)), `310000000000000000000[]`, nil},
		{"id undefined", m("type", "02", "data", a(ev), "nsp", s("/"), "id", undef), `2["ev"]`, nil},
		{"key order kept", pkt("02", "/", a(ev, m("z", "01", "a", "02", "1", "03"))), `2["ev",{"z":1,"a":2,"1":3}]`, nil},
		{"duplicate packet keys: the last wins", m("type", "01", "nsp", s("/a"), "type", "02", "data", a(s("x")), "nsp", s("/b")), `2/b,["x"]`, nil},
		{"keys in any order, other keys ignored", m("options", m("compress", "c3"), "nsp", s("/"), "x", "d5070102", "id", "07", "data", a(ev), "type", "03", "y", "c7020801"+"02"), `37["ev"]`, nil},
		{"placeholder lookalike without binary", pkt("02", "/", a(ev, m("_placeholder", "c3", "num", "00"))), `2["ev",{"_placeholder":true,"num":0}]`, nil},
		{"_placeholder false with binary", pkt("02", "/", a(ev, m("_placeholder", "c2"), "c40101")), `51-["ev",{"_placeholder":false},{"_placeholder":true,"num":0}]`, []string{"01"}},
		{"binary in CONNECT and CONNECT_ERROR", pkt("04", "/", m("message", s("m"), "data", a("c4020102", "c7010009", "c400"))), `4{"message":"m","data":[{"type":"Buffer","data":[1,2]},{},{"type":"Buffer","data":[]}]}`, nil},
		{"empty event", pkt("02", "/", a()), `2[]`, nil},
		{"CONNECT_ERROR string", pkt("04", "/a", s("x")), `4/a,"x"`, nil},
		{"ack without id", pkt("03", "/", a(ev)), `3["ev"]`, nil},
		{"many binaries", pkt("02", "/", a("c40100", "c40101", "c40102", "c40103", "c40104", "c40105", "c40106", "c40107", "c40108", "c40109", "c4010a", "c4010b")),
			`512-[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2},{"_placeholder":true,"num":3},{"_placeholder":true,"num":4},{"_placeholder":true,"num":5},{"_placeholder":true,"num":6},{"_placeholder":true,"num":7},{"_placeholder":true,"num":8},{"_placeholder":true,"num":9},{"_placeholder":true,"num":10},{"_placeholder":true,"num":11}]`,
			[]string{"00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "0a", "0b"}},
	}
	var p Parser
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, atts, err := p.Decode(unhex(t, tt.hex), true)
			if err != nil {
				t.Fatalf("Decode(%s): %v", tt.hex, err)
			}
			if string(text) != tt.text {
				t.Errorf("text\n got %q\nwant %q", text, tt.text)
			}
			if got := hexAll(atts); strings.Join(got, ",") != strings.Join(tt.atts, ",") {
				t.Errorf("attachments\n got %q\nwant %q", got, tt.atts)
			}
			if !utf8.Valid(text) {
				t.Errorf("text is not UTF-8")
			}
			if _, _, _, data := splitText(t, text); len(data) > 0 && !json.Valid(data) {
				t.Errorf("data %q is not JSON", data)
			}
			checkRoundTrip(t, text, atts)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	ev := s("ev")
	tests := []struct {
		name string
		hex  string
	}{
		{"empty", ""},
		{"not a map: array", a(s("type"))},
		{"not a map: nil", "c0"},
		{"not a map: str", s("x")},
		{"truncated map header", "de00"},
		{"map count beyond the message", "df0000ffff" + s("type") + "02"},
		{"trailing bytes", pkt("02", "/", a(ev)) + "00"},
		{"non-string key", "82" + "01" + "02" + s("nsp") + s("/")},
		{"non-string key in data", pkt("02", "/", a(ev, "810102"))},
		{"missing type", m("nsp", s("/"), "data", a(ev))},
		{"type as string", pkt(s("2"), "/", a(ev))},
		{"type nil", pkt("c0", "/", a(ev))},
		{"type undefined", pkt(undef, "/", a(ev))},
		{"type 5", pkt("05", "/", a(ev))},
		{"type 6", pkt("06", "/", a(ev))},
		{"type -1", pkt("ff", "/", a(ev))},
		{"type 2.5", pkt(f64(2.5), "/", a(ev))},
		{"type NaN", pkt(f64(math.NaN()), "/", a(ev))},
		{"missing nsp", m("type", "02", "data", a(ev))},
		{"nsp not a string", m("type", "02", "data", a(ev), "nsp", "01")},
		{"nsp undefined", m("type", "02", "data", a(ev), "nsp", undef)},
		{"nsp empty", pkt("02", "", a(ev))},
		{"nsp without slash", pkt("02", "admin", a(ev))},
		{"nsp with comma", pkt("02", "/a,b", a(ev))},
		{"CONNECT with array", pkt("00", "/", a())},
		{"CONNECT with string", pkt("00", "/", s("x"))},
		{"CONNECT with nil", pkt("00", "/", "c0")},
		{"CONNECT with bin", pkt("00", "/", "c400")},
		{"CONNECT with Date", pkt("00", "/", date(0))},
		{"DISCONNECT with data", pkt("01", "/", m())},
		{"DISCONNECT with nil", pkt("01", "/", "c0")},
		{"CONNECT_ERROR without data", pkt("04", "/", "")},
		{"CONNECT_ERROR undefined", pkt("04", "/", undef)},
		{"CONNECT_ERROR array", pkt("04", "/", a())},
		{"EVENT without data", pkt("02", "/", "")},
		{"EVENT with map", pkt("02", "/", m())},
		{"EVENT with nil", pkt("02", "/", "c0")},
		{"ACK with string", pkt("03", "/", s("x"))},
		{"id string", m("type", "02", "data", a(ev), "nsp", s("/"), "id", s("1"))},
		{"id nil", m("type", "02", "data", a(ev), "nsp", s("/"), "id", "c0")},
		{"id negative", m("type", "02", "data", a(ev), "nsp", s("/"), "id", "ff")},
		{"id fractional", m("type", "02", "data", a(ev), "nsp", s("/"), "id", f64(1.5))},
		{"id 2^64", m("type", "02", "data", a(ev), "nsp", s("/"), "id", f64(1<<64))},
		{"id Inf", m("type", "02", "data", a(ev), "nsp", s("/"), "id", f64(math.Inf(1)))},
		{"ext fixext 1 type 1", pkt("02", "/", a(ev, "d40100"))},
		{"ext fixext 2 type 0", pkt("02", "/", a(ev, "d5000000"))},
		{"ext fixext 4", pkt("02", "/", a(ev, "d6ff00000000"))},
		{"ext fixext 8 type 1", pkt("02", "/", a(ev, "d7010000000000000000"))},
		{"ext fixext 16", pkt("02", "/", a(ev, "d800"+strings.Repeat("00", 16)))},
		{"ext 8 type -1", pkt("02", "/", a(ev, "c701ff00"))},
		{"reserved 0xc1 in data", pkt("02", "/", a(ev, "c1"))},
		{"reserved 0xc1 in an ignored key", m("type", "02", "data", a(ev), "nsp", s("/"), "x", "c1")},
		{"placeholder lookalike with binary", pkt("02", "/", a(ev, m("_placeholder", "c3", "num", "00"), "c40101"))},
		{"nested placeholder lookalike with binary", pkt("02", "/", a(ev, "c40101", a(m("x", "01", "_placeholder", "c3"))))},
		{"huge array count", pkt("02", "/", "dd7fffffff"+ev)},
		{"huge map count", pkt("02", "/", a(ev, "df7fffffff"))},
		{"huge str", pkt("02", "/", a(ev, "db7fffffff41"))},
		{"huge bin", pkt("02", "/", a(ev, "c67fffffff41"))},
		{"huge ext", pkt("02", "/", a(ev, "c97fffffff0041"))},
	}
	var p Parser
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, atts, err := p.Decode(unhex(t, tt.hex), true)
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("Decode(%s) = %q, %x, %v; want ErrInvalidPacket", tt.hex, text, atts, err)
			}
		})
	}
	if _, _, err := p.Decode(unhex(t, pkt("02", "/", a(ev))), false); !errors.Is(err, ErrInvalidPacket) {
		t.Errorf("Decode of a text message: %v", err)
	}
}

// TestDecodeTruncated checks that every proper prefix of every vector is
// rejected.
func TestDecodeTruncated(t *testing.T) {
	var p Parser
	for _, v := range append(append([]vector(nil), nodeVectors...), captureVectors...) {
		msg := unhex(t, v.hex)
		for n := range len(msg) {
			if _, _, err := p.Decode(msg[:n], true); !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("%s: prefix of %d bytes: %v", v.name, n, err)
			}
		}
	}
}

func TestDecodeDoesNotAlias(t *testing.T) {
	var p Parser
	msg := unhex(t, pkt("02", "/", a(s("ev"), "c403010203")))
	text, atts, err := p.Decode(msg, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range msg {
		msg[i] = 0
	}
	if string(text) != `51-["ev",{"_placeholder":true,"num":0}]` || hex.EncodeToString(atts[0]) != "010203" {
		t.Fatalf("Decode result changed with its input: %q %x", text, atts)
	}
}

func TestEncodeErrors(t *testing.T) {
	one := [][]byte{{1}}
	tests := []struct {
		name    string
		text    string
		atts    [][]byte
		attsErr bool
	}{
		{"empty", "", nil, false},
		{"bad type", "7", nil, false},
		{"letter", "x", nil, false},
		{"binary without count", `5["ev"]`, nil, false},
		{"binary count without dash", `51["ev"]`, one, false},
		{"binary count too long", `512345678901-["ev"]`, one, false},
		{"binary count mismatch", `51-["ev",{"_placeholder":true,"num":0}]`, nil, true},
		{"binary count mismatch 2", `52-["ev",{"_placeholder":true,"num":0}]`, one, true},
		{"attachments for a plain event", `2["ev"]`, one, true},
		{"placeholder out of range", `51-["ev",{"_placeholder":true,"num":1}]`, one, true},
		{"DISCONNECT with data", `1{}`, nil, false},
		{"CONNECT with array", `0[]`, nil, false},
		{"CONNECT with string", `0"x"`, nil, false},
		{"CONNECT with null", `0null`, nil, false},
		{"CONNECT_ERROR without data", `4`, nil, false},
		{"CONNECT_ERROR with array", `4[]`, nil, false},
		{"EVENT without data", `2`, nil, false},
		{"EVENT without data, with id", `2/a,5`, nil, false},
		{"EVENT with object", `2{}`, nil, false},
		{"ACK with string", `31"x"`, nil, false},
		{"white space only", `2 `, nil, false},
		{"unterminated array", `2[`, nil, false},
		{"trailing comma", `2[1,]`, nil, false},
		{"missing comma", `2[1 2]`, nil, false},
		{"unterminated string", `2["a]`, nil, false},
		{"bad escape", `2["\x"]`, nil, false},
		{"short \\u", `2["\u12"]`, nil, false},
		{"bad \\u", `2["\u12g4"]`, nil, false},
		{"backslash at the end", `2["\`, nil, false},
		{"control character", "2[\"a\x01b\"]", nil, false},
		{"bad literal", `2[tru]`, nil, false},
		{"bad literal null", `2[nul]`, nil, false},
		{"bad literal false", `2[fals]`, nil, false},
		{"leading zero", `2[01]`, nil, false},
		{"bare dot", `2[1.]`, nil, false},
		{"bare minus", `2[-]`, nil, false},
		{"bare exponent", `2[1e]`, nil, false},
		{"plus sign", `2[+1]`, nil, false},
		{"data after the value", `2[] x`, nil, false},
		{"extra bracket", `2[]]`, nil, false},
		{"mismatched bracket", `2[}`, nil, false},
		{"key without value", `2[{"a"}]`, nil, false},
		{"missing value", `2[{"a":}]`, nil, false},
		{"number key", `2[{1:2}]`, nil, false},
		{"trailing comma in object", `2[{"a":1,}]`, nil, false},
		{"object without closing", `2[{"a":1`, nil, false},
	}
	var p Parser
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, _, err := p.Encode([]byte(tt.text), tt.atts)
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("Encode(%q) = %x, %v; want ErrInvalidPacket", tt.text, msg, err)
			}
			if errors.Is(err, ErrAttachments) != tt.attsErr {
				t.Fatalf("Encode(%q): %v; ErrAttachments want %v", tt.text, err, tt.attsErr)
			}
		})
	}
}

// TestEncodeNumbers checks numbers against notepack.io's choice of
// encoding (the ints were checked with it; see nodeVectors "numbers"), and
// the float 64 used where notepack.io would garble an integer.
func TestEncodeNumbers(t *testing.T) {
	tests := []struct {
		json, hex string
	}{
		{"0", "00"}, {"-0", "00"}, {"0.0", "00"}, {"1.0", "01"}, {"1e2", "64"}, {"1E+2", "64"},
		{"-1", "ff"}, {"-32", "e0"}, {"-33", "d0df"}, {"127", "7f"}, {"128", "cc80"},
		{"255", "ccff"}, {"256", "cd0100"}, {"65535", "cdffff"}, {"65536", "ce00010000"},
		{"4294967295", "ceffffffff"}, {"4294967296", "cf0000000100000000"},
		{"-128", "d080"}, {"-129", "d1ff7f"}, {"-32768", "d18000"}, {"-32769", "d2ffff7fff"},
		{"-2147483648", "d280000000"}, {"-2147483649", "d3ffffffff7fffffff"},
		{"9007199254740992", "cf0020000000000000"}, {"-9007199254740992", "d3ffe0000000000000"},
		{"9007199254740993", "cf0020000000000000"}, // JSON.parse rounds it to 2^53
		{"9007199254740994", f64(9007199254740994)},
		{"100000000000000000000", f64(1e20)}, {"1e20", f64(1e20)},
		{"18446744073709551615", f64(18446744073709551615)},
		{"123456789012345678901234567890", f64(123456789012345678901234567890)},
		{"-1e300", f64(-1e300)}, {"1e400", f64(math.Inf(1))}, {"-1e400", f64(math.Inf(-1))},
		{"1e-400", "00"}, {"5e-324", f64(5e-324)}, {"1.5", f64(1.5)}, {"-0.25", f64(-0.25)},
		{"0.1", f64(0.1)}, {"1.7976931348623157e308", f64(math.MaxFloat64)},
	}
	var p Parser
	for _, tt := range tests {
		msg, _, err := p.Encode([]byte(`2[`+tt.json+`]`), nil)
		if err != nil {
			t.Errorf("%s: %v", tt.json, err)
			continue
		}
		want := m("type", "02", "data", "91"+tt.hex, "nsp", s("/"))
		if got := hex.EncodeToString(msg); got != want {
			t.Errorf("%s: got %s want %s", tt.json, got, want)
		}
	}
}

// TestAppendNumber checks the JSON of numbers against what node's
// JSON.stringify wrote for them.
func TestAppendNumber(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{1e21, "1e+21"}, {1e-7, "1e-7"}, {123e-20, "1.23e-18"}, {0.1, "0.1"},
		{math.Copysign(0, -1), "0"}, {1 << 64, "18446744073709552000"},
		{9007199254740994, "9007199254740994"}, {1e20, "100000000000000000000"},
		{5e-324, "5e-324"}, {math.MaxFloat64, "1.7976931348623157e+308"},
		{0.000001, "0.000001"}, {123456789012345680000, "123456789012345680000"},
		{-1.5, "-1.5"}, {math.NaN(), "null"}, {math.Inf(-1), "null"}, {-2e-7, "-2e-7"},
		{1e100, "1e+100"}, {-9007199254740992, "-9007199254740992"},
	}
	for _, tt := range tests {
		if got := string(appendNumber(nil, tt.f)); got != tt.want {
			t.Errorf("appendNumber(%v) = %s, want %s", tt.f, got, tt.want)
		}
	}
}

func TestEncodeStrings(t *testing.T) {
	tests := []struct {
		json string
		want string // the decoded string
	}{
		{`"abc"`, "abc"},
		{`"\u00e9\u0041\/\"\\\b\f\n\r\t"`, "éA/\"\\\b\f\n\r\t"},
		{`"\ud83d\ude00"`, "😀"},
		{`"\uD83D\uDE00"`, "😀"},
		{`"\ud800"`, "\uFFFD"},
		{`"\ud800x"`, "\uFFFDx"},
		{`"\ude00\ud83d"`, "\uFFFD\uFFFD"},
		{`"\ud800\u0041"`, "\uFFFDA"},
		{"\"a\xffb\"", "a\uFFFDb"},
		{"\"\xed\xa0\x80\"", "\uFFFD\uFFFD\uFFFD"},
		{"\"\u2028\"", "\u2028"},
		{`"` + strings.Repeat(`\n`, 40) + `"`, strings.Repeat("\n", 40)},
		{`"` + strings.Repeat(`\u00e9`, 200) + `"`, strings.Repeat("é", 200)},
		{`"` + strings.Repeat("\xff", 100) + `"`, strings.Repeat("\uFFFD", 100)},
	}
	var p Parser
	for _, tt := range tests {
		msg, _, err := p.Encode([]byte(`2[`+tt.json+`]`), nil)
		if err != nil {
			t.Errorf("%q: %v", tt.json, err)
			continue
		}
		var h []byte
		h = appendStrHeader(h, len(tt.want))
		want := m("type", "02", "data", "91"+hex.EncodeToString(h)+hex.EncodeToString([]byte(tt.want)), "nsp", s("/"))
		if got := hex.EncodeToString(msg); got != want {
			t.Errorf("%q:\n got %s\nwant %s", tt.json, got, want)
		}
	}
}

// TestEncodeIDBeyondUint64 documents that an ack id of the text encoding
// that rounds to 2^64 or more is sent as JavaScript would hold it (the real
// Decoder accepts it), but that Decode refuses it back: the text encoding
// (and the core's parser) hold ack ids in 64 bits.
func TestEncodeIDBeyondUint64(t *testing.T) {
	var p Parser
	msg, _, err := p.Encode([]byte(`318446744073709551615[]`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := m("type", "03", "data", "90", "nsp", s("/"), "id", f64(1<<64)); hex.EncodeToString(msg) != want {
		t.Fatalf("got %x want %s", msg, want)
	}
	if _, _, err := p.Decode(msg, true); !errors.Is(err, ErrInvalidPacket) {
		t.Fatalf("Decode: %v", err)
	}
}

// TestEncodeNamespace checks that an invalid UTF-8 namespace is sent as
// valid UTF-8.
func TestEncodeNamespace(t *testing.T) {
	var p Parser
	msg, _, err := p.Encode([]byte("1/a\xff,"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := m("type", "01", "nsp", s("/a\uFFFD")); hex.EncodeToString(msg) != want {
		t.Fatalf("got %x want %s", msg, want)
	}
}

// TestLargeValues checks the 16- and 32-bit headers of every kind, both ways.
func TestLargeValues(t *testing.T) {
	var p Parser
	for _, n := range []int{15, 16, 31, 32, 255, 256, 65535, 65536, 70000} {
		var text strings.Builder
		text.WriteString(`2["big",[`)
		for i := range n {
			if i > 0 {
				text.WriteByte(',')
			}
			text.WriteByte('0')
		}
		text.WriteString(`],{`)
		for i := range n {
			if i > 0 {
				text.WriteByte(',')
			}
			text.WriteString(`"` + strconv.Itoa(i) + `":[]`)
		}
		text.WriteString(`},"` + strings.Repeat("s", n) + `",{"_placeholder":true,"num":0}]`)
		bin := bytes.Repeat([]byte{7}, n)
		in := "51-" + text.String()[1:]
		msg, _, err := p.Encode([]byte(in), [][]byte{bin})
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		// The big array follows the packet map header, "type" 2, "data",
		// the data array header and "big".
		hdr := msg[len("\x83\xa4type\x02\xa4data\x95\xa3big"):]
		var wantHdr byte
		switch {
		case n < 16:
			wantHdr = 0x90 | byte(n)
		case n < 65536:
			wantHdr = 0xdc
		default:
			wantHdr = 0xdd
		}
		if hdr[0] != wantHdr {
			t.Fatalf("%d: array header %x, want %x", n, hdr[0], wantHdr)
		}
		text2, atts, err := p.Decode(msg, true)
		if err != nil {
			t.Fatalf("%d: Decode: %v", n, err)
		}
		if string(text2) != in || len(atts) != 1 || !bytes.Equal(atts[0], bin) {
			t.Fatalf("%d: round trip differs", n)
		}
	}
}

// TestDeepNesting checks that nesting costs heap, not stack, both ways.
func TestDeepNesting(t *testing.T) {
	const depth = 1_000_000
	var p Parser
	text := "2" + strings.Repeat("[", depth) + strings.Repeat("]", depth)
	msg, _, err := p.Encode([]byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	text2, _, err := p.Decode(msg, true)
	if err != nil || string(text2) != text {
		t.Fatalf("deep round trip: %v", err)
	}
	obj := "2[" + strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth) + "]"
	checkRoundTrip(t, []byte(obj), nil)
	// A message of nothing but open arrays is truncated, not a crash.
	bad := unhex(t, m("type", "02", "nsp", s("/"), "data", strings.Repeat("91", depth)))
	if _, _, err := p.Decode(bad, true); !errors.Is(err, ErrInvalidPacket) {
		t.Fatalf("deep truncated: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	var p Parser
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, v := range nodeVectors {
				text, atts, err := p.Decode(unhex(t, v.hex), true)
				if err != nil || string(text) != v.text {
					t.Errorf("%s: %q %v", v.name, text, err)
					return
				}
				if _, _, err := p.Encode(text, atts); err != nil {
					t.Errorf("%s: %v", v.name, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// FuzzDecode checks that Decode never panics, that what it accepts is valid
// UTF-8 with a JSON payload, and that Encode takes it to a message Decode
// maps back to the same text and attachments.
func FuzzDecode(f *testing.F) {
	for _, v := range nodeVectors {
		f.Add(unhex(f, v.hex))
	}
	for _, v := range captureVectors {
		f.Add(unhex(f, v.hex))
	}
	for _, v := range encodeVectors {
		f.Add(unhex(f, v.hex))
	}
	ev := s("ev")
	f.Add(unhex(f, pkt("02", "/", a(ev, "c7010004", date(0), undef, "ca3fc00000", m("_placeholder", "c3")))))
	f.Add(unhex(f, pkt("04", "/", m("message", s("m"), "data", a("c4020102", "c7010009")))))
	var p Parser
	f.Fuzz(func(t *testing.T, msg []byte) {
		text, atts, err := p.Decode(msg, true)
		if err != nil {
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("error %v is not ErrInvalidPacket", err)
			}
			return
		}
		if !utf8.Valid(text) {
			t.Fatalf("text %q is not UTF-8", text)
		}
		typ, nsp, _, data := splitText(t, text)
		if typ < '0' || typ > '6' || nsp == "" || nsp[0] != '/' {
			t.Fatalf("bad text %q", text)
		}
		if len(data) > 0 && !json.Valid(data) {
			t.Fatalf("data of %q is not JSON", text)
		}
		if (typ == '5' || typ == '6') != (len(atts) > 0) {
			t.Fatalf("type %c with %d attachments", typ, len(atts))
		}
		checkRoundTrip(t, text, atts)
	})
}

// FuzzEncode checks that Encode never panics, and that when Decode accepts
// what it made, the result is stable (see FuzzDecode).
func FuzzEncode(f *testing.F) {
	for _, v := range encodeVectors {
		var att []byte
		if len(v.atts) > 0 {
			att = unhex(f, v.atts[0])
		}
		f.Add(v.text, att, uint8(len(v.atts)))
	}
	f.Add(`52-[{"_placeholder":true,"num":1},{"num":0,"_placeholder":true}]`, []byte{1}, uint8(2))
	var p Parser
	f.Fuzz(func(t *testing.T, text string, att []byte, n uint8) {
		atts := make([][]byte, n%4)
		for i := range atts {
			atts[i] = append(append([]byte(nil), att...), byte(i))
		}
		msg, _, err := p.Encode([]byte(text), atts)
		if err != nil {
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("error %v is not ErrInvalidPacket", err)
			}
			return
		}
		text2, atts2, err := p.Decode(msg, true)
		if err != nil {
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("error %v is not ErrInvalidPacket", err)
			}
			return
		}
		checkRoundTrip(t, text2, atts2)
	})
}

var benchText = []byte(`2["chat",{"user":"anna","text":"hello there","n":42}]`)

func BenchmarkEncode(b *testing.B) {
	var p Parser
	b.ReportAllocs()
	b.SetBytes(int64(len(benchText)))
	for b.Loop() {
		if _, _, err := p.Encode(benchText, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	var p Parser
	msg, _, err := p.Encode(benchText, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, _, err := p.Decode(msg, true); err != nil {
			b.Fatal(err)
		}
	}
}

// The same event with a 1 KiB binary argument.
func BenchmarkEncodeBinary(b *testing.B) {
	var p Parser
	text := []byte(`51-["chat",{"user":"anna","text":"hello there","n":42},{"_placeholder":true,"num":0}]`)
	atts := [][]byte{bytes.Repeat([]byte{7}, 1024)}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.Encode(text, atts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBinary(b *testing.B) {
	var p Parser
	text := []byte(`51-["chat",{"user":"anna","text":"hello there","n":42},{"_placeholder":true,"num":0}]`)
	msg, _, err := p.Encode(text, [][]byte{bytes.Repeat([]byte{7}, 1024)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.Decode(msg, true); err != nil {
			b.Fatal(err)
		}
	}
}

// --- real-peer fixtures ---
//
// Produced with testdata/fixtures.js (see its header for the commands) and
// socket.io-msgpack-parser 3.0.2 / notepack.io 2.2.0 on Node 20, and
// socket.io-parser 4.2.7 as the oracle of the text encoding. To check Encode
// against the real Decoder, the encodeVectors' text and attachments were run
// through Encode and the resulting hex through `node fixtures.js decode`.

// nodeVectors are packets encoded by the real socket.io-msgpack-parser
// Encoder (testdata/fixtures.js encode), with the text and attachments
// that socket.io-parser's default Encoder makes of the real Decoder's
// result (testdata/fixtures.js oracle): what Decode must return.
var nodeVectors = []vector{
	{`connect_client_no_auth`, "83a47479706500a464617461d40000a36e7370a12f", `0`, nil},
	{`connect_no_data`, "82a47479706500a36e7370a62f61646d696e", `0/admin,`, nil},
	{`connect_auth`, "83a47479706500a46461746181a5746f6b656ea178a36e7370a62f61646d696e", `0/admin,{"token":"x"}`, nil},
	{`connect_reply`, "83a47479706500a46461746181a3736964a3616263a36e7370a12f", `0{"sid":"abc"}`, nil},
	{`connect_reply_pid`, "83a47479706500a46461746182a3736964a3616263a3706964a178a36e7370a62f61646d696e", `0/admin,{"sid":"abc","pid":"x"}`, nil},
	{`connect_error_string`, "83a47479706504a464617461b1496e76616c6964206e616d657370616365a36e7370a52f6e6f7065", `4/nope,"Invalid namespace"`, nil},
	{`connect_error_object`, "83a47479706504a46461746182a76d657373616765ae4e6f7420617574686f72697a6564a46461746181a17801a36e7370a12f", `4{"message":"Not authorized","data":{"x":1}}`, nil},
	{`disconnect`, "82a47479706501a36e7370a62f61646d696e", `1/admin,`, nil},
	{`event_chat`, "84a47479706502a46461746192a46368617483a475736572a4616e6e61a474657874ab68656c6c6f207468657265a16e2aa76f7074696f6e7381a8636f6d7072657373c3a36e7370a12f", `2["chat",{"user":"anna","text":"hello there","n":42}]`, nil},
	{`event_ack_id`, "85a47479706502a46461746193a2657601a161a76f7074696f6e7381a8636f6d7072657373c3a269640ca36e7370a62f61646d696e", `2/admin,12["ev",1,"a"]`, nil},
	{`ack`, "84a47479706503a269640ca46461746191a26f6ba36e7370a62f61646d696e", `3/admin,12["ok"]`, nil},
	{`ack_big_id`, "84a47479706503a26964cf0000000100000000a46461746190a36e7370a12f", `34294967296[]`, nil},
	{`numbers`, "83a47479706502a464617461dc0022a46e756d7300ffe0d0df7fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000d080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffffcf0020000000000000d3ffe0000000000000cb3ff8000000000000cbbfd0000000000000cf35c9adc5dea00000cb3e7ad7f29abcaf48cb400921f9f01b866e00cb7ff8000000000000cb7ff0000000000000cbfff0000000000000cb0000000000000001cf0000000000000000cb3fb999999999999acb40fe240c9fbe76c9a36e7370a12f", `2["nums",0,-1,-32,-33,127,128,255,256,65535,65536,4294967295,4294967296,-128,-129,-32768,-32769,-2147483648,-2147483649,9007199254740992,-9007199254740992,1.5,-0.25,3875820019684212700,1e-7,3.14159,0,null,null,null,5e-324,0,0.1,123456.789]`, nil},
	{`numbers_garbled`, "83a47479706502a46461746194a3626967cf6bc75e2d63100000d39438a1d29cf00000cf1000000000000000a36e7370a12f", `2["big",7766279631452242000,-7766279631452242000,1152921504606847000]`, nil},
	{`unicode`, "83a47479706502a46461746199a3756e69a668c3a96c6c6fa9e697a5e69cace8aa9eb0f09f98802061737472616c20f09d849ed92b71756f746522206261636b5c206e6c0a20746162092063746c01206273082066660c2063720d2064656c7fa6e280a8e280a9a0d92878787878787878787878787878787878787878787878787878787878787878787878787878787878da012cc3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9a36e7370a62fc3bc6ec3af", "2/ünï,[\"uni\",\"héllo\",\"日本語\",\"😀 astral 𝄞\",\"quote\\\" back\\\\ nl\\n tab\\t ctl\\u0001 bs\\b ff\\f cr\\r del\x7f\",\"\u2028\u2029\",\"\",\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé\"]", nil},
	{`nested`, "83a47479706502a46461746193a46e65737484a161920183a162c0a163c3a164c2a16580a16690a0a9656d707479206b657991919190a36e7370a12f", `2["nest",{"a":[1,{"b":null,"c":true,"d":false}],"e":{},"f":[],"":"empty key"},[[[[]]]]]`, nil},
	{`undefined_values`, "83a47479706502a46461746194a5756e646566d4000082a161d40000a1620191d40000a36e7370a12f", `2["undef",null,{"b":1},[null]]`, nil},
	{`big_containers`, "83a47479706502a46461746193a3626967de0011a26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a26b3909a36b31300aa36b31310ba36b31320ca36b31330da36b31340ea36b31350fa36b313610dc001400cd03e8cd07d0cd0bb8cd0fa0cd1388cd1770cd1b58cd1f40cd2328cd2710cd2af8cd2ee0cd32c8cd36b0cd3a98cd3e80cd4268cd4650cd4a38a36e7370a12f", `2["big",{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16},[0,1000,2000,3000,4000,5000,6000,7000,8000,9000,10000,11000,12000,13000,14000,15000,16000,17000,18000,19000]]`, nil},
	{`binary_event`, "84a47479706502a46461746193a362696ec40301020382a178c400a17991c4026869a76f7074696f6e7381a8636f6d7072657373c3a36e7370a12f", `53-["bin",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1},"y":[{"_placeholder":true,"num":2}]}]`, []string{"010203", "", "6869"}},
	{`binary_ack`, "84a47479706503a2696407a46461746191c402deada36e7370a42f6e7370", `61-/nsp,7[{"_placeholder":true,"num":0}]`, []string{"dead"}},
	{`binary_300`, "83a47479706502a46461746192a462333030c5012c070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707a36e7370a12f", `51-["b300",{"_placeholder":true,"num":0}]`, []string{"070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707"}},
	{`date`, "83a47479706502a46461746193a464617465d7000000015d3ef79800d700ffffc76e394a7400a36e7370a12f", `2["date","2017-07-14T02:40:00.000Z","-000001-01-01T00:00:00.000Z"]`, nil},
	{`typed_array`, "83a47479706502a46461746192a26162c70300090807a36e7370a12f", `51-["ab",{"_placeholder":true,"num":0}]`, []string{"090807"}},
	{`array_buffer`, "83a47479706502a46461746192a26162c702000405a36e7370a12f", `51-["ab",{"_placeholder":true,"num":0}]`, []string{"0405"}},
	{`connect_auth_buffer`, "83a47479706500a46461746182a5746f6b656ea178a36b6579c4020102a36e7370a12f", `0{"token":"x","key":{"type":"Buffer","data":[1,2]}}`, nil},
	{`connect_error_array_buffer`, "83a47479706504a46461746182a76d657373616765a16da464617461c7010001a36e7370a12f", `4{"message":"m","data":{}}`, nil},
	{`explicit_undefined_id`, "84a47479706502a46461746191a26576a26964d40000a36e7370a12f", `2["ev"]`, nil},
	{`placeholder_lookalike_no_binary`, "83a47479706502a46461746192a2706882ac5f706c616365686f6c646572c3a36e756d00a36e7370a12f", `2["ph",{"_placeholder":true,"num":0}]`, nil},
}

// captureVectors are the packets a real socket.io 4.8.4 server and
// socket.io-client 4.8.4, both with the parser, exchanged (testdata/fixtures.js
// capture), in order, named by the side that sent them, with the oracle
// text and attachments as in nodeVectors.
var captureVectors = []vector{
	{"client 0", "83a47479706500a464617461d40000a36e7370a12f", `0`, nil},
	{"server 1", "83a47479706500a46461746182a3736964b4645f343450354e684c7050474a2d366d41414141a3706964d40000a36e7370a12f", `0{"sid":"d_44P5NhLpPGJ-6mAAAA"}`, nil},
	{"server 2", "83a47479706502a46461746193a568656c6c6f81a16ecb3ff8000000000000c40362696ea36e7370a12f", `51-["hello",{"n":1.5},{"_placeholder":true,"num":0}]`, []string{"62696e"}},
	{"client 3", "85a47479706502a46461746192a46368617481a475736572a4616e6e61a76f7074696f6e7381a8636f6d7072657373c3a2696400a36e7370a12f", `20["chat",{"user":"anna"}]`, nil},
	{"server 4", "84a2696400a47479706503a46461746192a26f6bc4020102a36e7370a12f", `61-0["ok",{"_placeholder":true,"num":0}]`, []string{"0102"}},
	{"client 5", "84a47479706502a46461746193a675706c6f6164a5662e62696ec70300010203a76f7074696f6e7381a8636f6d7072657373c3a36e7370a12f", `51-["upload","f.bin",{"_placeholder":true,"num":0}]`, []string{"010203"}},
	{"server 6", "83a47479706502a46461746193a875706c6f61646564a5662e62696ed40000a36e7370a12f", `2["uploaded","f.bin",null]`, nil},
	{"client 7", "83a47479706500a464617461d40000a36e7370a62f61646d696e", `0/admin,`, nil},
	{"server 8", "83a47479706504a46461746182a76d657373616765ae4e6f7420617574686f72697a6564a46461746181a17801a36e7370a62f61646d696e", `4/admin,{"message":"Not authorized","data":{"x":1}}`, nil},
	{"client 9", "83a47479706500a46461746181a5746f6b656ea178a36e7370a62f61646d696e", `0/admin,{"token":"x"}`, nil},
	{"server 10", "83a47479706500a46461746182a3736964b4466141332d74336f52316669374c485941414143a3706964d40000a36e7370a62f61646d696e", `0/admin,{"sid":"FaA3-t3oR1fi7LHYAAAC"}`, nil},
	{"client 11", "84a47479706502a46461746191a3627965a76f7074696f6e7381a8636f6d7072657373c3a36e7370a62f61646d696e", `2/admin,["bye"]`, nil},
	{"server 12", "82a47479706501a36e7370a62f61646d696e", `1/admin,`, nil},
	{"client 13", "82a47479706501a36e7370a12f", `1`, nil},
}

// encodeVectors are what Encode makes of packets in the text encoding,
// each checked with the real Decoder (testdata/fixtures.js decode): node is
// the packet object it returned, as JSON with Buffers as arrays of bytes.
var encodeVectors = []encodeVector{
	{
		name: `connect`,
		text: `0`,
		hex:  "82a47479706500a36e7370a12f",
		node: `{"type":0,"nsp":"/"}`,
	},
	{
		name: `connect_nsp`,
		text: `0/admin,`,
		hex:  "82a47479706500a36e7370a62f61646d696e",
		node: `{"type":0,"nsp":"/admin"}`,
	},
	{
		name: `connect_nsp_no_comma`,
		text: `0/admin`,
		hex:  "82a47479706500a36e7370a62f61646d696e",
		node: `{"type":0,"nsp":"/admin"}`,
	},
	{
		name: `connect_reply`,
		text: `0{"sid":"abc"}`,
		hex:  "83a47479706500a46461746181a3736964a3616263a36e7370a12f",
		node: `{"type":0,"data":{"sid":"abc"},"nsp":"/"}`,
	},
	{
		name: `connect_reply_nsp`,
		text: `0/admin,{"sid":"abc","pid":"x"}`,
		hex:  "83a47479706500a46461746182a3736964a3616263a3706964a178a36e7370a62f61646d696e",
		node: `{"type":0,"data":{"sid":"abc","pid":"x"},"nsp":"/admin"}`,
	},
	{
		name: `disconnect`,
		text: `1/admin,`,
		hex:  "82a47479706501a36e7370a62f61646d696e",
		node: `{"type":1,"nsp":"/admin"}`,
	},
	{
		name: `disconnect_main`,
		text: `1`,
		hex:  "82a47479706501a36e7370a12f",
		node: `{"type":1,"nsp":"/"}`,
	},
	{
		name: `event`,
		text: `2["ev",1,"a"]`,
		hex:  "83a47479706502a46461746193a2657601a161a36e7370a12f",
		node: `{"type":2,"data":["ev",1,"a"],"nsp":"/"}`,
	},
	{
		name: `event_nsp_id`,
		text: `2/admin,12["ev",{"a":[1,2]}]`,
		hex:  "84a47479706502a46461746192a2657681a161920102a36e7370a62f61646d696ea269640c",
		node: `{"type":2,"data":["ev",{"a":[1,2]}],"nsp":"/admin","id":12}`,
	},
	{
		name: `ack`,
		text: `3/admin,12["ok"]`,
		hex:  "84a47479706503a46461746191a26f6ba36e7370a62f61646d696ea269640c",
		node: `{"type":3,"data":["ok"],"nsp":"/admin","id":12}`,
	},
	{
		name: `connect_error_object`,
		text: `4{"message":"Not authorized","data":{"x":1}}`,
		hex:  "83a47479706504a46461746182a76d657373616765ae4e6f7420617574686f72697a6564a46461746181a17801a36e7370a12f",
		node: `{"type":4,"data":{"message":"Not authorized","data":{"x":1}},"nsp":"/"}`,
	},
	{
		name: `connect_error_string`,
		text: `4/nope,"Invalid namespace"`,
		hex:  "83a47479706504a464617461b1496e76616c6964206e616d657370616365a36e7370a52f6e6f7065",
		node: `{"type":4,"data":"Invalid namespace","nsp":"/nope"}`,
	},
	{
		name: `binary_event`,
		text: `51-["ev",{"_placeholder":true,"num":0}]`,
		atts: []string{"010203"},
		hex:  "83a47479706502a46461746192a26576c403010203a36e7370a12f",
		node: `{"type":2,"data":["ev",[1,2,3]],"nsp":"/"}`,
	},
	{
		name: `binary_ack`,
		text: `62-/nsp,7[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`,
		atts: []string{"aa", "bbcc"},
		hex:  "84a47479706503a46461746192c402bbccc401aaa36e7370a42f6e7370a2696407",
		node: `{"type":3,"data":[[187,204],[170]],"nsp":"/nsp","id":7}`,
	},
	{
		name: `binary_placeholder_spacing`,
		text: `51-[ "ev" , { "num" : 0 , "_placeholder" : true } ]`,
		atts: []string{"ff"},
		hex:  "83a47479706502a46461746192a26576c401ffa36e7370a12f",
		node: `{"type":2,"data":["ev",[255]],"nsp":"/"}`,
	},
	{
		name: `binary_300`,
		text: `51-["b",{"_placeholder":true,"num":0}]`,
		atts: []string{"070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707"},
		hex:  "83a47479706502a46461746192a162c5012c070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707a36e7370a12f",
		node: `{"type":2,"data":["b",[7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7]],"nsp":"/"}`,
	},
	{
		name: `binary_empty`,
		text: `51-["b",{"_placeholder":true,"num":0}]`,
		atts: []string{""},
		hex:  "83a47479706502a46461746192a162c400a36e7370a12f",
		node: `{"type":2,"data":["b",[]],"nsp":"/"}`,
	},
	{
		name: `placeholder_in_plain_event`,
		text: `2["ph",{"_placeholder":true,"num":0}]`,
		hex:  "83a47479706502a46461746192a2706882ac5f706c616365686f6c646572c3a36e756d00a36e7370a12f",
		node: `{"type":2,"data":["ph",{"_placeholder":true,"num":0}],"nsp":"/"}`,
	},
	{
		name: `numbers`,
		text: `2["n",0,-1,-32,-33,127,128,255,256,65535,65536,4294967295,4294967296,-128,-129,-32768,-32769,-2147483648,-2147483649,9007199254740992,-9007199254740992,9007199254740993,1.5,-0.25,1e21,1e-7,3.14159,-0,0.0,1.0,1e2,1E+2,5e-324,1.7976931348623157e308,0.1,123456.789,100000000000000000000,18446744073709551615]`,
		hex:  "83a47479706502a464617461dc0026a16e00ffe0d0df7fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000d080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffffcf0020000000000000d3ffe0000000000000cf0020000000000000cb3ff8000000000000cbbfd0000000000000cb444b1ae4d6e2ef50cb3e7ad7f29abcaf48cb400921f9f01b866e0000016464cb0000000000000001cb7fefffffffffffffcb3fb999999999999acb40fe240c9fbe76c9cb4415af1d78b58c40cb43f0000000000000a36e7370a12f",
		node: `{"type":2,"data":["n",0,-1,-32,-33,127,128,255,256,65535,65536,4294967295,4294967296,-128,-129,-32768,-32769,-2147483648,-2147483649,9007199254740992,-9007199254740992,9007199254740992,1.5,-0.25,1e+21,1e-7,3.14159,0,0,1,100,100,5e-324,1.7976931348623157e+308,0.1,123456.789,100000000000000000000,18446744073709552000],"nsp":"/"}`,
	},
	{
		name: `big_id`,
		text: `34294967296[]`,
		hex:  "84a47479706503a46461746190a36e7370a12fa26964cf0000000100000000",
		node: `{"type":3,"data":[],"nsp":"/","id":4294967296}`,
	},
	{
		name: `huge_id`,
		text: `318446744073709549568[]`,
		hex:  "84a47479706503a46461746190a36e7370a12fa26964cb43efffffffffffff",
		node: `{"type":3,"data":[],"nsp":"/","id":18446744073709550000}`,
	},
	{
		name: `unicode`,
		text: "2/ünï,[\"uni\",\"héllo\",\"日本語\",\"😀 astral 𝄞\",\"\\ud83d\\ude00\",\"\\u00e9\\u0041\\/\",\"quote\\\" back\\\\ nl\\n tab\\t ctl\\u0001 bs\\b ff\\f cr\\r\",\"\\ud800 lone\",\"\u2028\u2029\",\"\"]",
		hex:  "83a47479706502a4646174619aa3756e69a668c3a96c6c6fa9e697a5e69cace8aa9eb0f09f98802061737472616c20f09d849ea4f09f9880a4c3a9412fd92671756f746522206261636b5c206e6c0a20746162092063746c01206273082066660c2063720da8efbfbd206c6f6e65a6e280a8e280a9a0a36e7370a62fc3bc6ec3af",
		node: "{\"type\":2,\"data\":[\"uni\",\"héllo\",\"日本語\",\"😀 astral 𝄞\",\"😀\",\"éA/\",\"quote\\\" back\\\\ nl\\n tab\\t ctl\\u0001 bs\\b ff\\f cr\\r\",\"\ufffd lone\",\"\u2028\u2029\",\"\"],\"nsp\":\"/ünï\"}",
	},
	{
		name: `long_strings`,
		text: `2["s","xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"]`,
		hex:  "83a47479706502a46461746193a173d92878787878787878787878787878787878787878787878787878787878787878787878787878787878da012cc3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9a36e7370a12f",
		node: `{"type":2,"data":["s","xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"],"nsp":"/"}`,
	},
	{
		name: `nested`,
		text: `2["nest",{"a":[1,{"b":null,"c":true,"d":false}],"e":{},"f":[],"":"empty key"},[[[[]]]]]`,
		hex:  "83a47479706502a46461746193a46e65737484a161920183a162c0a163c3a164c2a16580a16690a0a9656d707479206b657991919190a36e7370a12f",
		node: `{"type":2,"data":["nest",{"a":[1,{"b":null,"c":true,"d":false}],"e":{},"f":[],"":"empty key"},[[[[]]]]],"nsp":"/"}`,
	},
	{
		name: `big_containers`,
		text: `2["big",{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16},[0,1000,2000,3000,4000,5000,6000,7000,8000,9000,10000,11000,12000,13000,14000,15000,16000,17000,18000,19000]]`,
		hex:  "83a47479706502a46461746193a3626967de0011a26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a26b3909a36b31300aa36b31310ba36b31320ca36b31330da36b31340ea36b31350fa36b313610dc001400cd03e8cd07d0cd0bb8cd0fa0cd1388cd1770cd1b58cd1f40cd2328cd2710cd2af8cd2ee0cd32c8cd36b0cd3a98cd3e80cd4268cd4650cd4a38a36e7370a12f",
		node: `{"type":2,"data":["big",{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16},[0,1000,2000,3000,4000,5000,6000,7000,8000,9000,10000,11000,12000,13000,14000,15000,16000,17000,18000,19000]],"nsp":"/"}`,
	},
	{
		name: `whitespace`,
		text: "2 [ \"ev\" ,\t{\"a\" :\r\n[ 1 , 2 ] } ] ",
		hex:  "83a47479706502a46461746192a2657681a161920102a36e7370a12f",
		node: `{"type":2,"data":["ev",{"a":[1,2]}],"nsp":"/"}`,
	},
	{
		name: `connect_error_buffer_json`,
		text: `4{"message":"m","data":{"type":"Buffer","data":[1,2]}}`,
		hex:  "83a47479706504a46461746182a76d657373616765a16da46461746182a474797065a6427566666572a464617461920102a36e7370a12f",
		node: `{"type":4,"data":{"message":"m","data":{"type":"Buffer","data":[1,2]}},"nsp":"/"}`,
	},
}
