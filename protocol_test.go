package socketio

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Unit tests of the codec (protocol.go). The packet examples marked "spec"
// are the ones of docs/socket.io-protocol/v5-current.md and
// docs/engine.io-protocol/v4-current.md.

// wantPacket is the expected result of decodeSIOPacket; data "-" means no
// payload (nil Data).
type wantPacket struct {
	typ         byte
	nsp         string
	id          uint64
	hasID       bool
	attachments int
	data        string
}

const noData = "\x00none"

func checkPacket(t *testing.T, in string, got sioPacket, want wantPacket) {
	t.Helper()
	if got.Type != want.typ || got.Nsp != want.nsp || got.ID != want.id || got.HasID != want.hasID || got.Attachments != want.attachments {
		t.Errorf("decodeSIOPacket(%q) = {type %d nsp %q id %d hasID %v att %d}, want {type %d nsp %q id %d hasID %v att %d}",
			in, got.Type, got.Nsp, got.ID, got.HasID, got.Attachments,
			want.typ, want.nsp, want.id, want.hasID, want.attachments)
	}
	if want.data == noData {
		if got.Data != nil {
			t.Errorf("decodeSIOPacket(%q).Data = %q, want nil", in, got.Data)
		}
	} else if got.Data == nil || string(got.Data) != want.data {
		t.Errorf("decodeSIOPacket(%q).Data = %q, want %q", in, got.Data, want.data)
	}
}

func TestDecodeSIOPacket(t *testing.T) {
	const ph0 = `{"_placeholder":true,"num":0}`
	const ph1 = `{"_placeholder":true,"num":1}`
	tests := []struct {
		in   string
		want wantPacket
	}{
		// CONNECT
		{`0`, wantPacket{sioConnect, "/", 0, false, 0, noData}},                                                                     // spec
		{`0{"token":"123"}`, wantPacket{sioConnect, "/", 0, false, 0, `{"token":"123"}`}},                                           // auth, main namespace
		{`0/admin,`, wantPacket{sioConnect, "/admin", 0, false, 0, noData}},                                                         // namespace, no auth
		{`0/admin`, wantPacket{sioConnect, "/admin", 0, false, 0, noData}},                                                          // namespace without the comma
		{`0/admin,{"token":"123"}`, wantPacket{sioConnect, "/admin", 0, false, 0, `{"token":"123"}`}},                               // spec
		{`0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`, wantPacket{sioConnect, "/admin", 0, false, 0, `{"sid":"oSO0OpakMV_3jnilAAAA"}`}}, // spec
		{`0/,{}`, wantPacket{sioConnect, "/", 0, false, 0, `{}`}},
		{`0/a/b-c.d,{"x":[1,2]}`, wantPacket{sioConnect, "/a/b-c.d", 0, false, 0, `{"x":[1,2]}`}},
		// DISCONNECT
		{`1`, wantPacket{sioDisconnect, "/", 0, false, 0, noData}},             // spec
		{`1/admin,`, wantPacket{sioDisconnect, "/admin", 0, false, 0, noData}}, // spec
		// EVENT
		{`2["foo"]`, wantPacket{sioEvent, "/", 0, false, 0, `["foo"]`}},             // spec
		{`2/admin,["bar"]`, wantPacket{sioEvent, "/admin", 0, false, 0, `["bar"]`}}, // spec
		{`212["foo"]`, wantPacket{sioEvent, "/", 12, true, 0, `["foo"]`}},           // spec
		{`2/admin,13["foo"]`, wantPacket{sioEvent, "/admin", 13, true, 0, `["foo"]`}},
		{`20["a"]`, wantPacket{sioEvent, "/", 0, true, 0, `["a"]`}},
		{`2007["a"]`, wantPacket{sioEvent, "/", 7, true, 0, `["a"]`}},
		{`218446744073709551615["a"]`, wantPacket{sioEvent, "/", 1<<64 - 1, true, 0, `["a"]`}},
		{`2[ "a" , 1 ]`, wantPacket{sioEvent, "/", 0, false, 0, `[ "a" , 1 ]`}},
		{`2 ["a"] `, wantPacket{sioEvent, "/", 0, false, 0, ` ["a"] `}},
		{`2[]`, wantPacket{sioEvent, "/", 0, false, 0, `[]`}}, // decodes; parseEvent refuses it
		{`2["chat",{"from":"a","text":"hello world"},123]`, wantPacket{sioEvent, "/", 0, false, 0, `["chat",{"from":"a","text":"hello world"},123]`}},
		// ACK
		{`312[]`, wantPacket{sioAck, "/", 12, true, 0, `[]`}},                       // spec: ACK with empty data
		{`3/admin,13["bar"]`, wantPacket{sioAck, "/admin", 13, true, 0, `["bar"]`}}, // spec
		{`30[null,{"a":1}]`, wantPacket{sioAck, "/", 0, true, 0, `[null,{"a":1}]`}},
		// CONNECT_ERROR
		{`4{"message":"Not authorized"}`, wantPacket{sioConnectError, "/", 0, false, 0, `{"message":"Not authorized"}`}}, // spec
		{`4/admin,"Invalid namespace"`, wantPacket{sioConnectError, "/admin", 0, false, 0, `"Invalid namespace"`}},
		// BINARY_EVENT / BINARY_ACK headers
		{`51-["baz",` + ph0 + `]`, wantPacket{sioBinaryEvent, "/", 0, false, 1, `["baz",` + ph0 + `]`}},                                     // spec
		{`52-/admin,["baz",` + ph0 + `,` + ph1 + `]`, wantPacket{sioBinaryEvent, "/admin", 0, false, 2, `["baz",` + ph0 + `,` + ph1 + `]`}}, // spec
		{`52-/nsp,12["a",` + ph0 + `,` + ph1 + `]`, wantPacket{sioBinaryEvent, "/nsp", 12, true, 2, `["a",` + ph0 + `,` + ph1 + `]`}},
		{`61-15["bar",` + ph0 + `]`, wantPacket{sioBinaryAck, "/", 15, true, 1, `["bar",` + ph0 + `]`}}, // spec
		{`6123456789-/x,1[]`, wantPacket{sioBinaryAck, "/x", 1, true, 123456789, `[]`}},
		{`50-["a"]`, wantPacket{sioBinaryEvent, "/", 0, false, 0, `["a"]`}},
	}
	for _, tt := range tests {
		got, err := decodeSIOPacket([]byte(tt.in))
		if err != nil {
			t.Errorf("decodeSIOPacket(%q): unexpected error %v", tt.in, err)
			continue
		}
		checkPacket(t, tt.in, got, tt.want)
	}
}

