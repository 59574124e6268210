package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
)

func TestFindPlaceholders(t *testing.T) {
	ph := func(n string) string { return `{"_placeholder":true,"num":` + n + `}` }
	cases := []struct {
		data string
		n    int
		nums []int
		err  error
	}{
		{`["a",` + ph("0") + `]`, 1, []int{0}, nil},
		{`["a",{"x":[` + ph("1") + `,` + ph("0") + `]},{"y":{"z":` + ph("2") + `}}]`, 3, []int{1, 0, 2}, nil},
		{`[{"num":0,"_placeholder":true}]`, 1, []int{0}, nil},
		{`[{"\u005fplaceholder":true,"num":0}]`, 1, []int{0}, nil},
		{`[ { "_placeholder" : true , "num" : 1e0 } ]`, 2, []int{1}, nil},
		{`[{"_placeholder":true,"num":0,"extra":{"_placeholder":true,"num":9}}]`, 1, []int{0}, nil},
		{`[{"_placeholder":false,"num":7}]`, 1, nil, nil},
		{`[{"_placeholder":"true","num":7}]`, 1, nil, nil},
		{`["{\"_placeholder\":true,\"num\":5}"]`, 1, nil, nil},
		{`[{"_placeholder":{"a":true},"num":0}]`, 1, nil, nil},
		{`[` + ph("1") + `]`, 1, nil, ErrInvalidPlaceholder},
		{`[` + ph("-1") + `]`, 1, nil, ErrInvalidPlaceholder},
		{`[` + ph("0.5") + `]`, 1, nil, ErrInvalidPlaceholder},
		{`[` + ph(`"0"`) + `]`, 1, nil, ErrInvalidPlaceholder},
		{`[{"_placeholder":true}]`, 1, nil, ErrInvalidPlaceholder},
		{`[{"_placeholder":true,"num":[0]}]`, 1, nil, ErrInvalidPlaceholder},
		{`[` + ph("99999999999999999999") + `]`, 1, nil, ErrInvalidPlaceholder},
	}
	for _, c := range cases {
		refs, err := findPlaceholders([]byte(c.data), c.n, nil)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: err %v, want %v", c.data, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.data, err)
			continue
		}
		var nums []int
		for _, r := range refs {
			nums = append(nums, r.num)
			if obj := c.data[r.start:r.end]; obj[0] != '{' || obj[len(obj)-1] != '}' || !json.Valid([]byte(obj)) {
				t.Errorf("%s: ref spans %q", c.data, obj)
			}
		}
		if !reflect.DeepEqual(nums, c.nums) {
			t.Errorf("%s: nums %v, want %v", c.data, nums, c.nums)
		}
	}
}

func TestCheckPlaceholders(t *testing.T) {
	if err := checkPlaceholders([]byte(`["a",{"_placeholder":true,"num":0}]`), 2); !errors.Is(err, ErrExtraAttachment) {
		t.Errorf("unreferenced attachment: %v", err)
	}
	if err := checkPlaceholders([]byte(`["a",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`), 2); err != nil {
		t.Errorf("valid: %v", err)
	}
	if err := checkPlaceholders([]byte(`["a",{"_placeholder":true,"num":0}]`), 0); !errors.Is(err, ErrInvalidPlaceholder) {
		t.Errorf("placeholder without attachments: %v", err)
	}
}

