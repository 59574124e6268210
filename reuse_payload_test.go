package socketio

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// TestReuseEventPayloads: with ReuseEventPayloads, the payloads of
// answered events come back for later events, each listener still sees
// its own event, and a payload whose ack is sent after its listener
// returned is not reused meanwhile, and one answered from a goroutine
// while the reader recycles it is answered right.
func TestReuseEventPayloads(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.ReuseEventPayloads = true
	srv := NewServer(cfg)
	var mu sync.Mutex
	seen := map[*EventPayload]int{}
	srv.On("echo", func(ep *EventPayload) {
		mu.Lock()
		seen[ep]++
		mu.Unlock()
		_ = ep.Ack(ep.Args...)
	})
	late := make(chan *EventPayload, 1)
	srv.On("later", func(ep *EventPayload) { late <- ep })
	// Answered from a goroutine that is still in Ack when the reader
	// recycles the payload: the listener returns once the ack is marked
	// sent (under -race, any read of the payload after that races with
	// the recycling).
	srv.On("async", func(ep *EventPayload) {
		data := ep.Data
		go func() { _ = ep.Ack(data) }()
		for !ep.ackSent.Load() {
			runtime.Gosched()
		}
	})
	w, _ := connectWatched(t, srv, true)

	w.send(`420["later","kept"]`)
	kept := <-late
	for i := 1; i <= 60; i++ {
		if i%2 == 0 {
			w.send(fmt.Sprintf(`42%d["echo",%d]`, i, i))
			w.expect(fmt.Sprintf(`43%d[%d]`, i, i))
		} else {
			w.send(fmt.Sprintf(`42%d["echo",%d,"x%d"]`, i, i, i))
			w.expect(fmt.Sprintf(`43%d[%d,"x%d"]`, i, i, i))
		}
	}
	for i := 100; i < 160; i++ {
		w.send(fmt.Sprintf(`42%d["async",%d]`, i, i))
		w.expect(fmt.Sprintf(`43%d[%d]`, i, i))
	}
	if kept.Name != "later" || string(kept.Data) != `"kept"` || kept.AckID != 0 || !kept.HasAck {
		t.Fatalf("payload kept for its ack changed: name %q data %q id %d", kept.Name, kept.Data, kept.AckID)
	}
	if err := kept.Ack([]byte(`"done"`)); err != nil {
		t.Fatal(err)
	}
	w.expect(`430["done"]`)

	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 60 {
		t.Fatal("no payload was reused")
	}
}
