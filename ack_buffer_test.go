package socketio

import (
	"bytes"
	"slices"
	"testing"
	"unsafe"
)

// TestBufferJSON: placeholders become Node's Buffer JSON wherever they
// are, once per use; an invalid one stays; without attachments, or
// without a placeholder of one, the argument itself comes back.
func TestBufferJSON(t *testing.T) {
	atts := [][]byte{{1, 2}, {255}, {}}
	ph := func(n string) string { return `{"_placeholder":true,"num":` + n + `}` }
	for _, c := range []struct{ in, want string }{
		{ph("0"), `{"type":"Buffer","data":[1,2]}`},
		{ph("2"), `{"type":"Buffer","data":[]}`},
		{`{"a":[1,` + ph("1") + `,[` + ph("0") + `]],"b":{"c":` + ph("0") + `},"s":"x"}`,
			`{"a":[1,{"type":"Buffer","data":[255]},[{"type":"Buffer","data":[1,2]}]],"b":{"c":{"type":"Buffer","data":[1,2]}},"s":"x"}`},
		{`[` + ph("1") + `, ` + ph("1") + `]`, `[{"type":"Buffer","data":[255]}, {"type":"Buffer","data":[255]}]`},
		{`[` + ph("3") + `,` + ph("0") + `,` + ph("-1") + `]`, `[` + ph("3") + `,{"type":"Buffer","data":[1,2]},` + ph("-1") + `]`},
		{`{ "_placeholder" : true , "num" : 1 }`, `{"type":"Buffer","data":[255]}`},
		{`"` + `{\"_placeholder\":true,\"num\":0}"`, `"{\"_placeholder\":true,\"num\":0}"`},
	} {
		if got := string(bufferJSON([]byte(c.in), atts)); got != c.want {
			t.Errorf("bufferJSON(%s)\n= %s, want\n  %s", c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		in   string
		atts [][]byte
	}{
		{ph("0"), nil},
		{`{"a":1}`, atts},
		{ph("7"), atts},
		{`[` + ph("0"), atts}, // not JSON
	} {
		in := []byte(c.in)
		if got := bufferJSON(in, c.atts); unsafe.SliceData(got) != unsafe.SliceData(in) || len(got) != len(in) {
			t.Errorf("bufferJSON(%s) with %d attachments = %s, not its argument", c.in, len(c.atts), got)
		}
	}
	plain := []byte(`{"x":[1,2,3]}`)
	if n := testing.AllocsPerRun(100, func() { _ = bufferJSON(plain, nil) }); n != 0 {
		t.Errorf("bufferJSON without attachments: %v allocations", n)
	}
}

// TestBufferAttachments: Buffer JSON objects become placeholders of new
// attachments, numbered after the ones given, wherever they are and in
// either member order; look-alikes stay; and bufferJSON's output comes
// back to placeholders that Decode resolves to the bytes.
func TestBufferAttachments(t *testing.T) {
	ph := func(n string) string { return `{"_placeholder":true,"num":` + n + `}` }
	buf := func(data string) string { return `{"type":"Buffer","data":[` + data + `]}` }
	for _, c := range []struct {
		in, want string
		atts     [][]byte
	}{
		{buf("1,2"), ph("0"), [][]byte{{1, 2}}},
		{buf(""), ph("0"), [][]byte{{}}},
		{`{"a":[1,` + buf("255") + `,[` + buf("0") + `]],"b":{"c":` + buf("0") + `},"s":"x"}`,
			`{"a":[1,` + ph("0") + `,[` + ph("1") + `]],"b":{"c":` + ph("2") + `},"s":"x"}`, [][]byte{{255}, {0}, {0}}},
		{`{ "data" : [ 7 , 8 ] , "type" : "Buffer" }`, ph("0"), [][]byte{{7, 8}}},
		{`{"typ\u0065":"Buff\u0065r","data":[3]}`, ph("0"), [][]byte{{3}}},
		// Not Buffer JSON itself, but holding some.
		{`{"type":"Buffer","data":[1],"x":` + buf("2") + `}`, `{"type":"Buffer","data":[1],"x":` + ph("0") + `}`, [][]byte{{2}}},
		{`["{\"type\":\"Buffer\",\"data\":[1]}",` + buf("4") + `]`, `["{\"type\":\"Buffer\",\"data\":[1]}",` + ph("0") + `]`, [][]byte{{4}}},
	} {
		got, atts := bufferAttachments([]byte(c.in), nil)
		if string(got) != c.want || !slices.EqualFunc(atts, c.atts, bytes.Equal) {
			t.Errorf("bufferAttachments(%s)\n= %s %v, want\n  %s %v", c.in, got, atts, c.want, c.atts)
		}
	}
	for _, in := range []string{
		`{"a":1}`, `"Buffer"`, `null`, `[1,2]`,
		`{"type":"Buffer"}`, `{"data":[1]}`, `{"type":"Buffer","data":[256]}`, `{"type":"Buffer","data":[-1]}`,
		`{"type":"Buffer","data":[1.5]}`, `{"type":"Buffer","data":[1e0]}`, `{"type":"Buffer","data":["1"]}`,
		`{"type":"Buffer","data":[[1]]}`, `{"type":"Buffer","data":[1,]}`, `{"type":"buffer","data":[1]}`,
		`{"type":"Buffer","data":[1],"type":"Buffer"}`, `{"type":"Buffer","type":"Buffer"}`, `{"type":1,"data":[1]}`,
		`{"type":"Buffer","data":{"0":1}}`, `{"type":"Buffer","data":[1`, `"{\"type\":\"Buffer\",\"data\":[1]}"`,
	} {
		arg := []byte(in)
		got, atts := bufferAttachments(arg, nil)
		if unsafe.SliceData(got) != unsafe.SliceData(arg) || len(got) != len(arg) || atts != nil {
			t.Errorf("bufferAttachments(%s) = %s %v, want its argument, no attachment", in, got, atts)
		}
	}
	// Numbered after the attachments given.
	got, atts := bufferAttachments([]byte(`[`+buf("5")+`]`), [][]byte{{1}})
	if string(got) != `[`+ph("1")+`]` || !slices.EqualFunc(atts, [][]byte{{1}, {5}}, bytes.Equal) {
		t.Errorf("after one attachment: %s %v", got, atts)
	}

	// There and back: what bufferJSON gives a Go requester, EmitValuesWithAck
	// decodes to the bytes.
	orig := []byte(`{"text":"hi","b":` + ph("0") + `,"list":[` + ph("1") + `,` + ph("0") + `]}`)
	js := bufferJSON(orig, [][]byte{{0, 255, 7}, []byte("ab")})
	r := ackReplies([][]byte{js, nil})
	if len(r) != 2 || len(r[1].Args) != 0 || len(r[0].Args) != 1 {
		t.Fatalf("ackReplies: %+v", r)
	}
	var m struct {
		Text string
		B    []byte
		List [][]byte
	}
	if err := r[0].Decode(&m); err != nil || m.Text != "hi" || !bytes.Equal(m.B, []byte{0, 255, 7}) ||
		len(m.List) != 2 || string(m.List[0]) != "ab" || !bytes.Equal(m.List[1], m.B) {
		t.Errorf("decoded %s (%q) as %+v, %v", r[0].Args[0], r[0].Attachments, m, err)
	}
	var b []byte
	if err := ackReplies([][]byte{bufferJSON([]byte(ph("0")), [][]byte{{1, 2}})})[0].Decode(&b); err != nil || !bytes.Equal(b, []byte{1, 2}) {
		t.Errorf("top-level Buffer decoded as %x, %v", b, err)
	}
}