func TestReassembler(t *testing.T) {
	decode := func(s string) sioPacket {
		p, err := decodeSIOPacket([]byte(s))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		return p
	}
	var r reassembler
	if _, _, _, err := r.attachment([]byte{1}, 100); !errors.Is(err, ErrUnexpectedAttachment) {
		t.Errorf("stray attachment: %v", err)
	}
	done, err := r.packet(decode(`52-/x,7["e",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`), 10, 10)
	if err != nil || done {
		t.Fatalf("header: done %v err %v", done, err)
	}
	if done, err := r.packet(decode(`2["e"]`), 6, 10); !errors.Is(err, ErrMissingAttachment) || done {
		t.Errorf("text before attachments: %v", err)
	}
	if _, _, done, err := r.attachment([]byte{1, 2}, 100); err != nil || done {
		t.Fatalf("first: %v %v", done, err)
	}
	p, att, done, err := r.attachment([]byte{3}, 100)
	if err != nil || !done || p.Nsp != "/x" || p.ID != 7 || !p.HasID || len(att) != 2 || !bytes.Equal(att[1], []byte{3}) {
		t.Fatalf("last: %+v %v %v %v", p, att, done, err)
	}
	if _, _, _, err := r.attachment([]byte{1}, 100); !errors.Is(err, ErrUnexpectedAttachment) {
		t.Errorf("attachment after completion: %v", err)
	}
	if _, err := r.packet(decode(`511-["e"]`), 9, 10); !errors.Is(err, ErrTooManyAttachments) {
		t.Errorf("11 attachments: %v", err)
	}
	if done, err := r.packet(decode(`50-["e"]`), 8, 10); !done || err != nil {
		t.Errorf("0 attachments: %v %v", done, err)
	}
	if _, err := r.packet(decode(`51-["e",{"_placeholder":true,"num":0}]`), 90, 10); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := r.attachment(make([]byte, 11), 100); !errors.Is(err, ErrAttachmentsTooLarge) {
		t.Errorf("over the size bound: %v", err)
	}
}

type fileMeta struct {
	Name  string `json:"name"`
	Data  []byte `json:"data"`
	Empty []byte `json:"empty,omitempty"`
	Skip  []byte `json:"-"`
	Raw   json.RawMessage
	Inner *struct {
		Parts [][]byte
	} `json:"inner,omitempty"`
	hidden []byte
}

type blob []byte

type selfByte uint8

func (b selfByte) MarshalJSON() ([]byte, error) { return []byte(`"b"`), nil }

type selfMarshal []byte

func (s selfMarshal) MarshalJSON() ([]byte, error) { return []byte(`"self"`), nil }

