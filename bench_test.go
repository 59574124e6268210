package socketio

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
)

// Benchmarks of the codec and of two loopback round trips. Run them with
//
//	go test -run='^$' -bench=. -benchtime=2s

var benchArgs = [][]byte{[]byte(`{"from":"a","text":"hello world"}`), []byte(`123`)}

func BenchmarkEncodeEvent(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendEvent(buf[:0], "/", 0, false, "chat", benchArgs)
	}
	if string(buf) != `42["chat",{"from":"a","text":"hello world"},123]` {
		b.Fatalf("encoded %s", buf)
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	frame := []byte(`42["chat",{"from":"a","text":"hello world"},123]`)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	var (
		name string
		args [][]byte
	)
	for b.Loop() {
		typ, body, err := decodeTextPacket(frame)
		if err != nil || typ != eioMessage {
			b.Fatal(err)
		}
		p, err := decodeSIOPacket(body)
		if err != nil {
			b.Fatal(err)
		}
		name, args, err = parseEvent(p.Data, 256, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	if name != "chat" || len(args) != 2 {
		b.Fatalf("decoded %q %q", name, args)
	}
}

// jsonObject1K is a ~1 KiB JSON object with every kind of value.
func jsonObject1K() []byte {
	var sb strings.Builder
	sb.WriteString(`{"id":12345,"user":{"name":"Zoë \"zed\" Example","roles":["admin","editor"],"active":true,"score":-12.5e-3},"items":[`)
	for i := 0; sb.Len() < 950; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"n":%d,"label":"item\t%d \u00e9","ok":%v,"v":null}`, i, i, i%2 == 0)
	}
	sb.WriteString(`],"end":"\ud83d\ude00"}`)
	return []byte(sb.String())
}

func BenchmarkValidJSON(b *testing.B) {
	obj := jsonObject1K()
	if err := validJSON(obj); err != nil {
		b.Fatalf("%v: %s", err, obj)
	}
	b.SetBytes(int64(len(obj)))
	b.ReportAllocs()
	for b.Loop() {
		if err := validJSON(obj); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAckRoundTrip(b *testing.B) { benchAckRoundTrip(b, NewServer(testConfig())) }

// BenchmarkAckRoundTripObserved is BenchmarkAckRoundTrip with an
// EngineObserver counting the messages and bytes both ways, as the admin
// module's does: what observing costs per ack.
func BenchmarkAckRoundTripObserved(b *testing.B) {
	srv := NewServer(testConfig())
	var packets, total atomic.Int64
	count := func(_ string, size int) { packets.Add(1); total.Add(int64(size)) }
	srv.ObserveEngine(EngineObserver{PacketIn: count, PacketOut: count})
	benchAckRoundTrip(b, srv)
	if packets.Load() < int64(2*b.N) {
		b.Fatalf("observed %d messages for %d acks", packets.Load(), b.N)
	}
}

func benchAckRoundTrip(b *testing.B, srv *Server) {
	srv.On("echo", func(ep *EventPayload) {
		if err := ep.Ack(ep.Args...); err != nil {
			b.Errorf("ack: %v", err)
		}
	})
	ts := startServer(b, srv, nil)
	c, _, err := dialConnected(ts.url)
	if err != nil {
		b.Fatal(err)
	}
	defer c.c.Close()
	out := make([]byte, 0, 64)
	want := make([]byte, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := strconv.Itoa(i)
		out = append(append(append(out[:0], "42"...), id...), `["echo","x"]`...)
		if err := c.c.WriteMessage(fws.TextMessage, out); err != nil {
			b.Fatal(err)
		}
		want = append(append(append(want[:0], "43"...), id...), `["x"]`...)
		msg, err := c.nextText()
		if err != nil {
			b.Fatal(err)
		}
		if !bytes.Equal(msg, want) {
			b.Fatalf("got %q, want %q", msg, want)
		}
	}
	b.StopTimer()
}

// BenchmarkHandshakeWebSocket measures one WebSocket session from dial to
// the main namespace's CONNECT reply (EIO open + SIO connect), then its
// close: the handshake scenario of bench/, in process. The client's own
// costs (dial, the HTTP upgrade, reading) are included in every figure,
// so compare runs of this benchmark with each other only.
func BenchmarkHandshakeWebSocket(b *testing.B) {
	srv := NewServer(testConfig())
	ts := startServer(b, srv, nil)
	b.ReportAllocs()
	for b.Loop() {
		c, _, err := dialConnected(ts.url)
		if err != nil {
			b.Fatal(err)
		}
		_ = c.c.Close()
	}
}

// BenchmarkBroadcast1000 measures Server.Broadcast to 1,000 WebSocket
// clients on loopback: one op is one message delivered to every client.
// The sender keeps at most broadcastWindow messages in flight per client,
// below the send queue bound (SendQueueSize), so a slow reader is waited for
// instead of being disconnected for overflow.
func BenchmarkBroadcast1000(b *testing.B) {
	const (
		clients         = 1000
		broadcastWindow = 64
		dialers         = 8
	)
	cfg := testConfig()
	if cfg.SendQueueSize <= broadcastWindow+8 {
		b.Fatalf("SendQueueSize %d is too small for a window of %d", cfg.SendQueueSize, broadcastWindow)
	}
	srv := NewServer(cfg)
	ts := startServer(b, srv, nil)

	conns := make([]*wsClient, clients)
	var dialErr atomic.Value
	var dwg sync.WaitGroup
	next := atomic.Int64{}
	for w := 0; w < dialers; w++ {
		dwg.Add(1)
		go func() {
			defer dwg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= clients {
					return
				}
				c, _, err := dialConnected(ts.url)
				if err != nil {
					dialErr.Store(err)
					return
				}
				conns[i] = c
			}
		}()
	}
	dwg.Wait()
	counts := make([]atomic.Int64, clients)
	var rwg sync.WaitGroup
	b.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				_ = c.c.Close()
			}
		}
		rwg.Wait()
	})
	if err := dialErr.Load(); err != nil {
		b.Fatalf("dial: %v", err)
	}
	for i, c := range conns {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			var buf bytes.Buffer
			for {
				_, r, err := c.c.NextReader()
				if err != nil {
					return
				}
				buf.Reset()
				if _, err := buf.ReadFrom(r); err != nil {
					return
				}
				msg := buf.Bytes()
				switch {
				case bytes.HasPrefix(msg, []byte(`42[`)):
					counts[i].Add(1)
				case len(msg) == 1 && msg[0] == eioPing:
					if c.c.WriteMessage(fws.TextMessage, []byte{eioPong}) != nil {
						return
					}
				}
			}
		}()
	}
	// waitAll waits until every client has received at least target
	// messages.
	waitAll := func(target int64) {
		deadline := time.Now().Add(30 * time.Second)
		from := 0
		for {
			for from < clients && counts[from].Load() >= target {
				from++
			}
			if from == clients {
				return
			}
			if time.Now().After(deadline) {
				lagging := 0
				for i := range counts {
					if counts[i].Load() < target {
						lagging++
					}
				}
				b.Fatalf("%d clients have not received %d messages (client %d at %d)", lagging, target, from, counts[from].Load())
			}
			time.Sleep(50 * time.Microsecond)
		}
	}

	msg := []byte(`{"text":"hello everyone"}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i >= broadcastWindow && i%(broadcastWindow/2) == 0 {
			waitAll(int64(i - broadcastWindow/2))
		}
		srv.Broadcast(msg)
	}
	waitAll(int64(b.N))
	b.StopTimer()
	for i := range counts {
		if got := counts[i].Load(); got != int64(b.N) {
			b.Fatalf("client %d received %d messages, want %d", i, got, b.N)
		}
	}
}

// BenchmarkValidJSONText: validating a chat-like argument whose text is
// 1 KiB of plain words, where the string scan dominates.
func BenchmarkValidJSONText(b *testing.B) {
	obj := []byte(`{"user":"ana","text":"` + strings.Repeat("a chat message with words ", 40) + `"}`)
	b.SetBytes(int64(len(obj)))
	b.ReportAllocs()
	for b.Loop() {
		if err := validJSON(obj); err != nil {
			b.Fatal(err)
		}
	}
}
