package socketio

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets for every parser of the codec. Run one with, e.g.
//
//	go test -run='^$' -fuzz='^FuzzDecodeSIOPacket$' -fuzztime=20s
//
// Seeds are added below and checked in under testdata/fuzz/<FuzzName>/.

// jsonDepthLimit is encoding/json's nesting limit: beyond it json.Valid
// rejects input that is valid JSON, so it is no oracle there.
const jsonDepthLimit = 10000

// bracketDepth is an upper bound of the nesting depth of b (brackets inside
// strings are counted too).
func bracketDepth(b []byte) int {
	depth, maxDepth := 0, 0
	for _, c := range b {
		switch c {
		case '[', '{':
			depth++
			if depth > maxDepth {
				maxDepth = depth
			}
		case ']', '}':
			depth--
		}
	}
	return maxDepth
}

// jsonDecidable reports whether encoding/json can judge b: within its depth
// limit (and UTF-8, for decoding into Go strings to compare).
func jsonDecidable(b []byte) bool { return bracketDepth(b) < jsonDepthLimit }

var sioSeeds = []string{
	`0`, `0{"token":"123"}`, `0/admin,`, `0/admin,{"token":"123"}`, `1`, `1/admin,`,
	`2["foo"]`, `2/admin,["bar"]`, `212["foo"]`, `3/admin,13["bar"]`, `312[]`,
	`4{"message":"Not authorized"}`, `51-["baz",{"_placeholder":true,"num":0}]`,
	`52-/nsp,12["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
	`61-15["bar",{"_placeholder":true,"num":0}]`, `2{}`, `2abc["a"]`, `218446744073709551616["a"]`,
	`2[]`, `2["a"]x`, `3["a"]`, `1{}`, `51234567890-["a"]`, `2["\ud83d\ude00",1e5]`, `2/a,00[]`,
}

func FuzzDecodeSIOPacket(f *testing.F) {
	for _, s := range sioSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeSIOPacket(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidPacket) && !errors.Is(err, ErrInvalidJSON) {
				t.Fatalf("unexpected error kind %v", err)
			}
			return
		}
		if p.Type > sioBinaryAck {
			t.Fatalf("type %d", p.Type)
		}
		if p.Nsp == "" || p.Nsp[0] != '/' || strings.Contains(p.Nsp, ",") {
			t.Fatalf("namespace %q", p.Nsp)
		}
		if p.Attachments < 0 || p.Attachments > 999_999_999 {
			t.Fatalf("attachments %d", p.Attachments)
		}
		if p.Type >= sioBinaryEvent && bytes.IndexByte(b, '-') < 2 {
			t.Fatalf("binary packet %q without attachment count", b)
		}
		if p.Data != nil {
			if err := validJSON(p.Data); err != nil {
				t.Fatalf("accepted payload %q is not JSON: %v", p.Data, err)
			}
			if jsonDecidable(p.Data) && !json.Valid(p.Data) {
				t.Fatalf("accepted payload %q that encoding/json rejects", p.Data)
			}
		}
		switch p.Type {
		case sioDisconnect:
			if p.Data != nil {
				t.Fatal("DISCONNECT with payload")
			}
		case sioAck, sioBinaryAck:
			if !p.HasID {
				t.Fatal("ACK without id")
			}
		case sioEvent, sioBinaryEvent, sioConnectError:
			if p.Data == nil {
				t.Fatal("payload missing")
			}
		}
		// Encoding the header again and decoding gives the same packet.
		enc := appendSIOHeader(nil, p.Type, p.Nsp, p.Attachments, p.ID, p.HasID)
		enc = append(enc, p.Data...)
		q, err := decodeSIOPacket(enc[1:])
		if err != nil {
			t.Fatalf("re-encoded %q (from %q) does not decode: %v", enc, b, err)
		}
		if q.Type != p.Type || q.Nsp != p.Nsp || q.ID != p.ID || q.HasID != p.HasID || q.Attachments != p.Attachments || !bytes.Equal(q.Data, p.Data) || (q.Data == nil) != (p.Data == nil) {
			t.Fatalf("round trip of %q via %q: %+v != %+v", b, enc, q, p)
		}
	})
}

func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{
		`["foo"]`, `["chat",{"from":"a","text":"hello world"},123]`, `[1]`, `[-2.5e3,"x"]`,
		`["a\"b"]`, `["\u0041\u00e9"]`, `["\ud83d\ude00"]`, `["\ud800"]`, `["\ud800\ud800\udc00"]`,
		`[]`, `{}`, `[null]`, `["abcde"]`, `[ "a" , 1 ]`, `["a"]x`,
	} {
		f.Add([]byte(s), 4)
		f.Add([]byte(s), 0)
	}
	f.Fuzz(func(t *testing.T, data []byte, maxName int) {
		name, args, err := parseEvent(data, maxName, nil)
		decidable := utf8.Valid(data) && jsonDecidable(data)
		var raw []json.RawMessage
		jsonErr := errors.New("not decided")
		if decidable {
			jsonErr = json.Unmarshal(data, &raw)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidJSON) && !errors.Is(err, ErrEventNameTooLong) {
				t.Fatalf("unexpected error kind %v", err)
			}
			if errors.Is(err, ErrInvalidJSON) && jsonErr == nil && len(raw) > 0 {
				if h := bytes.TrimSpace(raw[0]); len(h) > 0 && (h[0] == '"' || h[0] == '-' || (h[0] >= '0' && h[0] <= '9')) {
					t.Fatalf("refused %q with %v, though encoding/json reads a string or number name", data, err)
				}
			}
			if errors.Is(err, ErrEventNameTooLong) && jsonErr == nil && len(raw) > 0 {
				h := bytes.TrimSpace(raw[0])
				n := string(h)
				if h[0] == '"' {
					_ = json.Unmarshal(h, &n)
				}
				if maxName <= 0 || len(n) <= maxName {
					t.Fatalf("name %q of %d bytes refused as too long with limit %d", n, len(n), maxName)
				}
			}
			return
		}
		if maxName > 0 && len(name) > maxName {
			t.Fatalf("name of %d bytes accepted with limit %d", len(name), maxName)
		}
		for _, a := range args {
			if err := validJSON(a); err != nil {
				t.Fatalf("argument %q is not JSON", a)
			}
		}
		if !decidable {
			return
		}
		if jsonErr != nil {
			t.Fatalf("accepted %q that encoding/json rejects: %v", data, jsonErr)
		}
		if len(raw) != len(args)+1 {
			t.Fatalf("%d elements, encoding/json finds %d", len(args)+1, len(raw))
		}
		for i, a := range args {
			if !bytes.Equal(bytes.TrimSpace(raw[i+1]), a) {
				t.Fatalf("argument %d = %q, encoding/json finds %q", i, a, raw[i+1])
			}
		}
		var s string
		if h := bytes.TrimSpace(raw[0]); h[0] == '"' {
			if json.Unmarshal(h, &s) != nil || s != name {
				t.Fatalf("name %q, encoding/json decodes %q", name, s)
			}
		} else if string(bytes.TrimSpace(raw[0])) != name {
			t.Fatalf("numeric name %q, element is %q", name, raw[0])
		}
	})
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range validJSONCases {
		f.Add([]byte(s))
	}
	for _, s := range invalidJSONCases {
		f.Add([]byte(s))
	}
	f.Add([]byte(strings.Repeat("[", 200) + strings.Repeat("]", 200)))
	f.Add([]byte("\"\xff\""))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := validJSON(b)
		if err != nil && !errors.Is(err, ErrInvalidJSON) {
			t.Fatalf("unexpected error kind %v", err)
		}
		if jsonDecidable(b) {
			if want := json.Valid(b); (err == nil) != want {
				t.Fatalf("validJSON(%q) = %v, json.Valid = %v", b, err, want)
			}
		}
		if err == nil {
			start := skipSpace(b, 0)
			end, serr := scanValue(b, start)
			if serr != nil || skipSpace(b, end) != len(b) {
				t.Fatalf("scanValue(%q) = %d, %v", b, end, serr)
			}
		}
		// Whatever the input, appendArg makes one JSON value of it, in
		// UTF-8 and without raw control bytes.
		arg := appendArg(nil, b)
		if validJSON(arg) != nil || !utf8.Valid(arg) {
			t.Fatalf("appendArg(%q) = %q", b, arg)
		}
		if jsonDecidable(arg) && !json.Valid(arg) {
			t.Fatalf("appendArg(%q) = %q, not JSON for encoding/json", b, arg)
		}
		if err == nil && utf8.Valid(b) && !bytes.Equal(arg, b) {
			t.Fatalf("appendArg changed valid JSON %q to %q", b, arg)
		}
	})
}

func FuzzSplitPayload(f *testing.F) {
	f.Add([]byte("4hello\x1e2\x1e4world"), 0)
	f.Add([]byte("4hello\x1ebAQIDBA=="), 2)
	f.Add([]byte(""), 1)
	f.Add([]byte("\x1e\x1e"), 2)
	f.Fuzz(func(t *testing.T, body []byte, maxPackets int) {
		parts, err := splitPayload(body, maxPackets)
		n := bytes.Count(body, []byte{recordSeparator}) + 1
		if maxPackets > 0 && n > maxPackets {
			if !errors.Is(err, ErrTooManyPackets) {
				t.Fatalf("%d packets with limit %d: %v", n, maxPackets, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%d packets with limit %d: %v", n, maxPackets, err)
		}
		if len(parts) != n {
			t.Fatalf("%d parts, want %d", len(parts), n)
		}
		for _, p := range parts {
			if bytes.IndexByte(p, recordSeparator) >= 0 {
				t.Fatalf("part %q holds a separator", p)
			}
		}
		if joined := bytes.Join(parts, []byte{recordSeparator}); !bytes.Equal(joined, body) {
			t.Fatalf("joined parts %q != body %q", joined, body)
		}
	})
}

func FuzzDecodePollingPacket(f *testing.F) {
	for _, s := range []string{"4hello", "bAQIDBA==", "b", "bAQIDBA=", "b!!", "2probe", "6", "7", "", "4\xff", `42["a"]`, "bAQ\nID"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		typ, data, binary, err := decodePollingPacket(p)
		if err != nil {
			if !errors.Is(err, ErrInvalidPacket) && !errors.Is(err, ErrInvalidUTF8) {
				t.Fatalf("unexpected error kind %v", err)
			}
			return
		}
		if binary {
			if p[0] != 'b' || typ != eioMessage {
				t.Fatalf("binary packet %q: type %c", p, typ)
			}
			want, derr := base64.StdEncoding.DecodeString(string(p[1:]))
			if derr != nil || !bytes.Equal(data, want) {
				t.Fatalf("base64 of %q: %x, encoding/base64 gives %x (%v)", p, data, want, derr)
			}
			// Re-encoded, it decodes to the same bytes.
			_, again, bin, err := decodePollingPacket(appendPollingBinary(nil, data))
			if err != nil || !bin || !bytes.Equal(again, data) {
				t.Fatalf("round trip of %x: %x %v", data, again, err)
			}
			return
		}
		if typ < eioOpen || typ > eioNoop || typ != p[0] || !bytes.Equal(data, p[1:]) || !utf8.Valid(p) {
			t.Fatalf("text packet %q: %c %q", p, typ, data)
		}
	})
}

func FuzzAppendQuoted(f *testing.F) {
	for _, s := range quotedCases() {
		f.Add(s)
	}
	f.Add("\xff\xfe")
	f.Add("é\xc3")
	f.Fuzz(func(t *testing.T, s string) {
		out := appendQuoted(nil, s)
		if !utf8.Valid(out) {
			t.Fatalf("appendQuoted(%q) = %q is not UTF-8", s, out)
		}
		if err := validJSON(out); err != nil || !json.Valid(out) {
			t.Fatalf("appendQuoted(%q) = %q is not a JSON value", s, out)
		}
		if out[0] != '"' || bytes.IndexByte(out, recordSeparator) >= 0 {
			t.Fatalf("appendQuoted(%q) = %q", s, out)
		}
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("appendQuoted(%q) = %q: %v", s, out, err)
		}
		if utf8.ValidString(s) {
			if back != s {
				t.Fatalf("appendQuoted(%q) = %q decodes to %q", s, out, back)
			}
		} else {
			// As encoding/json: each invalid byte becomes U+FFFD.
			ref, _ := json.Marshal(s)
			var want string
			_ = json.Unmarshal(ref, &want)
			if back != want {
				t.Fatalf("appendQuoted(%q) decodes to %q, encoding/json round trip to %q", s, back, want)
			}
		}
		// unquote reads back what appendQuoted writes.
		if got, err := unquote(out); err != nil || got != back {
			t.Fatalf("unquote(%q) = %q, %v; want %q", out, got, err, back)
		}
	})
}