func TestEncodeValues(t *testing.T) {
	a, b, c, d := []byte("AAA"), []byte("BB"), []byte{0, 1, 2}, []byte("D")
	meta := fileMeta{Name: "x", Data: a, Skip: b, Raw: json.RawMessage(`{"k":1}`), hidden: c}
	meta.Inner = &struct{ Parts [][]byte }{Parts: [][]byte{b, c}}
	snapshot, _ := json.Marshal(meta)
	args := []any{
		"s", 3, d, blob("E"), selfMarshal("no"), json.RawMessage(`[1]`), nil,
		meta,
		map[string]any{"z": []any{a, 1}, "a": map[string][]byte{"q": b}},
		[]byte{},
	}
	body, atts, err := encodeValues(nil, "ev", true, args)
	if err != nil {
		t.Fatal(err)
	}
	ph := func(n string) string { return `{"_placeholder":true,"num":` + n + `}` }
	want := `["ev","s",3,` + ph("0") + `,` + ph("1") + `,"self",[1],null,` +
		`{"name":"x","data":` + ph("2") + `,"Raw":{"k":1},"inner":{"Parts":[` + ph("3") + `,` + ph("4") + `]}},` +
		`{"a":{"q":` + ph("5") + `},"z":[` + ph("6") + `,1]},` + ph("7") + `]`
	if string(body) != want {
		t.Errorf("body\n got %s\nwant %s", body, want)
	}
	wantAtts := [][]byte{d, []byte("E"), a, b, c, b, a, {}}
	if len(atts) != len(wantAtts) {
		t.Fatalf("attachments %q, want %q", atts, wantAtts)
	}
	for i := range atts {
		if !bytes.Equal(atts[i], wantAtts[i]) {
			t.Errorf("attachment %d = %q, want %q", i, atts[i], wantAtts[i])
		}
	}
	if again, _ := json.Marshal(meta); !bytes.Equal(again, snapshot) {
		t.Errorf("the caller's value changed:\n%s\n%s", snapshot, again)
	}
	if pkt := appendValuesPacket(nil, sioEvent, "/n", 4, true, body, len(atts)); !strings.HasPrefix(string(pkt), `458-/n,4["ev"`) {
		t.Errorf("packet %s", pkt)
	}
	// Without bytes it is a plain EVENT, and an ACK body has no name.
	body, atts, err = encodeValues(nil, "", false, []any{map[string]int{"a": 1}, "x"})
	if err != nil || len(atts) != 0 || string(body) != `[{"a":1},"x"]` {
		t.Errorf("plain: %s %v %v", body, atts, err)
	}
	if pkt := appendValuesPacket(nil, sioAck, "/", 9, true, body, 0); string(pkt) != `439[{"a":1},"x"]` {
		t.Errorf("ack packet %s", pkt)
	}
	if pkt := appendValuesPacket(nil, sioAck, "/", 9, true, []byte(`[`+ph("0")+`]`), 1); string(pkt) != `461-9[`+ph("0")+`]` {
		t.Errorf("binary ack packet %s", pkt)
	}
	// Elements that marshal themselves make a JSON array, not bytes.
	body, atts, err = encodeValues(nil, "e", true, []any{[]selfByte{1, 2}, struct{ S []selfByte }{[]selfByte{3}}})
	if err != nil || len(atts) != 0 || string(body) != `["e",["b","b"],{"S":["b"]}]` {
		t.Errorf("self-marshaling bytes: %s %v %v", body, atts, err)
	}
	if _, _, err := encodeValues(nil, "e", true, []any{make(chan int)}); err == nil {
		t.Error("a channel encoded")
	}
	if _, _, err := encodeValues(nil, "e", true, []any{json.RawMessage(`{`)}); err == nil {
		t.Error("invalid raw JSON encoded")
	}
}

func TestDecodeArgs(t *testing.T) {
	body, atts, err := encodeValues(nil, "", false, []any{
		[]byte("top"),
		fileMeta{Name: "n", Data: []byte("field"), Inner: &struct{ Parts [][]byte }{Parts: [][]byte{[]byte("p0"), []byte("p1")}}},
		map[string][]byte{"k": []byte("mv")},
		"plain",
		[]byte("any"),
	})
	if err != nil {
		t.Fatal(err)
	}
	args, err := splitArray(body)
	if err != nil {
		t.Fatal(err)
	}
	ep := &EventPayload{Args: args, Attachments: atts}
	var (
		top   []byte
		meta  fileMeta
		m     map[string][]byte
		plain string
		whole any
	)
	if err := ep.Decode(&top, &meta, &m, &plain, &whole); err != nil {
		t.Fatal(err)
	}
	if string(top) != "top" || meta.Name != "n" || string(meta.Data) != "field" || meta.Inner == nil ||
		string(meta.Inner.Parts[0]) != "p0" || string(meta.Inner.Parts[1]) != "p1" || string(m["k"]) != "mv" || plain != "plain" {
		t.Errorf("decoded %q %+v %q %q", top, meta, m, plain)
	}
	if b, ok := whole.([]byte); !ok || string(b) != "any" {
		t.Errorf("whole placeholder into any: %#v", whole)
	}
	var generic map[string]any
	if err := ep.Bind(1, &generic); err != nil {
		t.Fatal(err)
	}
	parts, _ := generic["inner"].(map[string]any)["Parts"].([]any)
	if b, ok := generic["data"].([]byte); !ok || string(b) != "field" || len(parts) != 2 || string(parts[1].([]byte)) != "p1" {
		t.Errorf("generic map: %#v", generic)
	}
	var list []any
	if err := ep.Bind(2, &whole); err != nil || string(whole.(map[string]any)["k"].([]byte)) != "mv" {
		t.Errorf("generic any: %v %#v", err, whole)
	}
	if err := (&EventPayload{Args: [][]byte{[]byte(`[1,` + ph0 + `]`)}, Attachments: atts[:1]}).Bind(0, &list); err != nil ||
		len(list) != 2 || string(list[1].([]byte)) != "top" {
		t.Errorf("generic list: %v %#v", err, list)
	}
	var typedAny struct {
		Data any `json:"data"`
	}
	if err := ep.Bind(1, &typedAny); err != nil || string(typedAny.Data.([]byte)) != "field" {
		t.Errorf("any field of a struct: %v %#v", err, typedAny.Data)
	}
	// A destination holding a type that decodes itself (fileMeta.Raw is a
	// json.RawMessage) takes the attachments as base64: an any there gets
	// the string.
	var withRaw struct {
		Data any             `json:"data"`
		Raw  json.RawMessage `json:"Raw"`
	}
	if err := ep.Bind(1, &withRaw); err != nil || withRaw.Data != "ZmllbGQ=" {
		t.Errorf("any field next to a RawMessage: %v %#v", err, withRaw.Data)
	}
	if err := ep.Decode(nil, nil, nil, nil, nil, new(int)); err == nil {
		t.Error("more destinations than arguments accepted")
	}
	if err := ep.Bind(5, new(int)); err == nil {
		t.Error("Bind out of range accepted")
	}
	if err := ep.Bind(3, new(int)); err == nil {
		t.Error("a string bound into an int")
	}
	reply := &AckReply{Args: args[:1], Attachments: atts}
	if err := reply.Decode(&top); err != nil || string(top) != "top" {
		t.Errorf("AckReply.Decode: %v %q", err, top)
	}
}

