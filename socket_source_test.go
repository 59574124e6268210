package socketio

import (
	"strings"
	"testing"
	"time"
)

// TestReaderFirstRead: the reader hands the connection's first bytes to
// run, which grows its stack before parsing them (see growStack), and then
// reads on. Whatever shape the first read has, every message in it and
// after it is handled, in order: a read that fills the buffer and ends
// inside a frame, a frame split over two reads, several frames in one.
func TestReaderFirstRead(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	big := strings.Repeat("x", 3*frameReadBufferSize)
	event := func(id int, s string) []byte {
		return clientFrame(opText, true, []byte(`42`+itoa(id)+`["echo","`+s+`"]`))
	}
	ack := func(id int, s string) string { return `43` + itoa(id) + `["` + s + `"]` }

	t.Run("fills the buffer", func(t *testing.T) {
		w, _ := connectWS(t, es.testServer)
		stream := append(event(1, big), event(2, "after")...)
		rawFrame(stream)(w)
		w.expect(ack(1, big))
		w.expect(ack(2, "after"))
		w.send(`423["echo","later"]`)
		w.expect(ack(3, "later"))
	})
	t.Run("split frame", func(t *testing.T) {
		w, _ := connectWS(t, es.testServer)
		frame := event(1, "split")
		rawFrame(frame[:5])(w)
		time.Sleep(50 * time.Millisecond) // the server reads the first part alone
		rawFrame(frame[5:])(w)
		w.expect(ack(1, "split"))
		w.send(`422["echo","later"]`)
		w.expect(ack(2, "later"))
	})
	t.Run("several frames", func(t *testing.T) {
		w, _ := connectWS(t, es.testServer)
		var stream []byte
		for i := 1; i <= 5; i++ {
			stream = append(stream, event(i, "m"+itoa(i))...)
		}
		rawFrame(stream)(w)
		for i := 1; i <= 5; i++ {
			w.expect(ack(i, "m"+itoa(i)))
		}
	})
}
