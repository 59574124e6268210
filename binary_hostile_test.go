package socketio

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
)

// echoWorks checks a binary event with an ack round trip on c.
func (c *wsClient) echoWorks() {
	c.t.Helper()
	c.send(`451-0["echo",{"_placeholder":true,"num":0}]`)
	c.sendBinary([]byte{1, 2, 3})
	if mt, ack := c.readMessage(); mt != fws.TextMessage || string(ack) != `461-0[{"_placeholder":true,"num":0}]` {
		c.t.Fatalf("echo ack %q", ack)
	}
	if mt, att := c.readMessage(); mt != fws.BinaryMessage || !bytes.Equal(att, []byte{1, 2, 3}) {
		c.t.Fatalf("echo attachment %d %v", mt, att)
	}
}

const ph0, ph1 = `{"_placeholder":true,"num":0}`, `{"_placeholder":true,"num":1}`

// TestBinaryHostile sends malformed binary sequences over a raw WebSocket:
// each closes that connection with its sentinel reason, and a second
// client on the same server keeps working.
func TestBinaryHostile(t *testing.T) {
	big := bytes.Repeat([]byte{7}, 3000)
	cases := []struct {
		name string
		send func(c *wsClient)
		want error
		// complete: the packet before the offending frame was whole, so
		// its listener ran.
		complete bool
	}{
		{"too many attachments", func(c *wsClient) { c.send(`4511-["x"]`) }, ErrTooManyAttachments, false},
		{"placeholder out of range", func(c *wsClient) { c.send(`451-["x",` + ph1 + `]`) }, ErrInvalidPlaceholder, false},
		{"placeholder num not a number", func(c *wsClient) { c.send(`451-["x",{"_placeholder":true,"num":"0"}]`) }, ErrInvalidPlaceholder, false},
		{"attachment without placeholder", func(c *wsClient) { c.send(`452-["x",` + ph0 + `]`) }, ErrExtraAttachment, false},
		{"missing attachment", func(c *wsClient) {
			c.send(`452-["x",` + ph0 + `,` + ph1 + `]`)
			c.sendBinary([]byte{1})
			c.send(`42["y"]`)
		}, ErrMissingAttachment, false},
		{"binary frame nobody expects", func(c *wsClient) { c.sendBinary([]byte{1, 2}) }, ErrUnexpectedAttachment, false},
		{"one attachment too many", func(c *wsClient) {
			c.send(`451-["x",` + ph0 + `]`)
			c.sendBinary([]byte{1})
			c.sendBinary([]byte{2})
		}, ErrUnexpectedAttachment, true},
		{"attachments over MaxPayload", func(c *wsClient) {
			c.send(`452-["x",` + ph0 + `,` + ph1 + `]`)
			c.sendBinary(big)
			c.sendBinary(big)
		}, ErrAttachmentsTooLarge, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.MaxPayload = 5000
			srv := NewServer(cfg)
			reasons := make(chan error, 4)
			var fired = make(chan string, 4)
			srv.On(EventDisconnect, func(ep *EventPayload) { reasons <- ep.Error })
			srv.On("x", func(ep *EventPayload) { fired <- "x" })
			srv.On("y", func(ep *EventPayload) { fired <- "y" })
			srv.On("echo", func(ep *EventPayload) {
				var b []byte
				if err := ep.Bind(0, &b); err != nil {
					t.Errorf("echo: %v", err)
				}
				_ = ep.AckValues(b)
			})
			ts := startServer(t, srv, nil)
			good := connectWSPonging(t, ts)
			bad := connectWSPonging(t, ts)
			tc.send(bad)
			bad.expectClosed()
			select {
			case err := <-reasons:
				if !errors.Is(err, tc.want) {
					t.Errorf("disconnect reason %v, want %v", err, tc.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no EventDisconnect")
			}
			select {
			case name := <-fired:
				if !tc.complete || name != "x" {
					t.Errorf("listener %q ran for a rejected packet", name)
				}
			default:
				if tc.complete {
					t.Error("the listener of the complete packet did not run")
				}
			}
			good.echoWorks()
		})
	}
}

// TestBinaryHostilePolling sends malformed binary sequences in polling
// POST bodies (b-prefixed base64 packets): the POST is answered 400 and
// the session ends with the sentinel reason.
func TestBinaryHostilePolling(t *testing.T) {
	cases := []struct {
		name string
		body string
		want error
	}{
		{"binary packet nobody expects", "bAQI=", ErrUnexpectedAttachment},
		{"text packet before the attachment", `451-["x",` + ph0 + "]\x1e" + `42["y"]`, ErrMissingAttachment},
		{"placeholder out of range", `451-["x",` + ph1 + "]\x1ebAQ==", ErrInvalidPlaceholder},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(testConfig())
			reasons := make(chan error, 2)
			srv.On(EventDisconnect, func(ep *EventPayload) { reasons <- ep.Error })
			srv.On("echo", func(ep *EventPayload) { _ = ep.AckValues(ep.Attachments[0]) })
			ts := startServer(t, srv, nil)
			good := connectWSPonging(t, ts)
			sid, _ := connectPolling(t, ts)
			if code, _ := mustHTTP(t, http.MethodPost, ts.pollURL(sid), tc.body); code != http.StatusBadRequest {
				t.Errorf("hostile POST answered %d, want 400", code)
			}
			select {
			case err := <-reasons:
				if !errors.Is(err, tc.want) {
					t.Errorf("disconnect reason %v, want %v", err, tc.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no EventDisconnect")
			}
			good.echoWorks()
		})
	}
}

// TestBinaryConcurrentEmits checks that attachments follow their own
// packet when many goroutines emit binary events on one socket at once.
func TestBinaryConcurrentEmits(t *testing.T) {
	const goroutines, each = 8, 25
	cfg := testConfig()
	cfg.SendQueueSize = 3 * goroutines * each // room for every packet
	srv := NewServer(cfg)
	var wg sync.WaitGroup
	srv.On("start", func(ep *EventPayload) {
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					k := g*each + i
					tag := []byte{byte(k >> 8), byte(k)}
					if err := ep.Kws.EmitValues("seq", k, append(tag, 0), map[string][]byte{"b": append(tag, 1)}); err != nil {
						t.Errorf("emit %d: %v", k, err)
					}
				}
			}(g)
		}
	})
	ts := startServer(t, srv, nil)
	t.Cleanup(wg.Wait)
	c := connectWSPonging(t, ts)
	c.send(`42["start"]`)
	seen := map[int]bool{}
	for len(seen) < goroutines*each {
		mt, head := c.readMessage()
		var k int
		if mt != fws.TextMessage || !strings.HasPrefix(string(head), `452-["seq",`) {
			t.Fatalf("expected a packet header, got %d %q", mt, head)
		}
		if _, err := fmt.Sscanf(string(head), `452-["seq",%d,`, &k); err != nil || seen[k] {
			t.Fatalf("header %q: %v (seen %v)", head, err, seen[k])
		}
		if want := `452-["seq",` + strconv.Itoa(k) + `,` + ph0 + `,{"b":` + ph1 + `}]`; string(head) != want {
			t.Fatalf("header %q, want %q", head, want)
		}
		seen[k] = true
		for part := byte(0); part < 2; part++ {
			mt, att := c.readMessage()
			if want := []byte{byte(k >> 8), byte(k), part}; mt != fws.BinaryMessage || !bytes.Equal(att, want) {
				t.Fatalf("packet %d attachment %d: %d %v, want %v", k, part, mt, att, want)
			}
		}
	}
}