// refPlaceholders is a reference for findPlaceholders built on
// encoding/json: the nums of the placeholders (sorted), or ok false when
// one is invalid.
func refPlaceholders(data []byte, n int) (nums []int, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	ok = true
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["_placeholder"] == true {
				num, isNum := x["num"].(json.Number)
				f, err := num.Float64()
				if !isNum || err != nil || f < 0 || f >= float64(n) || f != float64(int(f)) {
					ok = false
					return
				}
				nums = append(nums, int(f))
				return
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	sort.Ints(nums)
	return nums, ok
}

func FuzzFindPlaceholders(f *testing.F) {
	for _, s := range []string{
		`["a",{"_placeholder":true,"num":0}]`,
		`[{"x":[{"_placeholder":true,"num":1},{"num":0,"_placeholder":true}]}]`,
		`[{"_placeholder":true,"num":0,"y":{"_placeholder":true,"num":9}}]`,
		`[{"_placeholder":true,"_placeholder":false,"num":0}]`,
		`[{"_placeholder":false,"_placeholder":true,"num":1.0}]`,
		`[{"\u005fplaceholder":true,"num":2e0}]`,
		`[{"_placeholder":true,"num":"0"}]`,
		`{"num":0,"_placeholder":true,"num":3}`,
		`[[[[{"a":{"_placeholder":true,"num":0}}]]]]`,
	} {
		f.Add([]byte(s), 3)
	}
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		if n < 0 || n > 64 || !isJSON(data) {
			return
		}
		refs, err := findPlaceholders(data, n, nil)
		want, ok := refPlaceholders(data, n)
		if (err == nil) != ok {
			t.Fatalf("%s n=%d: err %v, reference ok %v", data, n, err, ok)
		}
		if err != nil {
			return
		}
		var got []int
		for _, r := range refs {
			got = append(got, r.num)
		}
		sort.Ints(got)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s n=%d: nums %v, reference %v", data, n, got, want)
		}
	})
}