func TestDecodeSIOPacketInvalid(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{``, ErrInvalidPacket},
		{`7["a"]`, ErrInvalidPacket}, // unknown type
		{`9`, ErrInvalidPacket},
		{`a["a"]`, ErrInvalidPacket},
		{`/["a"]`, ErrInvalidPacket},
		{`-1`, ErrInvalidPacket},
		{`2{}`, ErrInvalidJSON},                          // EVENT payload must be an array (42{})
		{`2"a"`, ErrInvalidJSON},                         // ... not a string
		{`2abc["a"]`, ErrInvalidJSON},                    // garbage before the array (42abc[...])
		{`218446744073709551616["a"]`, ErrInvalidPacket}, // ack id overflows uint64
		{`299999999999999999999999["a"]`, ErrInvalidPacket},
		{`2["a"]x`, ErrInvalidJSON}, // trailing garbage
		{`2["a"]]`, ErrInvalidJSON},
		{`2["a"] ["b"]`, ErrInvalidJSON},
		{`2["a"`, ErrInvalidJSON},
		{`2["a",]`, ErrInvalidJSON},
		{`2[,"a"]`, ErrInvalidJSON},
		{`2['a']`, ErrInvalidJSON},
		{`2`, ErrInvalidJSON},            // EVENT without payload
		{`2/admin,`, ErrInvalidJSON},     // ... in a namespace
		{`212`, ErrInvalidJSON},          // ... with an id
		{`2/admin["a"]`, ErrInvalidJSON}, // no comma: the namespace swallows the payload
		{`3["a"]`, ErrInvalidJSON},       // ACK without id
		{`3/admin,["a"]`, ErrInvalidJSON},
		{`312`, ErrInvalidJSON},   // ACK without payload
		{`312{}`, ErrInvalidJSON}, // ACK payload must be an array
		{`1{}`, ErrInvalidJSON},   // DISCONNECT with payload
		{`1"bye"`, ErrInvalidJSON},
		{`1/admin,[]`, ErrInvalidJSON},
		{`0[]`, ErrInvalidJSON}, // CONNECT auth must be an object
		{`0"token"`, ErrInvalidJSON},
		{`0/admin,null`, ErrInvalidJSON},
		{`0{`, ErrInvalidJSON},
		{`0{"a":1}}`, ErrInvalidJSON},
		{`4`, ErrInvalidJSON}, // CONNECT_ERROR without payload
		{`4[]`, ErrInvalidJSON},
		{`412`, ErrInvalidJSON},
		{`5["a"]`, ErrInvalidPacket}, // binary without attachment count
		{`5-["a"]`, ErrInvalidPacket},
		{`51["a"]`, ErrInvalidPacket}, // count without '-'
		{`51`, ErrInvalidPacket},
		{`5`, ErrInvalidPacket},
		{`51234567890-["a"]`, ErrInvalidPacket}, // 10-digit attachment count
		{`6-1[]`, ErrInvalidPacket},
		{`61-[]`, ErrInvalidJSON}, // BINARY_ACK without id
		{`51-{}`, ErrInvalidJSON},
	}
	for _, tt := range tests {
		_, err := decodeSIOPacket([]byte(tt.in))
		if !errors.Is(err, tt.want) {
			t.Errorf("decodeSIOPacket(%q) error = %v, want %v", tt.in, err, tt.want)
		}
	}
}

