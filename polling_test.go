package socketio

// HTTP long-polling driven by hand: one request at a time, checking the
// exact bodies and status codes (the raw clients are in engine_test.go).

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// post sends a polling POST and checks it is accepted.
func post(t *testing.T, ts *testServer, sid, body string) {
	t.Helper()
	status, text := mustHTTP(t, http.MethodPost, ts.pollURL(sid), body)
	if status != http.StatusOK || text != "ok" {
		t.Fatalf("POST %q: status %d, body %q, want 200 ok", truncStr(body, 80), status, text)
	}
}

// get sends a polling GET and checks the body.
func get(t *testing.T, ts *testServer, sid, want string) {
	t.Helper()
	status, text := mustHTTP(t, http.MethodGet, ts.pollURL(sid), "")
	if status != http.StatusOK || text != want {
		t.Fatalf("GET: status %d, body %q, want 200 %q", status, truncStr(text, 200), want)
	}
}

// getRefused checks that the session is gone: a GET is answered 400.
func getRefused(t *testing.T, ts *testServer, sid string) {
	t.Helper()
	status, text := mustHTTP(t, http.MethodGet, ts.pollURL(sid), "")
	if status != http.StatusBadRequest {
		t.Fatalf("GET on a closed session: status %d, body %q, want 400", status, text)
	}
}

// relayServer emits "relayed" with the arguments of every "relay" event.
func relayServer(t *testing.T, mod func(*Config)) *echoServer {
	es := newEchoServer(t, mod)
	es.srv.On("relay", func(ep *EventPayload) { ep.Kws.EmitArgs("relayed", ep.Args...) })
	return es
}

func TestPollingMessages(t *testing.T) {
	t.Parallel()
	es := relayServer(t, nil)
	ts := es.testServer
	sid, _ := connectPolling(t, ts)

	post(t, ts, sid, `42["relay","one"]`)
	get(t, ts, sid, `42["relayed","one"]`)

	// Several packets in one POST; what the server queued comes back in
	// one GET, in order.
	post(t, ts, sid, "42[\"relay\",1]\x1e42[\"relay\",{\"b\":2}]\x1e421[\"echo\",3]\x1e42[\"relay\",\"é\"]")
	get(t, ts, sid, "42[\"relayed\",1]\x1e42[\"relayed\",{\"b\":2}]\x1e431[3]\x1e42[\"relayed\",\"é\"]")

	// A GET with nothing queued waits for the next packet.
	pending := startGet(context.Background(), ts.pollURL(sid))
	waitFor(t, "the GET to be pending", func() bool { return ts.getPending(sid) })
	post(t, ts, sid, `42["relay","late"]`)
	if status, body := pending.wait(t); status != http.StatusOK || body != `42["relayed","late"]` {
		t.Fatalf("pending GET: status %d, body %q", status, body)
	}
	// Engine.IO NOOPs and unsolicited PONGs in a POST are accepted.
	post(t, ts, sid, "6\x1e3\x1e421[\"echo\"]")
	get(t, ts, sid, `431[]`)
}

// TestPollingMaxPollWait: a GET with nothing to deliver is answered with a
// NOOP after MaxPollWait, and the session goes on.
func TestPollingMaxPollWait(t *testing.T) {
	t.Parallel()
	es := relayServer(t, func(c *Config) { c.MaxPollWait = 200 * time.Millisecond })
	ts := es.testServer
	sid, _ := connectPolling(t, ts)
	start := time.Now()
	get(t, ts, sid, "6")
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("NOOP after %v, before MaxPollWait", d)
	}
	post(t, ts, sid, `421["echo","x"]`)
	get(t, ts, sid, `431["x"]`)
}