// TestMaxAttachmentsConfig checks the Config field: its default, and a
// lower bound enforced on inbound packets.
func TestMaxAttachmentsConfig(t *testing.T) {
	if got := NewServer(Config{}).cfg.MaxAttachments; got != 10 {
		t.Errorf("zero Config: MaxAttachments %d, want 10", got)
	}
	if got := DefaultConfig().MaxAttachments; got != MaxAttachments || got != 10 {
		t.Errorf("DefaultConfig: MaxAttachments %d", got)
	}
	cfg := testConfig()
	cfg.MaxAttachments = 2
	srv := NewServer(cfg)
	reasons := make(chan error, 2)
	srv.On(EventDisconnect, func(ep *EventPayload) { reasons <- ep.Error })
	srv.On("two", func(ep *EventPayload) { _ = ep.AckValues(len(ep.Attachments)) })
	ts := startServer(t, srv, nil)
	c := connectWSPonging(t, ts)
	c.send(`452-1["two",` + ph0 + `,` + ph1 + `]`)
	c.sendBinary([]byte{1})
	c.sendBinary([]byte{2})
	if _, ack := c.readMessage(); string(ack) != `431[2]` {
		t.Fatalf("ack %q", ack)
	}
	c.send(`453-["three",` + ph0 + `,` + ph1 + `,{"_placeholder":true,"num":2}]`)
	c.expectClosed()
	if err := <-reasons; !errors.Is(err, ErrTooManyAttachments) {
		t.Errorf("reason %v", err)
	}
}

// TestEmitValuesWithAckGone checks that an ack emit on a socket that is
// gone reports through its callback, exactly once.
func TestEmitValuesWithAckGone(t *testing.T) {
	srv := NewServer(testConfig())
	sockets := make(chan *Websocket, 1)
	gone := make(chan struct{})
	srv.On(EventDisconnect, func(*EventPayload) { close(gone) })
	ts := startServer(t, srv, func(kws *Websocket) { sockets <- kws })
	c := connectWSPonging(t, ts)
	kws := <-sockets
	c.send("41")
	<-gone
	calls := make(chan error, 2)
	if err := kws.EmitValuesWithAck("late", func(r *AckReply, err error) { calls <- err }, []byte{1}); err != nil {
		t.Fatalf("returned %v", err)
	}
	if err := <-calls; !errors.Is(err, ErrAckDisconnected) {
		t.Errorf("callback got %v", err)
	}
	select {
	case err := <-calls:
		t.Errorf("callback called twice (%v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := kws.EmitValues("late", []byte{1}); err == nil {
		t.Error("EmitValues on a gone socket returned nil")
	}
}
