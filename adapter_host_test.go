package socketio

import (
	"context"
	"errors"
	"testing"
	"time"
)

// hostCapture returns a server whose adapters record their hosts.
func hostCapture(wrap func(AdapterHost) Adapter) (*Server, map[string]AdapterHost) {
	srv := NewServer(testConfig())
	hosts := map[string]AdapterHost{}
	srv.SetAdapter(func(h AdapterHost) Adapter {
		hosts[h.Name()] = h
		if wrap != nil {
			return wrap(h)
		}
		return NewMemoryAdapter(h)
	})
	return srv, hosts
}

// TestHostDescribe: what a multi-node adapter tells the other nodes of a
// local socket, and what FetchSockets returns for local sockets.
func TestHostDescribe(t *testing.T) {
	srv, hosts := hostCapture(nil)
	nsp := srv.Of("/")
	s := newFakeSocket(t, nsp, 16, "r")
	s.sess.req.headers = map[string]string{"Origin": "http://x", "User-Agent": "ua"}
	s.sess.req.query = map[string]string{"EIO": "4"}
	s.SetAttribute("k", "v")
	s.SetAttribute("fn", func() {}) // cannot be marshalled: left out
	hs, data, ok := hosts["/"].Describe(s.id)
	if !ok || string(data) != `{"k":"v"}` {
		t.Fatalf("Describe: %v %s", ok, data)
	}
	if hs.Address != "127.0.0.1" || hs.Headers["user-agent"] != "ua" || !hs.XDomain || hs.Query["EIO"] != "4" ||
		string(hs.Auth) != "{}" || hs.Issued == 0 || hs.Time == "" {
		t.Errorf("handshake %+v", hs)
	}
	bare := newFakeSocket(t, nsp, 16)
	if _, data, _ := hosts["/"].Describe(bare.id); string(data) != "{}" {
		t.Errorf("data of a socket without attributes: %s", data)
	}
	bare.disconnect(nil, false)
	if _, _, ok := hosts["/"].Describe("nobody"); ok {
		t.Error("Describe of an unknown socket")
	}
	socks, err := srv.In("r").FetchSockets()
	if err != nil || len(socks) != 1 || string(socks[0].Data) != `{"k":"v"}` || socks[0].Handshake.Address != "127.0.0.1" {
		t.Errorf("FetchSockets: %+v %v", socks, err)
	}
	first := hosts["/"].NextAckID()
	if second := hosts["/"].NextAckID(); second != first+1 {
		t.Errorf("ack ids %d then %d", first, second)
	}
	s.disconnect(nil, false)
}

// TestServerSideEvent: a server-side event from another node runs the
// namespace's listeners (a panicking one is recovered) and the first
// answer is the only one sent.
func TestServerSideEvent(t *testing.T) {
	srv, hosts := hostCapture(nil)
	var order []string
	srv.OnServerSideEmit("ev", func(args [][]byte, ack func([]byte)) {
		order = append(order, "first "+string(args[0]))
		panic("boom")
	})
	srv.OnServerSideEmit("ev", func(args [][]byte, ack func([]byte)) {
		order = append(order, "second")
		ack([]byte(`1`))
		ack([]byte(`2`))
	})
	var answers []string
	hosts["/"].ServerSideEvent("ev", [][]byte{[]byte(`"x"`)}, func(r []byte) { answers = append(answers, string(r)) })
	if len(order) != 2 || order[0] != `first "x"` || len(answers) != 1 || answers[0] != "1" {
		t.Errorf("listeners ran %q, answers %q", order, answers)
	}
	// Without ack the listeners get a nil ack.
	srv.Of("/").OnServerSideEmit("noack", func(_ [][]byte, ack func([]byte)) {
		if ack != nil {
			t.Error("ack given")
		}
		order = append(order, "noack")
	})
	hosts["/"].ServerSideEvent("noack", nil, nil)
	if order[len(order)-1] != "noack" {
		t.Error("listener did not run")
	}
}

// sseAdapter is a multi-node adapter stand-in: two other nodes answer
// every server-side event, and it counts three servers.
type sseAdapter struct {
	Adapter
	sent *[]string
}

func (a sseAdapter) ServerSideEmit(event string, args [][]byte, ack func([][]byte, error)) error {
	*a.sent = append(*a.sent, event+" "+string(args[0]))
	if ack != nil {
		go ack([][]byte{[]byte(`"n1"`), []byte(`"n2"`)}, nil)
	}
	return nil
}

func (a sseAdapter) ServerCount(context.Context) (int, error) { return 3, nil }

func TestServerSideEmit(t *testing.T) {
	single := NewServer(testConfig())
	done := make(chan error, 1)
	if err := single.ServerSideEmitWithAck("ev", nil, func(r [][]byte, err error) {
		if len(r) != 0 {
			t.Errorf("responses %q on one node", r)
		}
		done <- err
	}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := single.ServerSideEmit("ev"); err != nil {
		t.Fatal(err)
	}
	if err := single.ServerSideEmit("connect"); !errors.Is(err, ErrReservedEventName) {
		t.Errorf("reserved name: %v", err)
	}

	var sent []string
	srv, _ := hostCapture(func(h AdapterHost) Adapter { return sseAdapter{Adapter: NewMemoryAdapter(h), sent: &sent} })
	got := make(chan []string, 1)
	if err := srv.ServerSideEmitWithAck("ev", [][]byte{[]byte(`1`)}, func(r [][]byte, err error) {
		var s []string
		for _, x := range r {
			s = append(s, string(x))
		}
		if err != nil {
			s = append(s, err.Error())
		}
		got <- s
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if len(r) != 2 || r[0] != `"n1"` || r[1] != `"n2"` {
			t.Errorf("responses %q", r)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no callback")
	}
	if err := srv.ServerSideEmit("ev", []byte(`2`)); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || sent[0] != "ev 1" || sent[1] != "ev 2" {
		t.Errorf("adapter got %q", sent)
	}

	// A local broadcast with acks waits for this node's report only,
	// whatever the server count.
	start := time.Now()
	acked := make(chan error, 1)
	if err := srv.Local().Timeout(2*time.Second).EmitWithAck("ask", nil, func(_ [][]byte, err error) { acked <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-acked; err != nil || time.Since(start) > time.Second {
		t.Errorf("local EmitWithAck: %v after %v", err, time.Since(start))
	}
}
