package socketio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// boxParser is a Parser for the tests: every packet is one binary message,
// "BOX", the default text, then each attachment behind its length.
type boxParser struct{}

func (boxParser) Encode(text []byte, atts [][]byte) ([]byte, bool, error) {
	if bytes.Contains(text, []byte("unencodable")) {
		return nil, false, errors.New("cannot encode")
	}
	msg := append([]byte("BOX"), binary.BigEndian.AppendUint32(nil, uint32(len(text)))...)
	msg = append(msg, text...)
	for _, a := range atts {
		msg = binary.BigEndian.AppendUint32(msg, uint32(len(a)))
		msg = append(msg, a...)
	}
	return msg, true, nil
}

func (boxParser) Decode(msg []byte, bin bool) ([]byte, [][]byte, error) {
	if !bin || !bytes.HasPrefix(msg, []byte("BOX")) {
		return nil, nil, errors.New("not a box")
	}
	msg = msg[3:]
	var parts [][]byte
	for len(msg) >= 4 {
		n := int(binary.BigEndian.Uint32(msg))
		if n > len(msg)-4 {
			return nil, nil, errors.New("short box")
		}
		parts = append(parts, msg[4:4+n])
		msg = msg[4+n:]
	}
	if len(msg) != 0 || len(parts) == 0 {
		return nil, nil, errors.New("bad box")
	}
	return parts[0], parts[1:], nil
}

func box(text string, atts ...[]byte) []byte {
	b, _, _ := boxParser{}.Encode([]byte(text), atts)
	return b
}

// With a Parser, every Socket.IO packet goes through it both ways, with
// its attachments, on WebSocket and on polling; Engine.IO packets do not;
// a packet it cannot encode is dropped; a message it cannot decode closes
// the session.
func TestParser(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.CloseTimeout = 500 * time.Millisecond // the polling client stops polling
	cfg.Parser = boxParser{}
	srv := NewServer(cfg)
	srv.On("echo", func(ep *EventPayload) {
		values := make([]any, len(ep.Args))
		for i := range values {
			_ = ep.Bind(i, &values[i])
		}
		_ = ep.AckValues(values...)
	})
	srv.On("bad", func(ep *EventPayload) {
		ep.Kws.EmitArgs("x", []byte(`"unencodable"`))
		ep.Kws.EmitArgs("after", []byte(`1`))
	})
	ts := startServer(t, srv, nil)

	w, _ := openWS(t, ts)
	w.sendBinary(box("0"))
	if mt, b := w.readMessage(); mt != 2 {
		t.Fatalf("CONNECT reply: type %d %q", mt, b)
	} else if text, _, err := (boxParser{}).Decode(b, true); err != nil || !bytes.HasPrefix(text, []byte(`0{"sid":"`)) {
		t.Fatalf("CONNECT reply: %q %v", text, err)
	}
	w.sendBinary(box(`51-4["echo",{"_placeholder":true,"num":0},"t"]`, []byte{7, 8}))
	if _, b := w.readMessage(); !bytes.Equal(b, box(`61-4[{"_placeholder":true,"num":0},"t"]`, []byte{7, 8})) {
		t.Errorf("binary ack: %q", b)
	}
	w.sendBinary(box(`2["bad"]`))
	if _, b := w.readMessage(); !bytes.Equal(b, box(`2["after",1]`)) {
		t.Errorf("after a packet the parser refused: %q", b)
	}
	w.sendBinary([]byte("not a box"))
	w.expectClosed()

	// Polling: binary messages go in base64, the OPEN and PONG as they are.
	sid := openPolling(t, ts)
	url := ts.pollURL(sid)
	post := func(body string) {
		t.Helper()
		if status, answer := mustHTTP(t, http.MethodPost, url, body); status != http.StatusOK || answer != "ok" {
			t.Fatalf("POST: %d %q", status, answer)
		}
	}
	post(string(appendPollingBinary(nil, box("0"))))
	_, body := mustHTTP(t, http.MethodGet, url, "")
	if !strings.HasPrefix(body, "b") {
		t.Fatalf("CONNECT reply on polling: %q", body)
	}
	post(string(appendPollingBinary(nil, box(`51-4["echo",{"_placeholder":true,"num":0}]`, []byte{1}))))
	_, body = mustHTTP(t, http.MethodGet, url, "")
	if want := string(appendPollingBinary(nil, box(`61-4[{"_placeholder":true,"num":0}]`, []byte{1}))); body != want {
		t.Errorf("binary ack on polling: %q, want %q", body, want)
	}
}

func TestSIOAttachments(t *testing.T) {
	for text, want := range map[string]int{`2["a"]`: 0, `51-["a"]`: 1, `612-/x,3[]`: 12, `5`: 0, `0{}`: 0} {
		if got := sioAttachments([]byte(text)); got != want {
			t.Errorf("sioAttachments(%q) = %d, want %d", text, got, want)
		}
	}
}

// countingParser is boxParser counting the packets it encodes that hold
// a given text.
type countingParser struct {
	boxParser
	match string
	n     *atomic.Int32
}

func (p countingParser) Encode(text []byte, atts [][]byte) ([]byte, bool, error) {
	if bytes.Contains(text, []byte(p.match)) {
		p.n.Add(1)
	}
	return p.boxParser.Encode(text, atts)
}

// A broadcast is encoded by the Parser once for all its receivers, with
// its attachments, on WebSocket and polling alike.
func TestParserBroadcastEncodedOnce(t *testing.T) {
	t.Parallel()
	var encodes atomic.Int32
	cfg := testConfig()
	cfg.CloseTimeout = 500 * time.Millisecond
	cfg.Parser = countingParser{match: "news", n: &encodes}
	srv := NewServer(cfg)
	ts := startServer(t, srv, nil)
	var clients []*wsClient
	for range 3 {
		w, _ := openWS(t, ts)
		w.sendBinary(box("0"))
		w.readMessage()
		clients = append(clients, w)
	}
	sid := openPolling(t, ts)
	post := string(appendPollingBinary(nil, box("0")))
	if status, _ := mustHTTP(t, http.MethodPost, ts.pollURL(sid), post); status != http.StatusOK {
		t.Fatal("polling CONNECT refused")
	}
	mustHTTP(t, http.MethodGet, ts.pollURL(sid), "")
	waitFor(t, "4 sockets", func() bool { return srv.Of("/").SocketsCount() == 4 })
	err := srv.Of("/").Adapter().Broadcast(&Packet{Nsp: "/", Event: "news", Args: [][]byte{[]byte(`{"_placeholder":true,"num":0}`), []byte(`"x"`)}, Attachments: [][]byte{{1, 2}}}, BroadcastOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := box(`51-["news",{"_placeholder":true,"num":0},"x"]`, []byte{1, 2})
	for i, w := range clients {
		if _, b := w.readMessage(); !bytes.Equal(b, want) {
			t.Errorf("client %d: %q, want %q", i, b, want)
		}
	}
	if _, body := mustHTTP(t, http.MethodGet, ts.pollURL(sid), ""); body != string(appendPollingBinary(nil, want)) {
		t.Errorf("polling client: %q", body)
	}
	if n := encodes.Load(); n != 1 {
		t.Errorf("the broadcast was encoded %d times, want once", n)
	}
}