// TestDecodeEventPipeline runs the inbound path of an EVENT: an Engine.IO
// text packet, the Socket.IO packet, then the event array.
func TestDecodeEventPipeline(t *testing.T) {
	decode := func(frame string) (string, [][]byte, error) {
		typ, body, err := decodeTextPacket([]byte(frame))
		if err != nil {
			return "", nil, err
		}
		if typ != eioMessage {
			return "", nil, ErrInvalidPacket
		}
		p, err := decodeSIOPacket(body)
		if err != nil {
			return "", nil, err
		}
		return parseEvent(p.Data, 256, nil)
	}
	name, args, err := decode(`42["hey","Jude"]`) // the spec's sample session
	if err != nil || name != "hey" || len(args) != 1 || string(args[0]) != `"Jude"` {
		t.Errorf(`42["hey","Jude"] = %q %q %v`, name, args, err)
	}
	for _, bad := range []string{`42[]`, `42{}`, `42abc["a"]`, `42[{}]`, `42[null]`, `42[["a"]]`, `42[true]`, "42[\"\xff\"]"} {
		if _, _, err := decode(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if _, _, err := decode(`42[]`); !errors.Is(err, ErrInvalidJSON) {
		t.Errorf("42[]: error %v, want ErrInvalidJSON", err)
	}
}

func TestParseEvent(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		name string
		args []string
	}{
		{`["foo"]`, 0, "foo", nil},
		{`["chat",{"from":"a","text":"hello world"},123]`, 256, "chat", []string{`{"from":"a","text":"hello world"}`, `123`}},
		{` [ "a" , 1 ,  "b" , null ] `, 256, "a", []string{`1`, `"b"`, `null`}},
		{`["a",[1,[2]],{"k":{"l":[]}},"x\"y",-1.5e3,true,false]`, 0, "a", []string{`[1,[2]]`, `{"k":{"l":[]}}`, `"x\"y"`, `-1.5e3`, `true`, `false`}},
		// numeric names, as socket.io-parser accepts them
		{`[1]`, 0, "1", nil},
		{`[42,"x"]`, 0, "42", []string{`"x"`}},
		{`[-2.5e3]`, 0, "-2.5e3", nil},
		{`[0]`, 0, "0", nil},
		// escaped names
		{`["a\"b"]`, 0, `a"b`, nil},
		{`["back\\slash\/"]`, 0, `back\slash/`, nil},
		{`["\b\f\n\r\t"]`, 0, "\b\f\n\r\t", nil},
		{`["\u0041\u00e9\u00C9\u20AC"]`, 0, "AéÉ€", nil},
		{`["\ud83d\ude00"]`, 0, "😀", nil},     // surrogate pair
		{`["x\uD834\uDD1Ey"]`, 0, "x𝄞y", nil}, // surrogate pair, upper case hex
		{`["\ud800"]`, 0, "\uFFFD", nil},      // lone high surrogate
		{`["\udc00x"]`, 0, "\uFFFDx", nil},    // lone low surrogate
		{`["\ud800\u0041"]`, 0, "\uFFFDA", nil},
		{`["\ud800\ud83d\ude00"]`, 0, "\uFFFD😀", nil},
		{`["é😀"]`, 0, "é😀", nil},
		{`[""]`, 0, "", nil},
		// name length limit, in bytes of the decoded name
		{`["abcd"]`, 4, "abcd", nil},
		{`["\u0061\u0062\u0063\u0064"]`, 4, "abcd", nil},
		{`["\ud83d\ude00"]`, 4, "😀", nil},
		{`["é"]`, 2, "é", nil},
		{`[1234]`, 4, "1234", nil},
		{`["` + strings.Repeat("n", 10000) + `"]`, 0, strings.Repeat("n", 10000), nil},
		{`["` + strings.Repeat("n", 256) + `"]`, 256, strings.Repeat("n", 256), nil},
	}
	for _, tt := range tests {
		name, args, err := parseEvent([]byte(tt.in), tt.max, nil)
		if err != nil {
			t.Errorf("parseEvent(%q, %d): %v", tt.in, tt.max, err)
			continue
		}
		if name != tt.name {
			t.Errorf("parseEvent(%q) name = %q, want %q", tt.in, name, tt.name)
		}
		if len(args) != len(tt.args) {
			t.Errorf("parseEvent(%q) args = %q, want %q", tt.in, args, tt.args)
			continue
		}
		for i := range args {
			if string(args[i]) != tt.args[i] {
				t.Errorf("parseEvent(%q) arg %d = %q, want %q", tt.in, i, args[i], tt.args[i])
			}
		}
		// A string name decodes as encoding/json decodes it.
		var raw []json.RawMessage
		if err := json.Unmarshal([]byte(tt.in), &raw); err != nil {
			t.Fatalf("encoding/json rejects test input %q: %v", tt.in, err)
		}
		var jname string
		if json.Unmarshal(raw[0], &jname) == nil && jname != name {
			t.Errorf("parseEvent(%q) name = %q, encoding/json says %q", tt.in, name, jname)
		}
	}
}

func TestParseEventInvalid(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want error
	}{
		{`[]`, 0, ErrInvalidJSON},
		{` [ ] `, 0, ErrInvalidJSON},
		{`{}`, 0, ErrInvalidJSON},
		{`"foo"`, 0, ErrInvalidJSON},
		{`[null]`, 0, ErrInvalidJSON},
		{`[true,1]`, 0, ErrInvalidJSON},
		{`[{"a":1}]`, 0, ErrInvalidJSON},
		{`[["a"]]`, 0, ErrInvalidJSON},
		{`["a"`, 0, ErrInvalidJSON},
		{`["a"]x`, 0, ErrInvalidJSON},
		{`["a\x"]`, 0, ErrInvalidJSON},
		{`["a\u12"]`, 0, ErrInvalidJSON},
		{``, 0, ErrInvalidJSON},
		{`["abcde"]`, 4, ErrEventNameTooLong},
		{`["\u0061\u0062\u0063\u0064\u0065"]`, 4, ErrEventNameTooLong},
		{`["éé"]`, 3, ErrEventNameTooLong}, // 4 bytes
		{`["\ud83d\ude00"]`, 3, ErrEventNameTooLong},
		{`[12345]`, 4, ErrEventNameTooLong},
		{`["` + strings.Repeat("n", 257) + `"]`, 256, ErrEventNameTooLong},
		{`["` + strings.Repeat(`\u006e`, 257) + `"]`, 256, ErrEventNameTooLong},
	}
	for _, tt := range tests {
		_, _, err := parseEvent([]byte(tt.in), tt.max, nil)
		if !errors.Is(err, tt.want) {
			t.Errorf("parseEvent(%q, %d) error = %v, want %v", tt.in, tt.max, err, tt.want)
		}
	}
}

func TestSplitArray(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`[]`, nil},
		{` [ ] `, nil},
		{"\t[\n]\r\n", nil},
		{`[1]`, []string{`1`}},
		{` [ 1 , "a" , {"b":[2]} , null ] `, []string{`1`, `"a"`, `{"b":[2]}`, `null`}},
		{`[[],{},[[]],""]`, []string{`[]`, `{}`, `[[]]`, `""`}},
		{`["a,b","c]d","e\"]"]`, []string{`"a,b"`, `"c]d"`, `"e\"]"`}},
		{`[{"a":"]"},[","]]`, []string{`{"a":"]"}`, `[","]`}},
	}
	for _, tt := range tests {
		got, err := splitArray([]byte(tt.in))
		if err != nil {
			t.Errorf("splitArray(%q): %v", tt.in, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("splitArray(%q) = %q, want %q", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if string(got[i]) != tt.want[i] {
				t.Errorf("splitArray(%q)[%d] = %q, want %q", tt.in, i, got[i], tt.want[i])
			}
		}
	}
	for _, bad := range []string{``, ` `, `[`, `]`, `[1 2]`, `[1,]`, `[,1]`, `[,]`, `{}`, `1`, `"[]"`, `[1]x`, `[1]]`, `[1}`, `[1][2]`, `[{]`, `[01]`, `[1,2`} {
		if got, err := splitArray([]byte(bad)); !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("splitArray(%q) = %q, %v; want ErrInvalidJSON", bad, got, err)
		}
	}
	// The elements alias the input.
	in := []byte(`["abc"]`)
	got, _ := splitArray(in)
	if len(got) != 1 || &got[0][0] != &in[1] {
		t.Error("splitArray elements do not alias the input")
	}
}

