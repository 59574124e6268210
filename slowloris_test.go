package socketio

// Slowloris clients: a polling GET whose answer is never read, and a
// request whose headers trickle in byte by byte.

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
)

// TestSlowlorisPollingGet: a raw TCP client connects a polling socket
// with 1 MB queued for it, sends a GET with a small receive buffer and
// never reads the answer nor polls again, while the server emits 8 MB more
// to it. What the server holds for it stays bounded: the answer is at most
// PollingMaxBufferSize (the rest stays queued), and the send queue never
// holds more than PollQueueMaxFrames packets; past that bound the
// overflow rule applies
// (DropFramesOnOverflow drops the packets, otherwise the session closes
// at once with ErrSendQueueClosed). Either way the session is gone by the
// heartbeat (no PONG ever comes), the GET's handler has returned, and a
// well-behaved client keeps working throughout.
func TestSlowlorisPollingGet(t *testing.T) {
	t.Parallel()
	const bound, answerMax, queued, stalled = 64, 256 << 10, 63, 64 << 10
	for _, drop := range []bool{true, false} {
		name := map[bool]string{true: "drop", false: "close"}[drop]
		want := map[bool]error{true: ErrHeartbeatTimeout, false: ErrSendQueueClosed}[drop]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := newResetEnv(t, func(c *Config) {
				c.PollQueueMaxFrames = bound
				c.MaxStalledBytes = stalled
				c.PollingMaxBufferSize = answerMax
				c.DropFramesOnOverflow = drop
			})
			sockets := make(chan *Websocket, 4)
			env.srv.On(EventConnect, func(ep *EventPayload) { sockets <- ep.Kws })
			sid, socketID := connectPolling(t, env.testServer)
			var kws *Websocket
			for kws == nil || kws.UUID != socketID {
				select {
				case kws = <-sockets:
				case <-time.After(rawTimeout):
					t.Fatal("no EventConnect")
				}
			}
			s := env.session(sid)
			big := []byte(`"` + strings.Repeat("q", 16<<10) + `"`)
			for i := 0; i < queued; i++ {
				kws.EmitArgs("queued", big)
			}
			get := rawRequest(t, env.testServer, http.MethodGet, "EIO=4&transport=polling&sid="+sid, "")
			_ = get.(*net.TCPConn).SetReadBuffer(4 << 10)
			waitFor(t, "the GET to take its answer", func() bool { return s.q.len() < queued && !s.getActive.Load() })
			if n, least := s.q.len(), queued-answerMax/len(big); n < least {
				t.Errorf("the GET took %d packets of %d bytes, more than PollingMaxBufferSize %d", queued-n, len(big), answerMax)
			}

			chunk := []byte(`"` + strings.Repeat("l", 4<<10) + `"`)
			maxQueued := 0
			for i := 0; i < 2048; i++ {
				kws.EmitArgs("bulk", chunk)
				if n := s.q.len(); n > maxQueued {
					maxQueued = n
				}
				if i%256 == 0 {
					env.good.roundTrip("during the flood")
				}
			}
			// Past the bound, MaxStalledBytes of packets; and one
			// heartbeat PING: control packets are never refused, and the
			// session ends at the PONG timeout after its first
			// unanswered PING.
			if most := bound + stalled/len(chunk) + 1; maxQueued > most {
				t.Errorf("send queue held %d packets, bound %d and %d bytes past it", maxQueued, bound, stalled)
			}
			if drop && s.closed() {
				t.Errorf("session closed (%v) by the flood although overflow drops", s.closeReason)
			}
			env.expectReaped(t, s, socketID, want)
			waitFor(t, "the GET's handler to return", func() bool { return !s.getActive.Load() })
		})
	}
}

// TestSlowlorisHeaders: a client sends a polling handshake's headers one
// byte at a time and never finishes them. The library sees nothing until
// fasthttp has read the whole header, so no session exists for it; what
// holds the connection (a fasthttp goroutine and its read buffer) is
// fasthttp. With the app's fiber.Config ReadTimeout unset, the connection
// lasts as long as the client keeps it; with ReadTimeout set, fasthttp
// closes it once ReadTimeout has passed since the request began, however
// the bytes trickle. A well-behaved client keeps working meanwhile.
func TestSlowlorisHeaders(t *testing.T) {
	t.Parallel()
	for _, readTimeout := range []time.Duration{0, time.Second} {
		name := map[bool]string{true: "no ReadTimeout", false: "ReadTimeout"}[readTimeout == 0]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			resetHeartbeat(&cfg)
			srv := NewServer(cfg)
			srv.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
			ts := startServerApp(t, srv, nil, fiber.Config{ReadTimeout: readTimeout})
			good := connectLiveWS(t, ts)
			baseline := ts.engine().count.Load() // the good client's

			// ReadTimeout runs from the server's accept, after start.
			start := time.Now()
			c, err := net.DialTimeout("tcp", strings.TrimPrefix(ts.url, "http://"), rawTimeout)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			// closed gets what the server wrote (fasthttp answers a read
			// timeout with 408) once it closes the connection.
			var reply []byte
			closed := make(chan error, 1)
			go func() {
				var err error
				reply, err = io.ReadAll(c)
				closed <- err
			}()
			// An endless header: the request line, then header lines with
			// no blank line to end them, one byte every 20 ms.
			trickle := "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Slow: 1\r\n", 100)
			var end error
			ended := false
			sent := 0
		feed:
			for ; sent < len(trickle); sent++ {
				select {
				case end = <-closed:
					ended = true
					break feed
				case <-time.After(20 * time.Millisecond):
				}
				if _, err := c.Write([]byte{trickle[sent]}); err != nil {
					break // the server is gone: wait for the reader below
				}
				if n := ts.engine().count.Load(); n != baseline {
					t.Fatalf("%d sessions while the headers are incomplete, want %d", n, baseline)
				}
				if sent%10 == 0 {
					good.roundTrip("during the trickle")
				}
				// Without ReadTimeout, 3 s are long enough to see nothing
				// bounds it; with it, the cut is well overdue by then.
				if time.Since(start) > 3*time.Second+readTimeout {
					break
				}
			}
			elapsed := time.Since(start)
			if readTimeout == 0 {
				select {
				case err := <-closed:
					t.Fatalf("the connection closed (%v) with no ReadTimeout", err)
				default:
				}
			} else {
				if !ended {
					select {
					case end = <-closed:
					case <-time.After(rawTimeout):
						t.Fatalf("connection still open %v after ReadTimeout %v (%d bytes sent)", elapsed, readTimeout, sent)
					}
				}
				if end != nil && !isConnReset(end) {
					t.Errorf("reading the cut connection: %v", end)
				}
				if len(reply) > 0 && !strings.HasPrefix(string(reply), "HTTP/1.1 408") {
					t.Errorf("answer to the unfinished request: %q", truncStr(string(reply), 100))
				}
				// Closed by ReadTimeout, not by the end of the trickle (the
				// whole header would take over 20 s) nor a header limit.
				if sent >= len(trickle) {
					t.Fatalf("the whole trickle was sent: the connection was not cut")
				}
				if elapsed < readTimeout {
					t.Errorf("closed after %v, before ReadTimeout %v", elapsed, readTimeout)
				}
			}
			if n := ts.engine().count.Load(); n != baseline {
				t.Errorf("%d sessions after the trickle, want %d", n, baseline)
			}
			good.roundTrip("after the trickle")
		})
	}
}

// isConnReset reports whether err is a connection reset by the peer.
func isConnReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}
