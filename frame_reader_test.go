package socketio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	fws "github.com/fasthttp/websocket"
)

// clientFrame builds a masked frame as a client sends it; rsv is ORed
// into the first byte (reserved bits), and mask=false leaves it unmasked.
func clientFrame(op byte, fin bool, payload []byte, opts ...func(*frameOpts)) []byte {
	o := frameOpts{mask: true, key: [4]byte{0x37, 0xfa, 0x21, 0x3d}}
	for _, f := range opts {
		f(&o)
	}
	b0 := op | o.rsv
	if fin {
		b0 |= 0x80
	}
	var mbit byte
	if o.mask {
		mbit = 0x80
	}
	n := len(payload)
	var h []byte
	switch {
	case n < 126 && !o.long:
		h = []byte{b0, mbit | byte(n)}
	case n <= 0xffff && !o.long:
		h = []byte{b0, mbit | 126, byte(n >> 8), byte(n)}
	default:
		h = append([]byte{b0, mbit | 127}, binary.BigEndian.AppendUint64(nil, uint64(n))...)
	}
	if !o.mask {
		return append(h, payload...)
	}
	h = append(h, o.key[:]...)
	m := make([]byte, n)
	maskBytes(m, payload, o.key[:])
	return append(h, m...)
}

type frameOpts struct {
	mask bool
	long bool
	rsv  byte
	key  [4]byte
}

func unmasked(o *frameOpts) { o.mask = false }
func longLen(o *frameOpts)  { o.long = true }
func rsv1(o *frameOpts)     { o.rsv = 0x40 }
func zeroKey(o *frameOpts)  { o.key = [4]byte{} }
func closePayload(code int, text string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), text...)
}

// chunkedReader returns a read function over stream that hands out at most
// chunk bytes a call.
func chunkedReader(stream []byte, chunk int) func([]byte) (int, error) {
	src := bytes.NewReader(stream)
	return func(p []byte) (int, error) {
		if chunk > 0 && len(p) > chunk {
			p = p[:chunk]
		}
		return src.Read(p)
	}
}

// readAll reads messages until an error; pings are recorded.
func readAll(fr *frameReader) (msgs []wsMessage, pings [][]byte, err error) {
	fr.onPing = func(b []byte) { pings = append(pings, b) }
	for {
		m, err := fr.next()
		if err != nil {
			return msgs, pings, err
		}
		msgs = append(msgs, m)
	}
}

func TestFrameReaderMessages(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("0123456789abcdef"), 20_000) // 320,000 bytes
	mid := bytes.Repeat([]byte("x"), 300)
	stream := bytes.Join([][]byte{
		clientFrame(opText, true, []byte("2")),
		clientFrame(opText, true, []byte(`42["echo","hi"]`)),
		clientFrame(opBinary, true, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}),
		clientFrame(opText, true, mid),
		clientFrame(opText, true, mid, longLen),
		// fragmented, a PING between the fragments
		clientFrame(opText, false, []byte("42[\"fr")),
		clientFrame(opPing, true, []byte("are you there")),
		clientFrame(opContinuation, false, []byte("ag")),
		clientFrame(opContinuation, true, []byte("\"]")),
		clientFrame(opBinary, true, big),
		clientFrame(opText, true, nil),
		clientFrame(opPong, true, []byte("ignored")),
		clientFrame(opText, true, []byte("zero key"), zeroKey),
	}, nil)
	want := []wsMessage{
		{opText, []byte("2")},
		{opText, []byte(`42["echo","hi"]`)},
		{opBinary, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{opText, mid},
		{opText, mid},
		{opText, []byte(`42["frag"]`)},
		{opBinary, big},
		{opText, []byte{}},
		{opText, []byte("zero key")},
	}
	for _, chunk := range []int{1, 2, 3, 7, 100, 511, 4096, 0} {
		fr := &frameReader{read: chunkedReader(stream, chunk), limit: 1 << 20}
		msgs, pings, err := readAll(fr)
		if err != io.EOF {
			t.Fatalf("chunk %d: ended with %v, want EOF", chunk, err)
		}
		if len(msgs) != len(want) {
			t.Fatalf("chunk %d: %d messages, want %d", chunk, len(msgs), len(want))
		}
		for i := range want {
			if msgs[i].op != want[i].op || !bytes.Equal(msgs[i].data, want[i].data) {
				t.Errorf("chunk %d: message %d = op %d %.40q, want op %d %.40q", chunk, i, msgs[i].op, msgs[i].data, want[i].op, want[i].data)
			}
		}
		if len(pings) != 1 || string(pings[0]) != "are you there" {
			t.Errorf("chunk %d: pings %q", chunk, pings)
		}
	}
}

