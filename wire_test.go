package socketio

// The raw clients every test and benchmark drives the server with: plain
// HTTP requests for long-polling and a plain WebSocket client speaking
// Engine.IO and Socket.IO by hand, so every byte the server writes can be
// checked and the client can send what the official one never would.
// Helpers that take a testing.TB fail the test or benchmark; the ones
// returning an error are safe off the test goroutine.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
)

// rawTimeout bounds every single wait of a raw client.
const rawTimeout = 5 * time.Second

// httpClient opens a fresh connection per request, so no idle connection
// (and no transport goroutine) outlives a test.
var httpClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true},
	Timeout:   10 * time.Second,
}

// eioURL is the Engine.IO endpoint with EIO=4 and the extra query.
func (ts *testServer) eioURL(query string) string {
	return ts.url + "/socket.io/?EIO=4&" + query
}

func (ts *testServer) pollURL(sid string) string {
	return ts.eioURL("transport=polling&sid=" + sid)
}

// httpDo sends one request with httpClient and reads the whole answer. It
// is safe to call from any goroutine.
func httpDo(ctx context.Context, method, url, body string) (int, string, error) {
	return clientDo(ctx, httpClient, method, url, body)
}

// clientDo is httpDo with another client (one that keeps connections
// alive, say).
func clientDo(ctx context.Context, client *http.Client, method, url, body string) (int, string, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// mustHTTP is httpDo on the test goroutine.
func mustHTTP(t testing.TB, method, url, body string) (int, string) {
	t.Helper()
	status, text, err := httpDo(context.Background(), method, url, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return status, text
}

// asyncGet runs a polling GET on its own goroutine.
type asyncGet struct {
	done   chan struct{}
	status int
	body   string
	err    error
}

func startGet(ctx context.Context, url string) *asyncGet {
	g := &asyncGet{done: make(chan struct{})}
	go func() {
		defer close(g.done)
		g.status, g.body, g.err = httpDo(ctx, http.MethodGet, url, "")
	}()
	return g
}

// wait returns the GET's answer, failing the test if it does not come.
func (g *asyncGet) wait(t testing.TB) (int, string) {
	t.Helper()
	select {
	case <-g.done:
	case <-time.After(rawTimeout):
		t.Fatal("pending polling GET was not answered")
	}
	if g.err != nil {
		t.Fatalf("pending polling GET: %v", g.err)
	}
	return g.status, g.body
}

// handshake is the JSON of an Engine.IO OPEN packet.
type handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int64    `json:"maxPayload"`
}

// parseOpen checks an OPEN packet's shape: exactly the five fields of the
// protocol.
func parseOpen(t testing.TB, packet string) handshake {
	t.Helper()
	if !strings.HasPrefix(packet, "0") {
		t.Fatalf("not an OPEN packet: %q", packet)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(packet[1:]), &keys); err != nil {
		t.Fatalf("OPEN payload %q: %v", packet, err)
	}
	var got []string
	for k := range keys {
		got = append(got, k)
	}
	sort.Strings(got)
	if want := []string{"maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"}; !reflect.DeepEqual(got, want) {
		t.Errorf("OPEN keys = %v, want %v", got, want)
	}
	var h handshake
	if err := json.Unmarshal([]byte(packet[1:]), &h); err != nil {
		t.Fatalf("OPEN payload %q: %v", packet, err)
	}
	if h.SID == "" {
		t.Fatalf("OPEN without sid: %q", packet)
	}
	return h
}

// openPolling opens a polling session and returns its sid.
func openPolling(t testing.TB, ts *testServer) string {
	t.Helper()
	status, body := mustHTTP(t, http.MethodGet, ts.eioURL("transport=polling"), "")
	if status != http.StatusOK {
		t.Fatalf("polling handshake: status %d, body %q", status, body)
	}
	return parseOpen(t, body).SID
}

// connectPolling opens a polling session and connects it to the main
// namespace; it returns the Engine.IO sid and the socket id.
func connectPolling(t testing.TB, ts *testServer) (sid, socketID string) {
	t.Helper()
	sid = openPolling(t, ts)
	if status, body := mustHTTP(t, http.MethodPost, ts.pollURL(sid), "40"); status != http.StatusOK || body != "ok" {
		t.Fatalf("POST CONNECT: status %d, body %q", status, body)
	}
	status, body := mustHTTP(t, http.MethodGet, ts.pollURL(sid), "")
	if status != http.StatusOK {
		t.Fatalf("GET after CONNECT: status %d, body %q", status, body)
	}
	return sid, connectReplySID(t, body, "/")
}

// connectReplySID checks a Socket.IO CONNECT reply for nsp and returns the
// socket id it carries.
func connectReplySID(t testing.TB, packet, nsp string) string {
	t.Helper()
	prefix := "40"
	if nsp != "/" {
		prefix += nsp + ","
	}
	if !strings.HasPrefix(packet, prefix) {
		t.Fatalf("want a CONNECT reply %q..., got %q", prefix, packet)
	}
	var keys map[string]string
	if err := json.Unmarshal([]byte(packet[len(prefix):]), &keys); err != nil {
		t.Fatalf("CONNECT reply %q: %v", packet, err)
	}
	if len(keys) != 1 || keys["sid"] == "" {
		t.Fatalf("CONNECT reply %q: want exactly a non-empty sid", packet)
	}
	return keys["sid"]
}

// wsClient is a raw WebSocket client speaking Engine.IO by hand. Its
// methods without an error result fail t; a client from dialConnected has
// no t and only the error-returning methods (next, the conn c) apply.
type wsClient struct {
	t     testing.TB
	c     *fws.Conn
	ackID int
	// autoPong makes reads answer PINGs and skip them.
	autoPong bool
}

var wsDialer = fws.Dialer{
	NetDial:          (&net.Dialer{Timeout: rawTimeout}).Dial,
	HandshakeTimeout: rawTimeout,
}

// dialURL opens a WebSocket to the endpoint of the server at base
// (http://host:port) with the query.
func dialURL(base, query string) (*fws.Conn, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?" + query
	return wsDialer.Dial(u, nil)
}

// dialEndpoint opens a WebSocket to the endpoint with the query.
func dialEndpoint(ts *testServer, query string) (*fws.Conn, *http.Response, error) {
	return dialURL(ts.url, query)
}

// dialWS opens a WebSocket session (or an upgrade when query has a sid).
func dialWS(t testing.TB, ts *testServer, query string) *wsClient {
	t.Helper()
	return dialWSTCP(t, ts, query, nil)
}

// dialWSTCP is dialWS with prep, when not nil, run on the TCP connection
// before the WebSocket handshake (to shrink its receive buffer, say).
func dialWSTCP(t testing.TB, ts *testServer, query string, prep func(*net.TCPConn)) *wsClient {
	t.Helper()
	d := wsDialer
	if prep != nil {
		d.NetDial = func(network, addr string) (net.Conn, error) {
			c, err := wsDialer.NetDial(network, addr)
			if err == nil {
				prep(c.(*net.TCPConn))
			}
			return c, err
		}
	}
	u := "ws" + strings.TrimPrefix(ts.url, "http") + "/socket.io/?EIO=4&transport=websocket" + query
	c, resp, err := d.Dial(u, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("websocket dial: %v (status %d)", err, status)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &wsClient{t: t, c: c}
}

// connectWSURL opens a WebSocket session at the endpoint URL u (ws://...,
// query included) with the request headers h, connects it to the main
// namespace and returns the client and the socket id.
func connectWSURL(t testing.TB, u string, h http.Header) (*wsClient, string) {
	t.Helper()
	return connectWSWith(t, wsDialer, u, h)
}

// connectWSWith is connectWSURL with the dialer d.
func connectWSWith(t testing.TB, d fws.Dialer, u string, h http.Header) (*wsClient, string) {
	t.Helper()
	c, _, err := d.Dial(u, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	w := &wsClient{t: t, c: c}
	parseOpen(t, w.read())
	w.send("40")
	return w, connectReplySID(t, w.read(), "/")
}

// connectSmallBufferWS is connectWS over a TCP connection with a small
// receive buffer, so a client that stops reading stalls the server soon.
func connectSmallBufferWS(t testing.TB, ts *testServer) (*wsClient, string) {
	t.Helper()
	w := dialWSTCP(t, ts, "", func(c *net.TCPConn) { _ = c.SetReadBuffer(16 << 10) })
	parseOpen(t, w.read())
	w.send("40")
	return w, connectReplySID(t, w.read(), "/")
}

// reset drops the connection with a TCP RST (SO_LINGER 0), as a crashed
// peer or a middlebox does, instead of a WebSocket or TCP close.
func (w *wsClient) reset() {
	w.t.Helper()
	resetTCP(w.t, w.c.NetConn())
}

// resetTCP closes c with a TCP RST.
func resetTCP(t testing.TB, c net.Conn) {
	t.Helper()
	tcp, ok := c.(*net.TCPConn)
	if !ok {
		t.Fatalf("reset: %T is not a TCP connection", c)
	}
	if err := tcp.SetLinger(0); err != nil {
		t.Fatalf("SetLinger(0): %v", err)
	}
	_ = tcp.Close()
}

// openWS opens a WebSocket session and returns the client and its OPEN.
func openWS(t testing.TB, ts *testServer) (*wsClient, handshake) {
	t.Helper()
	w := dialWS(t, ts, "")
	return w, parseOpen(t, w.read())
}

// connectWS opens a WebSocket session connected to the main namespace and
// returns the socket id.
func connectWS(t testing.TB, ts *testServer) (*wsClient, string) {
	t.Helper()
	w, _ := openWS(t, ts)
	w.send("40")
	return w, connectReplySID(t, w.read(), "/")
}

// dialConnected opens a WebSocket session at base (http://host:port),
// connects the main namespace and returns the client, answering PINGs,
// with its socket id. It fails with an error instead of a test failure, so
// it may run on any goroutine; the caller closes w.c.
func dialConnected(base string) (w *wsClient, socketID string, err error) {
	conn, _, err := dialURL(base, "EIO=4&transport=websocket")
	if err != nil {
		return nil, "", err
	}
	w = &wsClient{c: conn, autoPong: true}
	_ = conn.SetReadDeadline(time.Now().Add(2 * rawTimeout))
	defer func() {
		if err != nil {
			_ = conn.Close()
		} else {
			_ = conn.SetReadDeadline(time.Time{})
		}
	}()
	open, err := w.nextText()
	if err != nil || len(open) == 0 || open[0] != eioOpen {
		return nil, "", fmt.Errorf("open packet %q: %v", open, err)
	}
	if err := conn.WriteMessage(fws.TextMessage, []byte("40")); err != nil {
		return nil, "", err
	}
	reply, err := w.nextText()
	var keys struct {
		SID string `json:"sid"`
	}
	if err != nil || !bytes.HasPrefix(reply, []byte("40{")) || json.Unmarshal(reply[2:], &keys) != nil || keys.SID == "" {
		return nil, "", fmt.Errorf("connect reply %q: %v", reply, err)
	}
	return w, keys.SID, nil
}

// next returns the next message and its type, answering and skipping PINGs
// when autoPong is set. It does not touch the read deadline.
func (w *wsClient) next() (int, []byte, error) {
	for {
		mt, msg, err := w.c.ReadMessage()
		if err != nil {
			return 0, nil, err
		}
		if w.autoPong && mt == fws.TextMessage && len(msg) == 1 && msg[0] == eioPing {
			if err := w.c.WriteMessage(fws.TextMessage, []byte{eioPong}); err != nil {
				return 0, nil, err
			}
			continue
		}
		return mt, msg, nil
	}
}

// nextText is next for a text message; another type is an error.
func (w *wsClient) nextText() ([]byte, error) {
	mt, msg, err := w.next()
	if err == nil && mt != fws.TextMessage {
		err = fmt.Errorf("message type %d, want text", mt)
	}
	return msg, err
}

func (w *wsClient) send(msg string) {
	w.t.Helper()
	_ = w.c.SetWriteDeadline(time.Now().Add(rawTimeout))
	if err := w.c.WriteMessage(fws.TextMessage, []byte(msg)); err != nil {
		w.t.Fatalf("websocket write %q: %v", truncStr(msg, 200), err)
	}
}

// sendBinary sends one binary message (an attachment).
func (w *wsClient) sendBinary(b []byte) {
	w.t.Helper()
	_ = w.c.SetWriteDeadline(time.Now().Add(rawTimeout))
	if err := w.c.WriteMessage(fws.BinaryMessage, b); err != nil {
		w.t.Fatalf("websocket write binary: %v", err)
	}
}

// readAny returns the next message, or the read error.
func (w *wsClient) readAny(timeout time.Duration) (int, string, error) {
	_ = w.c.SetReadDeadline(time.Now().Add(timeout))
	mt, b, err := w.next()
	return mt, string(b), err
}

// readMessage returns the next message of either type.
func (w *wsClient) readMessage() (int, []byte) {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(rawTimeout))
	mt, msg, err := w.next()
	if err != nil {
		w.t.Fatalf("websocket read: %v", err)
	}
	return mt, msg
}

// read returns the next text message.
func (w *wsClient) read() string {
	w.t.Helper()
	mt, msg := w.readMessage()
	if mt != fws.TextMessage {
		w.t.Fatalf("websocket read: message type %d, want text", mt)
	}
	return string(msg)
}

// expect reads the next message and checks it.
func (w *wsClient) expect(want string) {
	w.t.Helper()
	if got := w.read(); got != want {
		w.t.Fatalf("websocket read %q, want %q", truncStr(got, 200), truncStr(want, 200))
	}
}

// expectClosed reads until the server closes the connection and returns
// the messages that came before. A read timeout fails: the connection was
// left open.
func (w *wsClient) expectClosed() []string {
	w.t.Helper()
	var seen []string
	deadline := time.Now().Add(rawTimeout)
	for {
		_, msg, err := w.readAny(time.Until(deadline))
		if err == nil {
			seen = append(seen, msg)
			continue
		}
		if isTimeout(err) {
			w.t.Fatalf("connection still open after %v (messages %q)", rawTimeout, seen)
		}
		return seen
	}
}

// roundTrip emits "echo" with an ack on the main namespace and checks the
// ack carries the argument back: the connection and the server work.
func (w *wsClient) roundTrip(tag string) {
	w.t.Helper()
	w.ackID++
	id := strconv.Itoa(w.ackID)
	arg := strconv.Quote(tag)
	w.send(`42` + id + `["echo",` + arg + `]`)
	w.expect(`43` + id + `[` + arg + `]`)
}

func truncStr(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// connectWSPonging is connectWS for a client whose reads answer PINGs.
func connectWSPonging(t testing.TB, ts *testServer) *wsClient {
	t.Helper()
	w, _ := connectWS(t, ts)
	w.autoPong = true
	return w
}

// rawRequest sends an HTTP/1.1 request to the endpoint with the query on a
// fresh TCP connection and returns the connection, the answer unread: a
// client that stalls, or resets, mid-request.
func rawRequest(t testing.TB, ts *testServer, method, query, body string) net.Conn {
	t.Helper()
	host := strings.TrimPrefix(ts.url, "http://")
	c, err := net.DialTimeout("tcp", host, rawTimeout)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	req := method + " /socket.io/?" + query + " HTTP/1.1\r\nHost: " + host + "\r\n"
	if body != "" {
		req += "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	req += "\r\n" + body
	_ = c.SetWriteDeadline(time.Now().Add(rawTimeout))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatalf("write request: %v", err)
	}
	return c
}

// liveWS is a WebSocket client connected to the main namespace whose
// messages are read in the background, PINGs answered at once: it stays
// connected however long a test leaves it alone (a short heartbeat and a
// loaded machine cannot drop it), and roundTrip checks the server still
// serves it.
type liveWS struct {
	t     testing.TB
	c     *fws.Conn
	wmu   sync.Mutex // one writer at a time: the reader's PONGs, roundTrip
	msgs  chan string
	stop  chan struct{}
	ackID int
}

func connectLiveWS(t testing.TB, ts *testServer) *liveWS {
	t.Helper()
	w, _ := connectWS(t, ts)
	l := &liveWS{t: t, c: w.c, msgs: make(chan string), stop: make(chan struct{})}
	// connectWS left a read deadline; this reader waits as long as the
	// connection lives.
	_ = l.c.SetReadDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			mt, msg, err := l.c.ReadMessage()
			if err != nil {
				return
			}
			if mt == fws.TextMessage && string(msg) == "2" {
				_ = l.write("3")
				continue
			}
			select {
			case l.msgs <- string(msg):
			case <-l.stop:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(l.stop)
		_ = l.c.Close()
		<-done
	})
	return l
}

func (l *liveWS) write(msg string) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	_ = l.c.SetWriteDeadline(time.Now().Add(rawTimeout))
	return l.c.WriteMessage(fws.TextMessage, []byte(msg))
}

// roundTrip emits "echo" with an ack and checks the ack carries the
// argument back.
func (l *liveWS) roundTrip(tag string) {
	l.t.Helper()
	l.ackID++
	id := strconv.Itoa(l.ackID)
	arg := strconv.Quote(tag)
	if err := l.write(`42` + id + `["echo",` + arg + `]`); err != nil {
		l.t.Fatalf("live client: write: %v", err)
	}
	want := `43` + id + `[` + arg + `]`
	select {
	case got := <-l.msgs:
		if got != want {
			l.t.Fatalf("live client read %q, want %q", truncStr(got, 200), want)
		}
	case <-time.After(rawTimeout):
		l.t.Fatalf("live client: no answer to %q (connection lost?)", tag)
	}
}
