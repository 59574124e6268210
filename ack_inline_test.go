package socketio

import (
	"strings"
	"testing"
)

// TestInlineAckBufferNotKept: an ack answered while its listener runs on
// the reader is built in a pooled buffer and written at once. When it
// cannot be written at once (the queue is held for a CONNECT reply, or
// another writer holds the connection), the queue keeps a copy: the next
// ack, built in the same buffer, does not change it.
func TestInlineAckBufferNotKept(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	w, kws := connectWatched(t, srv, true)
	long := `"` + strings.Repeat("a", 40) + `"`
	ack := func(id uint64, arg string) {
		t.Helper()
		ep := &EventPayload{Kws: kws, HasAck: true, AckID: id, fromReader: true}
		if err := ep.Ack([]byte(arg)); err != nil {
			t.Fatalf("ack %d: %v", id, err)
		}
	}

	// Written at once.
	ack(1, long)
	w.expect(`431[` + long + `]`)

	// Held: the packet stays queued until the release.
	kws.sess.q.hold()
	ack(2, long)
	ack(3, `"b"`)
	kws.sess.q.release()
	w.expect(`432[` + long + `]`)
	w.expect(`433["b"]`)

	// Another writer holds the connection: the worker writes them after.
	kws.sess.writeMu.Lock()
	ack(4, long)
	ack(5, `"c"`)
	kws.sess.writeMu.Unlock()
	w.expect(`434[` + long + `]`)
	w.expect(`435["c"]`)

	// Kept for later, outside its listener: an ordinary queued ack.
	ep := &EventPayload{Kws: kws, HasAck: true, AckID: 6, fromReader: true}
	ep.dispatched.Store(true)
	if err := ep.Ack([]byte(long)); err != nil {
		t.Fatal(err)
	}
	w.expect(`436[` + long + `]`)
}