func TestFrameReaderErrors(t *testing.T) {
	t.Parallel()
	ok := clientFrame(opText, true, []byte("40"))
	cases := []struct {
		name   string
		stream []byte
		limit  int64
		want   error
		code   int // for a *fws.CloseError
	}{
		{"unmasked frame", clientFrame(opText, true, []byte("40"), unmasked), 0, ErrWebSocketProtocol, 0},
		{"reserved bit", clientFrame(opText, true, []byte("40"), rsv1), 0, ErrWebSocketProtocol, 0},
		{"reserved opcode", clientFrame(3, true, []byte("x")), 0, ErrWebSocketProtocol, 0},
		{"reserved control opcode", clientFrame(0xb, true, nil), 0, ErrWebSocketProtocol, 0},
		{"fragmented ping", clientFrame(opPing, false, []byte("x")), 0, ErrWebSocketProtocol, 0},
		{"long ping", clientFrame(opPing, true, bytes.Repeat([]byte("x"), 126)), 0, ErrWebSocketProtocol, 0},
		{"continuation first", clientFrame(opContinuation, true, []byte("x")), 0, ErrWebSocketProtocol, 0},
		{"text inside fragments", append(clientFrame(opText, false, []byte("a")), clientFrame(opText, true, []byte("b"))...), 0, ErrWebSocketProtocol, 0},
		{"64-bit length with the top bit", []byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, 0, ErrWebSocketProtocol, 0},
		{"message over the limit", clientFrame(opText, true, bytes.Repeat([]byte("x"), 101)), 100, ErrMessageTooLarge, 0},
		{"fragments over the limit", append(clientFrame(opText, false, bytes.Repeat([]byte("x"), 60)), clientFrame(opContinuation, true, bytes.Repeat([]byte("x"), 41))...), 100, ErrMessageTooLarge, 0},
		{"huge length announced", []byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}, 1 << 20, ErrMessageTooLarge, 0},
		{"close without status", clientFrame(opClose, true, nil), 0, nil, fws.CloseNoStatusReceived},
		{"close 1000", clientFrame(opClose, true, closePayload(1000, "bye")), 0, nil, fws.CloseNormalClosure},
		{"close 4000", clientFrame(opClose, true, closePayload(4000, "")), 0, nil, 4000},
		{"close one byte", clientFrame(opClose, true, []byte{3}), 0, ErrWebSocketProtocol, 0},
		{"close 1005 sent", clientFrame(opClose, true, closePayload(1005, "")), 0, ErrWebSocketProtocol, 0},
		{"close 999", clientFrame(opClose, true, closePayload(999, "")), 0, ErrWebSocketProtocol, 0},
		{"close reason not UTF-8", clientFrame(opClose, true, closePayload(1000, "\xff\xfe")), 0, ErrWebSocketProtocol, 0},
	}
	for _, tc := range cases {
		for _, chunk := range []int{1, 0} {
			// A good message first: it is delivered before the error.
			fr := &frameReader{read: chunkedReader(append(append([]byte{}, ok...), tc.stream...), chunk), limit: tc.limit}
			msgs, _, err := readAll(fr)
			if len(msgs) != 1 || string(msgs[0].data) != "40" {
				t.Errorf("%s (chunk %d): messages before the error %v", tc.name, chunk, msgs)
			}
			if tc.code != 0 {
				var ce *fws.CloseError
				if !errors.As(err, &ce) || ce.Code != tc.code {
					t.Errorf("%s (chunk %d): error %v, want close code %d", tc.name, chunk, err, tc.code)
				}
				continue
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("%s (chunk %d): error %v, want %v", tc.name, chunk, err, tc.want)
			}
		}
	}
}