// TestPollingBigBatch: the official client batches every queued packet
// into one POST, however many; MaxBatchPackets (for WebSocket frames) does
// not apply, only MaxPayload.
func TestPollingBigBatch(t *testing.T) {
	t.Parallel()
	const n = 1000
	var count atomic.Int64
	var outOfOrder atomic.Bool
	es := newEchoServer(t, func(c *Config) { c.MaxBatchPackets = 16 })
	es.srv.On("n", func(ep *EventPayload) {
		i, _ := strconv.Atoi(string(ep.Data))
		if int64(i) != count.Load() {
			outOfOrder.Store(true)
		}
		count.Add(1)
	})
	ts := es.testServer
	sid, _ := connectPolling(t, ts)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `42["n",` + strconv.Itoa(i) + `]`
	}
	body := strings.Join(parts, "\x1e")
	if int64(len(body)) >= es.srv.cfg.MaxPayload {
		t.Fatalf("test payload %d bytes is not within MaxPayload", len(body))
	}
	post(t, ts, sid, body)
	// The POST is answered after every packet was handled.
	if got := count.Load(); got != n {
		t.Fatalf("listener ran %d times, want %d", got, n)
	}
	if outOfOrder.Load() {
		t.Error("events handled out of order")
	}
	post(t, ts, sid, `421["echo","after"]`)
	get(t, ts, sid, `431["after"]`)
}

// TestPollingLongResponse: more queued than PollingMaxBufferSize is split
// over several GETs, nothing lost.
func TestPollingLongResponse(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) { c.PollingMaxBufferSize = 100 })
	es.srv.On("burst", func(ep *EventPayload) {
		for i := 0; i < 20; i++ {
			ep.Kws.EmitArgs("b", []byte(strconv.Itoa(i)))
		}
	})
	ts := es.testServer
	sid, _ := connectPolling(t, ts)
	post(t, ts, sid, `42["burst"]`)
	var got []string
	for gets := 0; len(got) < 20; gets++ {
		if gets > 20 {
			t.Fatalf("after %d GETs only %q", gets, got)
		}
		status, body := mustHTTP(t, http.MethodGet, ts.pollURL(sid), "")
		if status != http.StatusOK || len(body) > 100 {
			t.Fatalf("GET: status %d, %d bytes (limit 100)", status, len(body))
		}
		got = append(got, strings.Split(body, "\x1e")...)
	}
	for i, p := range got {
		if want := `42["b",` + strconv.Itoa(i) + `]`; p != want {
			t.Fatalf("packet %d = %q, want %q", i, p, want)
		}
	}
}

