package socketio

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// cycleWebSocket opens a session over WebSocket, connects to "/", and
// closes the connection.
func cycleWebSocket(url string) error {
	w, _, err := dialConnected(url)
	if err != nil {
		return err
	}
	return w.c.Close()
}

// cyclePolling opens a polling session, connects to "/", reads the reply
// and closes the session with an Engine.IO CLOSE.
func cyclePolling(client *http.Client, url string) error {
	base := url + "/socket.io/?EIO=4&transport=polling"
	_, body, err := clientDo(context.Background(), client, http.MethodGet, base, "")
	if err != nil {
		return err
	}
	sid := body[strings.Index(body, `"sid":"`)+7:]
	sid = sid[:strings.IndexByte(sid, '"')]
	base += "&sid=" + sid
	if _, _, err := clientDo(context.Background(), client, http.MethodPost, base, "40"); err != nil {
		return err
	}
	if _, _, err := clientDo(context.Background(), client, http.MethodGet, base, ""); err != nil {
		return err
	}
	_, _, err = clientDo(context.Background(), client, http.MethodPost, base, "1")
	return err
}

// TestConnectDisconnectCyclesLeakNothing runs 10,000 connect/disconnect
// cycles (half over WebSocket, half over polling) and checks that the
// server's goroutines return to their baseline and its heap settles.
func TestConnectDisconnectCyclesLeakNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	srv := NewServer(testConfig())
	var connects, disconnects sync.WaitGroup
	srv.On(EventConnect, func(*EventPayload) {})
	srv.On(EventDisconnect, func(*EventPayload) { disconnects.Done() })
	ts := startServer(t, srv, func(*Websocket) { connects.Done() })
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()

	// Warm up, then take the baseline.
	connects.Add(2)
	disconnects.Add(2)
	if err := cycleWebSocket(ts.url); err != nil {
		t.Fatal(err)
	}
	if err := cyclePolling(client, ts.url); err != nil {
		t.Fatal(err)
	}
	disconnects.Wait()
	baseGoroutines, baseHeap := settle()

	const cycles = 10_000
	const workers = 8
	connects.Add(cycles)
	disconnects.Add(cycles)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < cycles; i += workers {
				var err error
				if i%2 == 0 {
					err = cycleWebSocket(ts.url)
				} else {
					err = cyclePolling(client, ts.url)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("cycle failed: %v", err)
	}
	waitGroup(t, "every connect", &connects)
	waitGroup(t, "every disconnect", &disconnects)
	client.CloseIdleConnections()

	goroutines, heap := settle()
	// Slack: fasthttp keeps idle worker goroutines for a while.
	if goroutines > baseGoroutines+20 {
		t.Errorf("goroutines: %d after %d cycles, baseline %d", goroutines, cycles, baseGoroutines)
	}
	if heap > baseHeap+16<<20 {
		t.Errorf("heap: %d bytes after %d cycles, baseline %d", heap, cycles, baseHeap)
	}
	if n := countSessions(srv); n != 0 {
		t.Errorf("%d sessions still registered", n)
	}
	t.Logf("goroutines %d -> %d, heap %d KiB -> %d KiB", baseGoroutines, goroutines, baseHeap>>10, heap>>10)
}

func waitGroup(t *testing.T, what string, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// settle waits for closing goroutines to finish and returns the goroutine
// count and live heap.
func settle() (int, uint64) {
	var ms runtime.MemStats
	n := runtime.NumGoroutine()
	for i := 0; i < 50; i++ {
		time.Sleep(50 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n && i > 4 {
			break
		}
		n = m
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return n, ms.HeapAlloc
}

func countSessions(srv *Server) int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	n := 0
	for _, e := range srv.engines {
		n += int(e.count.Load())
	}
	return n
}

// TestHandshakesWithoutConnectAreReaped opens 10,000 Engine.IO sessions
// that never send a Socket.IO CONNECT; HandshakeTimeout reaps them all.
func TestHandshakesWithoutConnectAreReaped(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	cfg := testConfig()
	cfg.HandshakeTimeout = 300 * time.Millisecond
	srv := NewServer(cfg)
	ts := startServer(t, srv, nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()
	const total, workers = 10_000, 8
	var wg sync.WaitGroup
	var failed sync.Once
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < total; i += workers {
				_, body, err := clientDo(context.Background(), client, http.MethodGet, ts.url+"/socket.io/?EIO=4&transport=polling", "")
				if err != nil || !strings.HasPrefix(body, "0{") {
					failed.Do(func() { t.Errorf("handshake %d: %q %v", i, body, err) })
					return
				}
			}
		}(w)
	}
	wg.Wait()
	waitFor(t, "every unconnected session to be reaped", func() bool { return countSessions(srv) == 0 })
}