// TestFindPlaceholdersDeep checks that hostile nesting costs a few bytes
// of memory per level, not a goroutine stack frame or a large struct.
func TestFindPlaceholdersDeep(t *testing.T) {
	const depth = 200_000
	var b bytes.Buffer
	for i := 0; i < depth; i++ {
		b.WriteString(`[{"a":`)
	}
	b.WriteString(`{"_placeholder":true,"num":0}`)
	for i := 0; i < depth; i++ {
		b.WriteString(`}]`)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	refs, err := findPlaceholders(b.Bytes(), 1, nil)
	runtime.ReadMemStats(&after)
	if err != nil || len(refs) != 1 || refs[0].start != 6*depth {
		t.Fatalf("refs %v err %v", refs, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(16*b.Len()) {
		t.Errorf("allocated %d bytes for %d bytes of input", alloc, b.Len())
	}
}

type markerDest struct {
	Str   string
	Name  string
	Data  []byte
	Ptr   *[]byte
	Inner *struct{ Parts [][]byte }
	M     map[string][]byte
	MS    map[string]struct{ B []byte }
	L     []any
	A     any
	Arr   [2][]byte
	embedded
}

type embedded struct {
	E []byte
}

// TestDecodeMarkers checks the marker path of typed destinations: every
// []byte and interface position gets its attachment, the same bytes the
// base64 path gives, and no marker is left behind.
func TestDecodeMarkers(t *testing.T) {
	att := func(s string) []byte { return []byte(s) }
	p := att("ptr")
	src := map[string]any{
		"Name": "n", "Data": att("data"), "Ptr": p, "Str": att("str"),
		"Inner": map[string]any{"Parts": []any{att("p0"), att("p1")}},
		"M":     map[string][]byte{"k": att("mv")},
		"MS":    map[string]any{"s": map[string]any{"B": att("msb")}},
		"L":     []any{1, att("l1"), map[string]any{"deep": att("deep")}},
		"A":     att("a"),
		"Arr":   []any{att("r0"), att("r1")},
		"E":     att("emb"),
	}
	body, atts, err := encodeValues(nil, "", false, []any{src})
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 13 {
		t.Fatalf("%d attachments", len(atts))
	}
	args, _ := splitArray(body)
	if !decodeInfoOf(reflect.TypeFor[markerDest]()).safe {
		t.Fatal("markerDest should take the marker path")
	}
	var d markerDest
	if err := decodeArg(args[0], atts, &d); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{
		"Data": string(d.Data), "Ptr": string(*d.Ptr), "P0": string(d.Inner.Parts[0]), "P1": string(d.Inner.Parts[1]),
		"M": string(d.M["k"]), "MS": string(d.MS["s"].B), "A": fmt.Sprint(d.A),
		"R0": string(d.Arr[0]), "R1": string(d.Arr[1]), "E": string(d.E), "Str": d.Str,
	}
	want := map[string]string{
		"Data": "data", "Ptr": "ptr", "P0": "p0", "P1": "p1", "M": "mv", "MS": "msb", "A": "[97]",
		"R0": "r0", "R1": "r1", "E": "emb", "Str": "c3Ry",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if b, ok := d.L[1].([]byte); !ok || string(b) != "l1" {
		t.Errorf("L[1] = %#v", d.L[1])
	}
	if b, ok := d.L[2].(map[string]any)["deep"].([]byte); !ok || string(b) != "deep" {
		t.Errorf("L[2] = %#v", d.L[2])
	}
	// The base64 path (forced) agrees on every []byte position.
	var viaB64 markerDest
	size := 0
	refs, _ := findPlaceholders(args[0], len(atts), nil)
	if err := json.Unmarshal(resolvePlaceholders(make([]byte, 0, size), args[0], refs, atts), &viaB64); err != nil {
		t.Fatal(err)
	}
	viaB64.A, viaB64.L, d.A, d.L = nil, nil, nil, nil
	if !reflect.DeepEqual(d, viaB64) {
		t.Errorf("marker path %+v\nbase64 path %+v", d, viaB64)
	}
}