func TestPollingPayloadTooLarge(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, func(c *Config) { c.MaxPayload = 10_000 })
	ts := es.testServer
	sid, socketID := connectPolling(t, ts)
	status, body := mustHTTP(t, http.MethodPost, ts.pollURL(sid), `42["echo","`+strings.Repeat("x", 20_000)+`"]`)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"code":`) {
		t.Fatalf("oversized POST: status %d, body %q, want 413 with an error code", status, body)
	}
	getRefused(t, ts, sid)
	if err := es.disconnected(t, socketID); !errors.Is(err, ErrPollingBodyTooLarge) {
		t.Errorf("disconnect reason %v, want ErrPollingBodyTooLarge", err)
	}
	// Right at the limit is accepted.
	sid2, _ := connectPolling(t, ts)
	exact := `421["echo","` + strings.Repeat("y", 10_000-len(`421["echo",""]`)) + `"]`
	post(t, ts, sid2, exact)
	get(t, ts, sid2, `431["`+strings.Repeat("y", 10_000-len(`421["echo",""]`))+`"]`)
	w, _ := connectWS(t, ts)
	w.roundTrip("server unaffected")
}

func TestPollingInvalidPacket(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	ts := es.testServer
	for _, bad := range []string{
		"abc",                    // not an Engine.IO packet
		"4abc",                   // not a Socket.IO packet
		"42{}",                   // EVENT payload not an array
		"421[\"echo\",\"\xff\"]", // not UTF-8
		"bAQI=D",                 // broken base64
		"421[\"echo\"]\x1e\x1e",  // empty packet in a batch
		"0",                      // OPEN from a client
	} {
		sid, socketID := connectPolling(t, ts)
		status, body := mustHTTP(t, http.MethodPost, ts.pollURL(sid), bad)
		if status != http.StatusBadRequest {
			t.Errorf("POST %q: status %d, body %q, want 400", bad, status, body)
			continue
		}
		getRefused(t, ts, sid)
		if err := es.disconnected(t, socketID); err == nil {
			t.Errorf("POST %q: disconnect without a reason", bad)
		}
	}
	// The session of the official suite's test never connected to a
	// namespace.
	sid := openPolling(t, ts)
	if status, _ := mustHTTP(t, http.MethodPost, ts.pollURL(sid), "abc"); status != http.StatusBadRequest {
		t.Errorf("POST abc: status %d", status)
	}
	getRefused(t, ts, sid)
	waitFor(t, "every session to end", func() bool { return ts.engine().count.Load() == 0 })
	w, _ := connectWS(t, ts)
	w.roundTrip("server unaffected")
}

func TestPollingDuplicateGet(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	ts := es.testServer
	sid, socketID := connectPolling(t, ts)
	first := startGet(context.Background(), ts.pollURL(sid))
	waitFor(t, "the first GET to be pending", func() bool { return ts.getPending(sid) })
	if status, body := mustHTTP(t, http.MethodGet, ts.pollURL(sid)+"&t=burst", ""); status != http.StatusBadRequest {
		t.Errorf("overlapping GET: status %d, body %q, want 400", status, body)
	}
	if status, body := first.wait(t); status != http.StatusOK || body != "1" {
		t.Errorf("first GET: status %d, body %q, want an Engine.IO CLOSE", status, body)
	}
	getRefused(t, ts, sid)
	if err := es.disconnected(t, socketID); !errors.Is(err, ErrDuplicatePoll) {
		t.Errorf("disconnect reason %v, want ErrDuplicatePoll", err)
	}
}

// TestPollingCancelledGet: a GET the client gave up on still holds the
// session's poll; the client's next GET overlaps it, which ends the
// session (the official suite's "cancelled polling request").
func TestPollingCancelledGet(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	ts := es.testServer
	sid := openPolling(t, ts)
	ctx, cancel := context.WithCancel(context.Background())
	abandoned := startGet(ctx, ts.pollURL(sid))
	waitFor(t, "the GET to be pending", func() bool { return ts.getPending(sid) })
	cancel()
	<-abandoned.done
	getRefused(t, ts, sid)
	waitFor(t, "the session to end", func() bool { return ts.session(sid) == nil })
}

func TestPollingClientClose(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	ts := es.testServer
	sid, socketID := connectPolling(t, ts)
	pending := startGet(context.Background(), ts.pollURL(sid))
	waitFor(t, "the GET to be pending", func() bool { return ts.getPending(sid) })
	post(t, ts, sid, "1")
	if status, body := pending.wait(t); status != http.StatusOK || body != "6" {
		t.Errorf("pending GET after the client's CLOSE: status %d, body %q, want NOOP", status, body)
	}
	getRefused(t, ts, sid)
	if err := es.disconnected(t, socketID); err != nil {
		t.Errorf("disconnect reason %v, want nil for a client close", err)
	}
	if status, body := mustHTTP(t, http.MethodPost, ts.pollURL(sid), `42["echo"]`); status != http.StatusBadRequest {
		t.Errorf("POST on a closed session: status %d, body %q", status, body)
	}
}

func TestPollingHeartbeat(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, testHeartbeat)
	ts := es.testServer
	sid, socketID := connectPolling(t, ts)
	for i := 0; i < 3; i++ {
		get(t, ts, sid, "2")
		post(t, ts, sid, "3")
	}
	post(t, ts, sid, `421["echo","alive"]`)
	get(t, ts, sid, `431["alive"]`)

	// No PONG: the session ends within PingInterval+PingTimeout.
	if err := es.disconnected(t, socketID); !errors.Is(err, ErrHeartbeatTimeout) {
		t.Errorf("disconnect reason %v, want ErrHeartbeatTimeout", err)
	}
	getRefused(t, ts, sid)
}

// TestPollingTrafficKeepsAlive: other packets during PingTimeout prove the
// client alive; the server pings again instead of closing.
func TestPollingTrafficKeepsAlive(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, testHeartbeat)
	ts := es.testServer
	sid, _ := connectPolling(t, ts)
	get(t, ts, sid, "2")
	post(t, ts, sid, `421["echo","instead of a pong"]`)
	get(t, ts, sid, `431["instead of a pong"]`)
	get(t, ts, sid, "2")
	post(t, ts, sid, "3")
	if ts.session(sid) == nil {
		t.Fatal("session closed although the client answered")
	}
}

// TestPollingOverlappingPost: a POST while another is being handled ends
// the session, as overlapping GETs do.
func TestPollingOverlappingPost(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	entered := make(chan struct{})
	release := make(chan struct{})
	es.srv.On("slow", func(*EventPayload) {
		close(entered)
		<-release
	})
	ts := es.testServer
	sid, socketID := connectPolling(t, ts)
	first := make(chan int, 1)
	go func() {
		status, _, _ := httpDo(context.Background(), http.MethodPost, ts.pollURL(sid), `42["slow"]`)
		first <- status
	}()
	select {
	case <-entered:
	case <-time.After(rawTimeout):
		t.Fatal("the first POST did not reach its listener")
	}
	status, body := mustHTTP(t, http.MethodPost, ts.pollURL(sid), `42["echo"]`)
	close(release)
	if status != http.StatusBadRequest {
		t.Errorf("overlapping POST: status %d, body %q, want 400", status, body)
	}
	if err := es.disconnected(t, socketID); !errors.Is(err, ErrOverlappingPost) {
		t.Errorf("disconnect reason %v, want ErrOverlappingPost", err)
	}
	<-first
	getRefused(t, ts, sid)
}

// TestPollingQueueBound: a polling client that does not fetch what the
// server emits is dropped at PollQueueMaxFrames (or, with
// DropFramesOnOverflow, loses the packets with an EventError each).
func TestPollingQueueBound(t *testing.T) {
	t.Parallel()
	for _, drop := range []bool{false, true} {
		es := newEchoServer(t, func(c *Config) {
			c.PollQueueMaxFrames = 10
			c.MaxStalledBytes = -1 // the overflow at the bound
			c.DropFramesOnOverflow = drop
		})
		var dropped atomic.Int64
		es.srv.On(EventError, func(ep *EventPayload) {
			if errors.Is(ep.Error, ErrSendQueueOverflow) {
				dropped.Add(1)
			}
		})
		es.srv.On("burst", func(ep *EventPayload) {
			for i := 0; i < 15; i++ {
				ep.Kws.EmitArgs("b", []byte(strconv.Itoa(i)))
			}
		})
		ts := es.testServer
		sid, socketID := connectPolling(t, ts)
		post(t, ts, sid, `42["burst"]`)
		if !drop {
			if err := es.disconnected(t, socketID); !errors.Is(err, ErrSendQueueClosed) {
				t.Errorf("disconnect reason %v, want ErrSendQueueClosed", err)
			}
			getRefused(t, ts, sid)
			continue
		}
		if n := dropped.Load(); n != 5 {
			t.Errorf("%d packets reported dropped, want 5", n)
		}
		want := make([]string, 10)
		for i := range want {
			want[i] = `42["b",` + strconv.Itoa(i) + `]`
		}
		get(t, ts, sid, strings.Join(want, "\x1e"))
		post(t, ts, sid, `421["echo","kept"]`)
		get(t, ts, sid, `431["kept"]`)
	}
}

// TestPollingPostBodyAsSent: a POST body is read as sent, as the Node
// server reads it, even with a Content-Encoding (which Fiber's Body would
// decompress, up to the app's BodyLimit): a gzipped payload is not a
// payload, and MaxPayload bounds the bytes on the wire. A few KB of gzip
// no longer cost the server megabytes of inflating.
func TestPollingPostBodyAsSent(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	sid, socketID := connectPolling(t, es.testServer)
	var z bytes.Buffer
	gz := gzip.NewWriter(&z)
	_, _ = gz.Write([]byte(`42["echo","` + strings.Repeat("a", 3<<20) + `"]`))
	_ = gz.Close()
	req, err := http.NewRequest(http.MethodPost, es.pollURL(sid), bytes.NewReader(z.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := rawHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a gzipped POST of %d bytes (3 MiB inflated): status %d %q, want 400 (not a payload)", z.Len(), resp.StatusCode, body)
	}
	if err := es.disconnected(t, socketID); err == nil {
		t.Error("the session ended without a reason")
	}
}

// TestPollingNoStore: every polling response, the handshake's, a GET's
// and a POST's, says "Cache-Control: no-store", as from Node's engine.io,
// so that no cache or proxy between a client and the server keeps one.
func TestPollingNoStore(t *testing.T) {
	t.Parallel()
	es := newEchoServer(t, nil)
	check := func(what, method, url, body string) {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: status %d, Cache-Control %q, want 200 and no-store", what, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	}
	check("handshake", http.MethodGet, es.eioURL("transport=polling"), "")
	sid := openPolling(t, es.testServer)
	check("POST", http.MethodPost, es.pollURL(sid), "40")
	check("GET", http.MethodGet, es.pollURL(sid), "")
}