var validJSONCases = []string{
	`0`, `-0`, `1`, `-1`, `1.5`, `-1.5e+10`, `1E-2`, `1e5`, `0.0`, `-0.0e0`,
	`123456789012345678901234567890`, `1.7976931348623157e309`,
	`""`, `"abc"`, `"\"\\\/\b\f\n\r\t"`, `"\u00e9\u00C9\uD83D\uDE00\ud800"`, `"é😀"`, "\"\x7f\"", `"a'b"`,
	`true`, `false`, `null`,
	`[]`, `{}`, `[ ]`, `{ }`, ` [ 1 , 2 ] `, "\t\n\r [1]\t\n\r ",
	`{"a":{"b":[1,{"c":null}]}}`, `{"a" : 1 , "b" : [ ] }`, `{"":""}`, `{"a":1,"a":2}`,
	`[[[[[]]]]]`, `[{},[],"",0,true,false,null]`, `{"]":"}","[":"{"}`,
}

var invalidJSONCases = []string{
	``, ` `, "\t\n", `01`, `-01`, `00`, `-`, `--1`, `1.`, `.5`, `1e`, `1e+`, `1E-`, `+1`, `0x10`, `1.5.2`, `1e5e5`,
	`NaN`, `Infinity`, `-Infinity`, `tru`, `nul`, `fals`, `True`, `NULL`, `truex`, `nullnull`, `undefined`,
	`"abc`, `"`, `"\"`, `"\x"`, `"\'"`, `"\u12"`, `"\u12G4"`, `"\u"`, `"\U0041"`, `'a'`,
	`[1,]`, `[,]`, `[,1]`, `[1 2]`, `{"a"}`, `{"a":}`, `{a:1}`, `{"a":1,}`, `{,}`, `{"a" 1}`, `{1:2}`, `{"a":1 "b":2}`,
	`[`, `]`, `{`, `}`, `[[]`, `[]]`, `{]`, `[}`, `{"a":1]`, `[1}`, `{"a":[}`,
	`1 2`, `[] []`, `"a" "b"`, `{}x`, `[]]`, `1,`, `,1`,
}

func TestValidJSON(t *testing.T) {
	for _, s := range validJSONCases {
		if err := validJSON([]byte(s)); err != nil {
			t.Errorf("validJSON(%q) = %v, want nil", s, err)
		}
		if !json.Valid([]byte(s)) {
			t.Errorf("test case %q: encoding/json disagrees", s)
		}
		if !isJSON([]byte(s)) {
			t.Errorf("isJSON(%q) = false", s)
		}
	}
	for _, s := range invalidJSONCases {
		if err := validJSON([]byte(s)); !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("validJSON(%q) = %v, want ErrInvalidJSON", s, err)
		}
		if json.Valid([]byte(s)) {
			t.Errorf("test case %q: encoding/json disagrees", s)
		}
		if isJSON([]byte(s)) {
			t.Errorf("isJSON(%q) = true", s)
		}
	}
}

// TestValidJSONControlChars: a raw control character in a string is
// rejected, escaped it is accepted.
func TestValidJSONControlChars(t *testing.T) {
	for c := 0; c < 0x20; c++ {
		raw := []byte{'"', 'a', byte(c), 'b', '"'}
		if err := validJSON(raw); err == nil {
			t.Errorf("validJSON accepts raw control char %#x in a string", c)
		}
		if json.Valid(raw) {
			t.Errorf("encoding/json accepts raw control char %#x", c)
		}
		esc := []byte(`"a\u00` + hex2(byte(c)) + `b"`)
		if err := validJSON(esc); err != nil {
			t.Errorf("validJSON(%q) = %v", esc, err)
		}
		// In a key too.
		key := []byte{'{', '"', byte(c), '"', ':', '1', '}'}
		if err := validJSON(key); err == nil {
			t.Errorf("validJSON accepts raw control char %#x in a key", c)
		}
	}
}

func hex2(c byte) string {
	const hex = "0123456789abcdef"
	return string([]byte{hex[c>>4], hex[c&0xf]})
}

func TestScanValueEnd(t *testing.T) {
	tests := []struct {
		in    string
		start int
		end   int
	}{
		{`  "ab" x`, 0, 6},
		{`{"a":[1]},`, 0, 9},
		{`xx[1]yy`, 2, 5},
		{`[1, [2, 3]] , 4`, 0, 11},
		{`-12.5e3]`, 0, 7},
		{`true,`, 0, 4},
		{`null}`, 0, 4},
		{`"a\"b"c`, 0, 6},
	}
	for _, tt := range tests {
		end, err := scanValue([]byte(tt.in), tt.start)
		if err != nil || end != tt.end {
			t.Errorf("scanValue(%q, %d) = %d, %v; want %d", tt.in, tt.start, end, err, tt.end)
		}
	}
}

// TestValidJSONDeepNesting: 100,000 levels of nesting are accepted quickly
// and without growing the goroutine stack (the scanner is iterative);
// unbalanced brackets at that depth are rejected.
func TestValidJSONDeepNesting(t *testing.T) {
	const depth = 100_000
	arrays := strings.Repeat("[", depth) + strings.Repeat("]", depth)
	objects := strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
	mixed := strings.Repeat(`[{"k":`, depth/2) + `"v"` + strings.Repeat("}]", depth/2)
	for name, in := range map[string]string{"arrays": arrays, "objects": objects, "mixed": mixed} {
		var (
			err        error
			elapsed    time.Duration
			stackGrown uint64
		)
		done := make(chan struct{})
		// A fresh goroutine starts with a small stack; a recursive scanner
		// would grow it by tens of megabytes at this depth.
		go func() {
			defer close(done)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			err = validJSON([]byte(in))
			elapsed = time.Since(start)
			runtime.ReadMemStats(&after)
			if after.StackInuse > before.StackInuse {
				stackGrown = after.StackInuse - before.StackInuse
			}
		}()
		<-done
		if err != nil {
			t.Errorf("%s: validJSON rejects %d levels of nesting: %v", name, depth, err)
		}
		t.Logf("%s: %d levels in %v, stack in use grew by %d bytes", name, depth, elapsed, stackGrown)
		if elapsed > time.Second {
			t.Errorf("%s: validJSON took %v for %d levels", name, elapsed, depth)
		}
		if stackGrown > 1<<20 {
			t.Errorf("%s: stack in use grew by %d bytes during validJSON", name, stackGrown)
		}
		if _, err := splitArray([]byte("[" + in + "]")); err != nil && name != "objects" {
			t.Errorf("%s: splitArray: %v", name, err)
		}
	}
	unbalanced := []string{
		strings.Repeat("[", depth) + strings.Repeat("]", depth-1),
		strings.Repeat("[", depth-1) + strings.Repeat("]", depth),
		strings.Repeat("[", depth) + strings.Repeat("]", depth-1) + "}",
		strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth-1) + "]",
		strings.Repeat("[", depth),
		strings.Repeat("]", depth),
	}
	for i, in := range unbalanced {
		if err := validJSON([]byte(in)); !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("unbalanced case %d accepted: %v", i, err)
		}
	}
}