func TestMaskBytes(t *testing.T) {
	t.Parallel()
	key := []byte{1, 2, 3, 4}
	for n := 0; n < 40; n++ {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(i * 7)
		}
		got := make([]byte, n)
		maskBytes(got, src, key)
		for i := range src {
			if got[i] != src[i]^key[i%4] {
				t.Fatalf("len %d: byte %d = %x, want %x", n, i, got[i], src[i]^key[i%4])
			}
		}
		maskBytes(got, got, key) // in place, back again
		if !bytes.Equal(got, src) {
			t.Fatalf("len %d: in-place unmask differs", n)
		}
	}
}

// FuzzFrameReader: any byte stream, read in any chunk size, ends in a
// message sequence and an error without panicking, never returns a message
// over the limit, and is read the same whatever the chunk size. A stream of
// valid frames built from the input is read back exactly.
func FuzzFrameReader(f *testing.F) {
	f.Add(clientFrame(opText, true, []byte(`42["a"]`)), uint8(3))
	f.Add(append(clientFrame(opText, false, []byte("ab")), clientFrame(opContinuation, true, []byte("cd"))...), uint8(1))
	f.Add(clientFrame(opBinary, true, bytes.Repeat([]byte{9}, 300)), uint8(0))
	f.Add(clientFrame(opClose, true, closePayload(1001, "")), uint8(5))
	f.Add([]byte{0x81, 0xfe, 0x01}, uint8(2))
	const limit = 1000
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		read := func(chunk int) ([]wsMessage, error) {
			fr := &frameReader{read: chunkedReader(data, chunk), limit: limit}
			msgs, _, err := readAll(fr)
			return msgs, err
		}
		msgs, err := read(int(chunk))
		if err == nil {
			t.Fatal("reading ended without an error")
		}
		for _, m := range msgs {
			if len(m.data) > limit {
				t.Fatalf("message of %d bytes over the limit", len(m.data))
			}
			if m.op != opText && m.op != opBinary {
				t.Fatalf("message with opcode %d", m.op)
			}
		}
		whole, werr := read(0)
		if len(whole) != len(msgs) || (werr == io.EOF) != (err == io.EOF) {
			t.Fatalf("chunk %d: %d messages, %v; whole: %d messages, %v", chunk, len(msgs), err, len(whole), werr)
		}
		for i := range msgs {
			if msgs[i].op != whole[i].op || !bytes.Equal(msgs[i].data, whole[i].data) {
				t.Fatalf("message %d differs with chunk %d", i, chunk)
			}
		}

		// Round trip: the input cut into messages of up to 255 bytes,
		// each split into fragments where chunk says.
		var stream []byte
		var want [][]byte
		for rest := data; len(rest) > 0; {
			n := min(int(rest[0]), len(rest))
			msg := rest[:n]
			rest = rest[n:]
			if n == 0 {
				rest = rest[1:]
			}
			want = append(want, msg)
			cut := 0
			if chunk > 0 {
				cut = int(chunk) % (len(msg) + 1)
			}
			if cut == 0 || cut == len(msg) {
				stream = append(stream, clientFrame(opBinary, true, msg)...)
				continue
			}
			stream = append(stream, clientFrame(opBinary, false, msg[:cut])...)
			stream = append(stream, clientFrame(opPing, true, []byte("p"))...)
			stream = append(stream, clientFrame(opContinuation, true, msg[cut:])...)
		}
		fr := &frameReader{read: chunkedReader(stream, int(chunk)), limit: limit}
		got, _, rerr := readAll(fr)
		if rerr != io.EOF || len(got) != len(want) {
			t.Fatalf("round trip: %d messages, %v; want %d, EOF", len(got), rerr, len(want))
		}
		for i := range want {
			if got[i].op != opBinary || !bytes.Equal(got[i].data, want[i]) {
				t.Fatalf("round trip: message %d differs", i)
			}
		}
	})
}
