package socketio

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// The payloads of the protocol's documentation and of its v3 test suite.
func TestEIO3PayloadExamples(t *testing.T) {
	hello := outPacket{data: []byte("4hello")}
	euro := outPacket{data: []byte("4€")}
	bin := outPacket{data: []byte{1, 2, 3, 4}, binary: true}
	for _, tc := range []struct {
		name      string
		items     []outPacket
		binary    bool
		want      []byte
		wantAsBin bool
	}{
		{"text", []outPacket{hello, euro}, true, []byte("6:4hello2:4€"), false},
		{"base64", []outPacket{hello, bin}, false, []byte("6:4hello10:b4AQIDBA=="), false},
		{"binary", []outPacket{hello, bin}, true, []byte{0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4}, true},
		{"binary, multibyte text", []outPacket{euro, bin}, true, []byte{0, 4, 255, '4', 0xe2, 0x82, 0xac, 1, 5, 255, 4, 1, 2, 3, 4}, true},
		{"astral", []outPacket{{data: []byte("4😀a")}}, true, []byte("4:4😀a"), false},
		{"control frames left out", []outPacket{{data: []byte("x"), ctrl: opPong}, {data: []byte("3")}}, true, []byte("1:3"), false},
		{"long", []outPacket{{data: append([]byte("4"), bytes.Repeat([]byte("é"), 1233)...)}}, true, append([]byte("1234:4"), bytes.Repeat([]byte("é"), 1233)...), false},
	} {
		got, asBin := appendEIO3Payload(nil, tc.items, tc.binary)
		if !bytes.Equal(got, tc.want) || asBin != tc.wantAsBin {
			t.Errorf("%s: encoded %q (binary %v), want %q (%v)", tc.name, got, asBin, tc.want, tc.wantAsBin)
		}
		packets, err := decodeEIO3Payload(got, asBin)
		if err != nil {
			t.Errorf("%s: decode: %v", tc.name, err)
			continue
		}
		var want []outPacket
		for _, p := range tc.items {
			if p.ctrl == 0 {
				want = append(want, p)
			}
		}
		if len(packets) != len(want) {
			t.Errorf("%s: decoded %d packets, want %d", tc.name, len(packets), len(want))
			continue
		}
		for i, p := range packets {
			wantData := want[i].data
			if !want[i].binary {
				wantData = wantData[1:]
				if p.typ != want[i].data[0] {
					t.Errorf("%s: packet %d type %q", tc.name, i, p.typ)
				}
			}
			if p.binary != want[i].binary || !bytes.Equal(p.data, wantData) {
				t.Errorf("%s: packet %d = %q (binary %v)", tc.name, i, p.data, p.binary)
			}
		}
	}
}

func TestEIO3PayloadErrors(t *testing.T) {
	for _, body := range []string{
		"", "abc", ":4hello", "6:4hell", "6x:4hello", "7:4hello", "12345678901:4", "1:9", "1:",
		"2:4😀", // the length ends inside a surrogate pair
		"3:b5AQ", "6:b4A!==", "6:4hello1", "\xff:",
	} {
		if p, err := decodeEIO3Payload([]byte(body), false); err == nil {
			t.Errorf("text %q: decoded %v, want an error", body, p)
		}
	}
	for _, body := range [][]byte{
		{}, {2, 1, 255, '4'}, {0, 255, '4'}, {0, 1}, {0, 10, 255, '4'}, {0, 2, 255, '4'}, {1, 1, 255, 3},
		{0, 1, 255, '4', 0}, {0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 255}, {1, 0, 255}, {0, 1, 255, 0xff},
	} {
		if p, err := decodeEIO3Payload(body, true); err == nil {
			t.Errorf("binary %v: decoded %v, want an error", body, p)
		}
	}
}

// An empty packet is skipped, as the Node server skips it.
func TestEIO3EmptyPacket(t *testing.T) {
	p, err := decodeEIO3Payload([]byte("0:1:6"), false)
	if err != nil || len(p) != 1 || p[0].typ != eioNoop {
		t.Errorf("decoded %+v, %v", p, err)
	}
}

func TestUTF16Len(t *testing.T) {
	for s, want := range map[string]int{"": 0, "a": 1, "é": 1, "€": 1, "😀": 2, "a😀b": 4, "\xff": 1, "\xe2\x82": 2} {
		if got := utf16Len([]byte(s)); got != want {
			t.Errorf("utf16Len(%q) = %d, want %d", s, got, want)
		}
	}
}

// FuzzEIO3Payload checks the v3 payload codec: decoding any body never
// panics, and any text and binary message encode, in both forms, into a
// payload that decodes back to them.
func FuzzEIO3Payload(f *testing.F) {
	f.Add([]byte("6:4hello2:4€"), "4hello", []byte{1, 2, 3})
	f.Add([]byte{0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4}, "4😀", []byte{})
	f.Add([]byte("10:b4AQIDBA=="), "2probe", []byte{0})
	f.Fuzz(func(t *testing.T, body []byte, text string, bin []byte) {
		_, _ = decodeEIO3Payload(body, false)
		_, _ = decodeEIO3Payload(body, true)
		if text == "" || text[0] < eioOpen || text[0] > eioNoop || !utf8.ValidString(text) {
			return
		}
		items := []outPacket{{data: []byte(text)}, {data: bin, binary: true}, {data: []byte(text)}}
		for _, supportsBinary := range []bool{false, true} {
			payload, asBin := appendEIO3Payload(nil, items, supportsBinary)
			packets, err := decodeEIO3Payload(payload, asBin)
			if err != nil {
				t.Fatalf("%q (binary %v) does not decode: %v", payload, asBin, err)
			}
			if len(packets) != 3 || packets[0].typ != text[0] || string(packets[0].data) != text[1:] ||
				!packets[1].binary || !bytes.Equal(packets[1].data, bin) || string(packets[2].data) != text[1:] {
				t.Fatalf("%q (binary %v) decodes to %+v", payload, asBin, packets)
			}
		}
	})
}

// BenchmarkEIO3Payload encodes and decodes a v3 polling payload of ten
// chat messages, in the text form.
func BenchmarkEIO3Payload(b *testing.B) {
	items := make([]outPacket, 10)
	for i := range items {
		items[i] = outPacket{data: []byte(`42["chat",{"user":"anna","text":"héllo, how are you today? 😀"}]`)}
	}
	buf := make([]byte, 0, 1024)
	payload, _ := appendEIO3Payload(nil, items, true)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = appendEIO3Payload(buf[:0], items, true)
		if _, err := decodeEIO3Payload(buf, false); err != nil {
			b.Fatal(err)
		}
	}
}