func TestSplitPayload(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want []string
	}{
		{"4hello\x1e2\x1e4world", 0, []string{"4hello", "2", "4world"}}, // spec
		{"4hello\x1ebAQIDBA==", 0, []string{"4hello", "bAQIDBA=="}},     // spec
		{"", 0, []string{""}},
		{"40", 1, []string{"40"}},
		{"\x1e", 0, []string{"", ""}},
		{"a\x1e\x1eb\x1e", 0, []string{"a", "", "b", ""}},
		{"1\x1e2\x1e3", 3, []string{"1", "2", "3"}},
		{"1\x1e2\x1e3", -1, []string{"1", "2", "3"}},
	}
	for _, tt := range tests {
		got, err := splitPayload([]byte(tt.in), tt.max)
		if err != nil {
			t.Errorf("splitPayload(%q, %d): %v", tt.in, tt.max, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("splitPayload(%q) = %q, want %q", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if string(got[i]) != tt.want[i] {
				t.Errorf("splitPayload(%q)[%d] = %q, want %q", tt.in, i, got[i], tt.want[i])
			}
		}
	}
	for _, tt := range []struct {
		in  string
		max int
	}{{"1\x1e2\x1e3", 2}, {"\x1e", 1}, {strings.Repeat("4x\x1e", 256) + "4x", 256}} {
		if _, err := splitPayload([]byte(tt.in), tt.max); !errors.Is(err, ErrTooManyPackets) {
			t.Errorf("splitPayload(%q, %d) error = %v, want ErrTooManyPackets", tt.in, tt.max, err)
		}
	}
	big := strings.Repeat("6\x1e", 9999) + "6"
	got, err := splitPayload([]byte(big), 0)
	if err != nil || len(got) != 10000 {
		t.Errorf("unlimited split of 10000 packets: %d, %v", len(got), err)
	}
}

func TestDecodePollingPacket(t *testing.T) {
	tests := []struct {
		in     string
		typ    byte
		data   string
		binary bool
	}{
		{"4hello", eioMessage, "hello", false},              // spec
		{"bAQIDBA==", eioMessage, "\x01\x02\x03\x04", true}, // spec
		{"bAQID", eioMessage, "\x01\x02\x03", true},
		{"b", eioMessage, "", true},
		{"b" + base64.StdEncoding.EncodeToString([]byte{0xff, 0x00, 0x1e}), eioMessage, "\xff\x00\x1e", true},
		{"2", eioPing, "", false},
		{"2probe", eioPing, "probe", false},
		{"3", eioPong, "", false},
		{"1", eioClose, "", false},
		{"6", eioNoop, "", false},
		{"5", eioUpgrade, "", false},
		{`0{"sid":"x"}`, eioOpen, `{"sid":"x"}`, false},
		{`42["a","é"]`, eioMessage, `2["a","é"]`, false},
	}
	for _, tt := range tests {
		typ, data, binary, err := decodePollingPacket([]byte(tt.in))
		if err != nil || typ != tt.typ || string(data) != tt.data || binary != tt.binary {
			t.Errorf("decodePollingPacket(%q) = %c %q %v %v; want %c %q %v", tt.in, typ, data, binary, err, tt.typ, tt.data, tt.binary)
		}
	}
	for _, tt := range []struct {
		in   string
		want error
	}{
		{"", ErrInvalidPacket},
		{"b!!!!", ErrInvalidPacket},
		{"bAQIDBA=", ErrInvalidPacket}, // bad padding
		{"bAQIDBA", ErrInvalidPacket},  // missing padding
		{"bAQ=DBA==", ErrInvalidPacket},
		{"b====", ErrInvalidPacket},
		{"7", ErrInvalidPacket},
		{"x", ErrInvalidPacket},
		{"B", ErrInvalidPacket},
		{"4\xff", ErrInvalidUTF8},
		{"42[\"\xc3\"]", ErrInvalidUTF8},
	} {
		if _, _, _, err := decodePollingPacket([]byte(tt.in)); !errors.Is(err, tt.want) {
			t.Errorf("decodePollingPacket(%q) error = %v, want %v", tt.in, err, tt.want)
		}
	}
}

func TestDecodeTextPacket(t *testing.T) {
	for c := byte('0'); c <= '6'; c++ {
		typ, data, err := decodeTextPacket(append([]byte{c}, "xé"...))
		if err != nil || typ != c || string(data) != "xé" {
			t.Errorf("decodeTextPacket(%c...) = %c %q %v", c, typ, data, err)
		}
	}
	typ, data, err := decodeTextPacket([]byte("3"))
	if err != nil || typ != eioPong || len(data) != 0 {
		t.Errorf("decodeTextPacket(3) = %c %q %v", typ, data, err)
	}
	for _, bad := range []string{"", "7", "/", ":", "a", "b", " 4"} {
		if _, _, err := decodeTextPacket([]byte(bad)); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("decodeTextPacket(%q) error = %v, want ErrInvalidPacket", bad, err)
		}
	}
	for _, bad := range []string{
		"4\xff",
		"4\xc3",             // truncated sequence
		"4\xc0\xaf",         // overlong encoding
		"4\xed\xa0\x80",     // UTF-8 encoded surrogate
		"4\xf4\x90\x80\x80", // beyond U+10FFFF
		"42[\"ok\",\"\xfe\"]",
	} {
		if _, _, err := decodeTextPacket([]byte(bad)); !errors.Is(err, ErrInvalidUTF8) {
			t.Errorf("decodeTextPacket(%q) error = %v, want ErrInvalidUTF8", bad, err)
		}
	}
}

