package socketio

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestWriteDeadlineOnlyWhileBlocked: a write that does not fit in the
// socket's buffer waits with a WriteTimeout deadline, and the deadline is
// gone once it completes, so later writes, after the deadline would have
// passed, still go out. A client that stops reading is dropped after
// WriteTimeout, well before its heartbeat would.
func TestWriteDeadlineOnlyWhileBlocked(t *testing.T) {
	const writeTimeout = time.Second
	// More than the kernel buffers hold (the client's receive buffer is
	// kept small; the server's send buffer is at most a few MB).
	big := `"` + strings.Repeat("z", 8<<20) + `"`
	for _, reads := range []bool{true, false} {
		name := map[bool]string{true: "reading client", false: "stalled client"}[reads]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			es := newEchoServer(t, func(c *Config) {
				c.WriteTimeout = writeTimeout
				c.PingInterval, c.PingTimeout = 20*time.Second, 20*time.Second
			})
			es.srv.On("big", func(ep *EventPayload) {
				ep.Kws.EmitArgs("big", []byte(big))
			})
			w, id := connectSmallBufferWS(t, es.testServer)
			w.send(`42["big"]`)
			if !reads {
				// Fails if the server is still blocked writing after 8 s.
				if err := es.disconnectedWithin(t, id, 8*time.Second); !errors.Is(err, ErrTransportClosed) {
					t.Errorf("disconnect reason %v, want %v", err, ErrTransportClosed)
				}
				return
			}
			if got := w.read(); len(got) != len(big)+len(`42["big",]`) || !strings.HasSuffix(got, big+`]`) {
				t.Fatalf("big message: %d bytes, want %d", len(got), len(big)+len(`42["big",]`))
			}
			time.Sleep(writeTimeout + writeTimeout/2)
			w.roundTrip("after the deadline would have passed")
			w.roundTrip("and again")
			select {
			case d := <-es.disconnects:
				t.Fatalf("disconnected: %+v", d)
			default:
			}
		})
	}
}
