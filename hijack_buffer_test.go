package socketio

import (
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"
)

// pipeliningConn sends extra right behind the first thing written on it
// (the client's upgrade request), in the same write, so the server
// receives frames that arrive with the request.
type pipeliningConn struct {
	net.Conn
	extra []byte
}

func (c *pipeliningConn) Write(p []byte) (int, error) {
	if c.extra == nil {
		return c.Conn.Write(p)
	}
	buf := append(append([]byte(nil), p...), c.extra...)
	c.extra = nil
	if _, err := c.Conn.Write(buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// maskedTextFrame is a client's text frame (masked with a zero key, which
// leaves the payload as it is).
func maskedTextFrame(payload string) []byte {
	return append([]byte{0x81, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
}

// hijackReadsSocket reports, for the server side of a WebSocket, whether
// fasthttp's hijacked connection reads the TCP socket directly (its request
// reader dropped) and what it reads through. The server's reader pool, where
// the reader goes back, must be found too. It must run where nothing
// reads the connection concurrently: on the goroutine a listener runs on.
func hijackReadsSocket(kws *Websocket) (bool, string) {
	hj := kws.Conn.NetConn()
	slot := hijackReaderSlot(hj)
	if slot == nil {
		return false, reflect.TypeOf(hj).String() + " (layout unknown)"
	}
	if hijackReaderPool(hj) == nil {
		return false, "fasthttp's reader pool not found"
	}
	_, ok := (*slot).(*net.TCPConn)
	return ok, reflect.TypeOf(*slot).String()
}

// reportHijackReader registers the event "which" on srv: its listener
// sends hijackReadsSocket's answer for the socket on the channel returned
// ("" when the connection reads the socket directly).
func reportHijackReader(srv *Server) chan string {
	reports := make(chan string, 1)
	srv.On("which", func(ep *EventPayload) {
		raw, what := hijackReadsSocket(ep.Kws)
		if raw {
			what = ""
		}
		reports <- what
	})
	return reports
}

// expectReadsSocket emits "which" on w and fails unless the server reports
// that the hijacked connection reads the socket directly.
func expectReadsSocket(t *testing.T, w *wsClient, reports chan string) {
	t.Helper()
	w.send(`42["which"]`)
	select {
	case what := <-reports:
		if what != "" {
			t.Fatalf("the hijacked connection reads through %s, want the TCP socket", what)
		}
	case <-time.After(rawTimeout):
		t.Fatal("no report from the server")
	}
}

// TestWebSocketDropsFasthttpReader: once fasthttp's request reader holds
// no bytes, the hijacked connection reads the socket directly and the
// reader goes back to fasthttp's pool, both when the client waits for the
// upgrade's answer and when its first frames arrive with the request
// (those are read first, in order). With Fiber's ReduceMemoryUsage,
// fasthttp hands over the socket itself, which is left as it is.
func TestWebSocketDropsFasthttpReader(t *testing.T) {
	cases := []struct {
		name      string
		pipelined bool
		appCfg    fiber.Config
	}{
		{name: "after the upgrade"},
		{name: "frames with the upgrade request", pipelined: true},
		{name: "ReduceMemoryUsage", appCfg: fiber.Config{ReduceMemoryUsage: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(testConfig())
			srv.On("echo", func(ep *EventPayload) { _ = ep.Ack(ep.Args...) })
			reports := reportHijackReader(srv)
			ts := startServerApp(t, srv, nil, tc.appCfg)
			var w *wsClient
			if tc.pipelined {
				extra := append(maskedTextFrame("40"), maskedTextFrame(`421["echo","first"]`)...)
				d := wsDialer
				d.NetDial = func(network, addr string) (net.Conn, error) {
					c, err := wsDialer.NetDial(network, addr)
					if err != nil {
						return nil, err
					}
					return &pipeliningConn{Conn: c, extra: extra}, nil
				}
				c, _, err := d.Dial("ws"+strings.TrimPrefix(ts.url, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close() })
				w = &wsClient{t: t, c: c}
				parseOpen(t, w.read())
				connectReplySID(t, w.read(), "/")
				w.expect(`431["first"]`)
			} else {
				w, _ = connectWS(t, ts)
			}
			expectReadsSocket(t, w, reports)
			w.roundTrip("after")
		})
	}
}

// TestDropHijackBufferLeavesOthersAlone: connections that are not
// fasthttp's hijacked ones, and readers that still hold bytes, are not
// touched.
func TestDropHijackBufferLeavesOthersAlone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if dropHijackBuffer(a, b) {
		t.Fatal("dropHijackBuffer changed a net.Pipe")
	}
	if f := lookupHijackFields(reflect.TypeOf(a)); f.ok {
		t.Fatalf("%T taken for fasthttp's hijacked connection", a)
	}
	type lookalike struct {
		net.Conn
		//lint:ignore U1000 only the field's name and type matter here
		r io.Reader
	}
	if f := lookupHijackFields(reflect.TypeOf(&lookalike{})); f.ok {
		t.Fatal("a type of another package taken for fasthttp's hijacked connection")
	}
}

// TestHijackReaderPoolOnlyWhenKept: fasthttp's reader pool is used only
// when the server keeps hijacked connections; otherwise fasthttp puts the
// reader back itself, and putting it back twice would hand it to two
// connections.
func TestHijackReaderPoolOnlyWhenKept(t *testing.T) {
	for _, keep := range []bool{true, false} {
		found := make(chan bool, 1)
		srv := &fasthttp.Server{
			KeepHijackedConns: keep,
			Handler: func(ctx *fasthttp.RequestCtx) {
				ctx.Hijack(func(c net.Conn) {
					found <- hijackReaderPool(c) != nil
					if keep {
						_ = c.Close()
					}
				})
			},
		}
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = srv.Serve(ln) }()
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		select {
		case got := <-found:
			if got != keep {
				t.Errorf("KeepHijackedConns %v: reader pool found %v, want %v", keep, got, keep)
			}
		case <-time.After(rawTimeout):
			t.Fatalf("KeepHijackedConns %v: no hijack", keep)
		}
		_ = c.Close()
		if err := srv.Shutdown(); err != nil {
			t.Fatal(err)
		}
	}
}