func TestAppendPollingBinary(t *testing.T) {
	got := appendPollingBinary([]byte("4hello\x1e"), []byte{1, 2, 3, 4})
	if string(got) != "4hello\x1ebAQIDBA==" { // spec
		t.Errorf("appendPollingBinary = %q", got)
	}
	for _, in := range [][]byte{nil, {0}, {0xff, 0xfe, 0x1e}, bytes.Repeat([]byte{7}, 1000)} {
		enc := appendPollingBinary(nil, in)
		typ, data, binary, err := decodePollingPacket(enc)
		if err != nil || typ != eioMessage || !binary || !bytes.Equal(data, in) {
			t.Errorf("polling binary round trip of %x: %c %x %v %v", in, typ, data, binary, err)
		}
	}
}

// quotedCases are strings appendQuoted must encode: control characters,
// quotes, backslashes, the record separator, and Unicode.
func quotedCases() []string {
	cases := []string{
		"", "a", "hello world", `"`, `\`, `\"`, `"\"`, `a"b\c`, "/", "</script>", "a&b<c>d",
		"\n", "\r\n", "\t", "\b", "\f", "\x00", "\x1e", "\x1f", "\x7f", "line1\nline2\ttab",
		"é", "日本語", "😀", "\u2028\u2029", "\uFFFD", "\U0010FFFF", "mixé\x01😀\"\\",
		strings.Repeat("x", 1000) + "\n",
	}
	var all strings.Builder
	for c := 0; c < 0x80; c++ {
		cases = append(cases, string(rune(c)), "a"+string(rune(c))+"b")
		all.WriteByte(byte(c))
	}
	return append(cases, all.String())
}

// TestAppendQuoted compares appendQuoted with encoding/json: the literal
// decodes to the same string, and it is byte for byte what encoding/json
// writes (HTML escaping off) except where encoding/json chooses another
// spelling of the same escape.
func TestAppendQuoted(t *testing.T) {
	for _, s := range quotedCases() {
		got := appendQuoted([]byte("prefix"), s)
		if !bytes.HasPrefix(got, []byte("prefix")) {
			t.Fatalf("appendQuoted dropped the prefix: %q", got)
		}
		got = got[len("prefix"):]
		var back string
		if err := json.Unmarshal(got, &back); err != nil || back != s {
			t.Errorf("appendQuoted(%q) = %s: decodes to %q, %v", s, got, back, err)
		}
		for _, c := range got {
			if c < 0x20 {
				t.Errorf("appendQuoted(%q) = %q holds raw control byte %#x", s, got, c)
			}
		}
		if strings.ContainsAny(s, "\b\f\u2028\u2029") {
			continue // encoding/json spells these differently
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if !bytes.Equal(got, want) {
			t.Errorf("appendQuoted(%q) = %s, encoding/json writes %s", s, got, want)
		}
	}
	// Exact spellings the wire relies on.
	for s, want := range map[string]string{
		"\x1e":     `"\u001e"`,
		"a\"b\\c":  `"a\"b\\c"`,
		"\n\r\t":   `"\n\r\t"`,
		"\x00\x1f": `"\u0000\u001f"`,
		"é/":       `"é/"`,
	} {
		if got := appendQuoted(nil, s); string(got) != want {
			t.Errorf("appendQuoted(%q) = %s, want %s", s, got, want)
		}
	}
}

// TestAppendQuotedInvalidUTF8: text frames must be valid UTF-8 (RFC 6455
// section 8.1; the client fails the connection otherwise), so invalid bytes
// become U+FFFD, as encoding/json does.
func TestAppendQuotedInvalidUTF8(t *testing.T) {
	for _, s := range []string{"\xff", "a\xffb", "\xc3", "é\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "ok😀\xf0\x9f\x98"} {
		got := appendQuoted(nil, s)
		if !utf8.Valid(got) {
			t.Errorf("appendQuoted(%q) = %q is not valid UTF-8", s, got)
		}
		var back, want string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("appendQuoted(%q) = %q: %v", s, got, err)
			continue
		}
		ref, _ := json.Marshal(s)
		_ = json.Unmarshal(ref, &want)
		if back != want {
			t.Errorf("appendQuoted(%q) decodes to %q, encoding/json round trip gives %q", s, back, want)
		}
	}
}

func TestAppendArg(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		// Valid JSON passes through unchanged.
		{[]byte(`{"a":1}`), `{"a":1}`},
		{[]byte(`123`), `123`},
		{[]byte(`-1.5e3`), `-1.5e3`},
		{[]byte(`"x"`), `"x"`},
		{[]byte(` [1, 2] `), ` [1, 2] `},
		{[]byte(`null`), `null`},
		{[]byte(`true`), `true`},
		{[]byte(`"é\u00e9"`), `"é\u00e9"`},
		// Anything else becomes a JSON string.
		{[]byte(`hello`), `"hello"`},
		{[]byte(`plain text`), `"plain text"`},
		{nil, `""`},
		{[]byte{}, `""`},
		{[]byte(` `), `" "`},
		{[]byte(`{"a":1`), `"{\"a\":1"`},
		{[]byte(`01`), `"01"`},
		{[]byte(`True`), `"True"`},
		{[]byte(`a"b\`), `"a\"b\\"`},
		{[]byte("line\nbreak"), `"line\nbreak"`},
		{[]byte("\x1e"), `"\u001e"`},
		{[]byte("[1]\x1e"), `"[1]\u001e"`},
		{[]byte("\xff"), `"\ufffd"`},
		{[]byte("\"\xff\""), `"\"\ufffd\""`}, // a string literal that is not UTF-8 is not JSON
	}
	for _, tt := range tests {
		got := appendArg([]byte(","), tt.in)
		if string(got) != ","+tt.want {
			t.Errorf("appendArg(%q) = %s, want %s", tt.in, got[1:], tt.want)
		}
		if !json.Valid(got[1:]) {
			t.Errorf("appendArg(%q) = %s is not JSON", tt.in, got[1:])
		}
	}
}

func TestAppendSIOHeader(t *testing.T) {
	tests := []struct {
		typ         byte
		nsp         string
		attachments int
		id          uint64
		hasID       bool
		want        string
	}{
		{sioConnect, "/", 0, 0, false, "40"},
		{sioConnect, "", 0, 0, false, "40"},
		{sioConnect, "/admin", 0, 0, false, "40/admin,"},
		{sioEvent, "/", 0, 12, true, "4212"},
		{sioAck, "/admin", 0, 13, true, "43/admin,13"},
		{sioBinaryEvent, "/", 1, 0, false, "451-"},
		{sioBinaryEvent, "/admin", 2, 0, false, "452-/admin,"},
		{sioBinaryAck, "/", 1, 15, true, "461-15"},
		{sioEvent, "/", 0, 1<<64 - 1, true, "4218446744073709551615"},
	}
	for _, tt := range tests {
		if got := appendSIOHeader(nil, tt.typ, tt.nsp, tt.attachments, tt.id, tt.hasID); string(got) != tt.want {
			t.Errorf("appendSIOHeader(%d, %q, %d, %d, %v) = %q, want %q", tt.typ, tt.nsp, tt.attachments, tt.id, tt.hasID, got, tt.want)
		}
	}
}

func TestAppendEncoders(t *testing.T) {
	args := func(a ...string) [][]byte {
		out := make([][]byte, len(a))
		for i, s := range a {
			out[i] = []byte(s)
		}
		return out
	}
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"event main", appendEvent(nil, "/", 0, false, "foo", nil), `42["foo"]`}, // spec
		{"event empty nsp", appendEvent(nil, "", 0, false, "foo", nil), `42["foo"]`},
		{"event nsp", appendEvent(nil, "/admin", 0, false, "bar", nil), `42/admin,["bar"]`}, // spec
		{"event id", appendEvent(nil, "/", 12, true, "foo", nil), `4212["foo"]`},            // spec
		{"event id 0", appendEvent(nil, "/", 0, true, "x", nil), `420["x"]`},
		{"event nsp id args", appendEvent(nil, "/admin", 13, true, "hey", args(`"Jude"`, `{"a":1}`, `plain`, `42`)), `42/admin,13["hey","Jude",{"a":1},"plain",42]`},
		{"event quoted name", appendEvent(nil, "/", 0, false, "a\"b\n", args(`null`)), `42["a\"b\n",null]`},
		{"event nil arg", appendEvent(nil, "/", 0, false, "e", args("")), `42["e",""]`},
		{"event prefix", appendEvent([]byte("xx"), "/", 0, false, "e", nil), `xx42["e"]`},
		{"event max id", appendEvent(nil, "/", 1<<64-1, true, "e", nil), `4218446744073709551615["e"]`},
		{"ack empty", appendAck(nil, "/", 12, nil), `4312[]`},                          // spec: ACK with data []
		{"ack nsp", appendAck(nil, "/admin", 13, args(`"bar"`)), `43/admin,13["bar"]`}, // spec
		{"ack args", appendAck(nil, "/", 0, args(`1`, `raw`, `null`)), `430[1,"raw",null]`},
		{"connect", appendConnect(nil, "/", "wZX3oN0bSVIhsaknAAAI", ""), `40{"sid":"wZX3oN0bSVIhsaknAAAI"}`},                 // spec sample session
		{"connect nsp", appendConnect(nil, "/admin", "oSO0OpakMV_3jnilAAAA", ""), `40/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`}, // spec
		{"connect pid", appendConnect(nil, "/", "a", "b\"c"), `40{"sid":"a","pid":"b\"c"}`},
		{"connect error", appendConnectError(nil, "/", "Not authorized", nil), `44{"message":"Not authorized"}`}, // spec
		{"connect error nsp data", appendConnectError(nil, "/admin", "no \"way\"", []byte(`{"code":4}`)), `44/admin,{"message":"no \"way\"","data":{"code":4}}`},
		{"connect error raw data", appendConnectError(nil, "/", "x", []byte(`oops`)), `44{"message":"x","data":"oops"}`},
		{"disconnect", appendDisconnect(nil, "/"), `41`},                                                  // spec
		{"disconnect nsp", appendDisconnect(nil, "/admin"), `41/admin,`},                                  // spec
		{"binary event", appendBinaryEvent(nil, "/", "baz"), `451-["baz",{"_placeholder":true,"num":0}]`}, // spec
		{"binary event nsp", appendBinaryEvent(nil, "/admin", "message"), `451-/admin,["message",{"_placeholder":true,"num":0}]`},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, tt.got, tt.want)
		}
	}
}

// TestEncodeDecodeRoundTrip: what the encoders write, the decoders read
// back (the leading '4' is the Engine.IO message type).
func TestEncodeDecodeRoundTrip(t *testing.T) {
	type event struct {
		nsp   string
		id    uint64
		hasID bool
		name  string
		args  []string
	}
	for _, e := range []event{
		{"/", 0, false, "chat", []string{`{"from":"a"}`, `1`}},
		{"/admin", 7, true, "a\"b", []string{`plain text`, `[1,2]`}},
		{"/x", 0, true, "😀\x01", nil},
		{"/", 1<<64 - 1, true, "n", []string{""}},
	} {
		raw := make([][]byte, len(e.args))
		for i, a := range e.args {
			raw[i] = []byte(a)
		}
		enc := appendEvent(nil, e.nsp, e.id, e.hasID, e.name, raw)
		typ, body, err := decodeTextPacket(enc)
		if err != nil || typ != eioMessage {
			t.Fatalf("%s: %v", enc, err)
		}
		p, err := decodeSIOPacket(body)
		if err != nil {
			t.Fatalf("decode %s: %v", enc, err)
		}
		if p.Type != sioEvent || p.Nsp != e.nsp || p.ID != e.id || p.HasID != e.hasID {
			t.Errorf("decode %s = %+v", enc, p)
		}
		name, args, err := parseEvent(p.Data, 0, nil)
		if err != nil || name != e.name || len(args) != len(e.args) {
			t.Fatalf("parseEvent %s = %q %q %v", enc, name, args, err)
		}
		for i, a := range args {
			want := e.args[i]
			if !isJSON([]byte(want)) {
				want = string(appendQuoted(nil, want))
			}
			if string(a) != want {
				t.Errorf("%s: arg %d = %s, want %s", enc, i, a, want)
			}
		}
	}
	enc := appendAck(nil, "/admin", 9, [][]byte{[]byte(`"ok"`)})
	p, err := decodeSIOPacket(enc[1:])
	if err != nil || p.Type != sioAck || p.Nsp != "/admin" || p.ID != 9 || !p.HasID || string(p.Data) != `["ok"]` {
		t.Errorf("ack round trip: %+v %v", p, err)
	}
	enc = appendConnectError(nil, "/admin", "Invalid namespace", nil)
	p, err = decodeSIOPacket(enc[1:])
	if err != nil || p.Type != sioConnectError || p.Nsp != "/admin" {
		t.Errorf("connect error round trip: %+v %v", p, err)
	}
	enc = appendDisconnect(nil, "/admin")
	p, err = decodeSIOPacket(enc[1:])
	if err != nil || p.Type != sioDisconnect || p.Nsp != "/admin" || p.Data != nil {
		t.Errorf("disconnect round trip: %+v %v", p, err)
	}
	enc = appendBinaryEvent(nil, "/b", "file")
	p, err = decodeSIOPacket(enc[1:])
	if err != nil || p.Type != sioBinaryEvent || p.Attachments != 1 || p.Nsp != "/b" {
		t.Errorf("binary event round trip: %+v %v", p, err)
	}
	enc = appendConnect(nil, "/admin", "sid1", "pid1")
	p, err = decodeSIOPacket(enc[1:])
	if err != nil || p.Type != sioConnect || string(p.Data) != `{"sid":"sid1","pid":"pid1"}` {
		t.Errorf("connect round trip: %+v %v", p, err)
	}
}

// TestUnquoteMatchesEncodingJSON decodes string literals with every kind of
// escape and compares with encoding/json.
func TestUnquoteMatchesEncodingJSON(t *testing.T) {
	lits := []string{
		`""`, `"plain"`, `"\""`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\u0000"`, `"\u001e"`, `"\u0041\u00e9\u20ac"`,
		`"\uD83D\uDE00"`, `"\ud83d\ude00\ud83d\ude00"`, `"\ud800"`, `"\udfff"`, `"\ud800\u0041"`, `"\ud800\ud800"`,
		`"\ud800\ud800\udc00"`, `"a\ud83d"`, `"\ud83dx\ude00"`, `"\ud83d\\ude00"`, `"\uFFFF\uFFFE"`, `"é\u00e9"`,
	}
	for i := 0; i < 0x80; i++ {
		lits = append(lits, `"\u00`+hex2(byte(i))+`"`)
	}
	for _, lit := range lits {
		if _, err := scanString([]byte(lit), 0); err != nil {
			t.Fatalf("scanString(%s): %v", lit, err)
		}
		got, err := unquote([]byte(lit))
		if err != nil {
			t.Errorf("unquote(%s): %v", lit, err)
			continue
		}
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("encoding/json: %s: %v", lit, err)
		}
		if got != want {
			t.Errorf("unquote(%s) = %q, encoding/json gives %q", lit, got, want)
		}
	}
}

// TestEmitInvalidUTF8KeepsClientConnected: an argument that is not UTF-8
// must not produce a text frame the client has to reject. The official
// client (over the ws package) closes the connection on such a frame.
func TestEmitInvalidUTF8KeepsClientConnected(t *testing.T) {
	srv := NewServer(testConfig())
	ts := startServer(t, srv, func(kws *Websocket) {
		kws.EmitArgs("bad", []byte("a\xffb"), []byte("\"\xfe\""))
		kws.EmitEvent("after", []byte(`"still here"`))
	})
	res := runNode(t, ts.url, `
const socket = io(URL, { transports: ["websocket"] });
socket.on("bad", (a, b) => out({ bad: [a, b] }));
socket.on("after", (x) => { out({ after: x }); socket.disconnect(); setTimeout(() => process.exit(0), 50); });
socket.on("disconnect", (r) => { if (r !== "io client disconnect") fail("disconnect " + r); });
socket.on("connect_error", (e) => fail("connect_error " + e.message));
`, 15*time.Second)
	for _, want := range []string{"{\"bad\":[\"a\uFFFDb\",\"\\\"\uFFFD\\\"\"]}", `{"after":"still here"}`} {
		if !res.has(want) {
			t.Errorf("client output lacks %s; got %q", want, res.lines)
		}
	}
}

// TestParseEventHugeNameLimit: a limit so large that the quick bound on the
// quoted length would overflow must not refuse every name.
func TestParseEventHugeNameLimit(t *testing.T) {
	for _, max := range []int{math.MaxInt, math.MaxInt / 3, math.MaxInt/6 + 1} {
		name, _, err := parseEvent([]byte(`["chat"]`), max, nil)
		if err != nil || name != "chat" {
			t.Errorf("parseEvent with limit %d: %q, %v", max, name, err)
		}
	}
}

func TestNilArgumentsAreSkipped(t *testing.T) {
	if got := string(appendEvent(nil, "/", 0, false, "x", [][]byte{nil})); got != `42["x"]` {
		t.Errorf("event with a nil argument: %s", got)
	}
	if got := string(appendEvent(nil, "/", 0, false, "x", [][]byte{nil, []byte("1")})); got != `42["x",1]` {
		t.Errorf("event with nil then 1: %s", got)
	}
	if got := string(appendAck(nil, "/", 3, [][]byte{nil, {}, []byte(`"a"`)})); got != `433["a"]` {
		t.Errorf("ack with nil and empty entries: %s", got)
	}
}

// TestStringStops: the eight-byte test of scanString flags a word exactly
// when one of its bytes is '"', '\\' or below 0x20: every byte value at
// every position in a word of plain text, and words of random bytes.
func TestStringStops(t *testing.T) {
	t.Parallel()
	stop := func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 }
	check := func(w [8]byte) {
		want := false
		for _, c := range w {
			want = want || stop(c)
		}
		if got := stringStops(binary.LittleEndian.Uint64(w[:])) != 0; got != want {
			t.Fatalf("stringStops(% x) = %v, want %v", w, got, want)
		}
	}
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			for _, fill := range []byte{'a', 0x7f, 0x80, 0xff, ' ', '#', '['} {
				w := [8]byte{fill, fill, fill, fill, fill, fill, fill, fill}
				w[pos] = byte(c)
				check(w)
			}
		}
	}
	seed := uint64(0x9e3779b97f4a7c15)
	for i := 0; i < 200_000; i++ {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], seed)
		for j := range w {
			if w[j] < 0x20 && seed>>uint(j)&3 != 0 {
				w[j] += 0x40 // mostly printable, so words without a stop occur
			}
		}
		check(w)
	}
}
