package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
)

// target is the server under test: always a loopback address.
type target struct {
	host string // 127.0.0.1:port
	path string // /socket.io/
}

func parseTarget(raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, err
	}
	if u.Scheme != "http" {
		return target{}, fmt.Errorf("url must be http://127.x.x.x:port/path, got %q", raw)
	}
	h := u.Hostname()
	ip := net.ParseIP(h)
	if h == "localhost" {
		ip = net.IPv4(127, 0, 0, 1)
	}
	if ip == nil || !ip.IsLoopback() {
		return target{}, fmt.Errorf("refusing non-loopback target %q: this load generator only talks to this machine", h)
	}
	path := u.Path
	if path == "" {
		path = "/socket.io/"
	}
	return target{host: net.JoinHostPort(ip.String(), u.Port()), path: path}, nil
}

func (t target) wsURL() string {
	return "ws://" + t.host + t.path + "?EIO=4&transport=websocket"
}

func (t target) pollURL(sid string) string {
	u := "http://" + t.host + t.path + "?EIO=4&transport=polling"
	if sid != "" {
		u += "&sid=" + url.QueryEscape(sid)
	}
	return u
}

// Source addresses: connections are spread round-robin over
// 127.0.0.1 .. 127.0.0.<spread>, and the port is chosen at connect time
// (IP_BIND_ADDRESS_NO_PORT), so tens of thousands of connections and the
// TIME_WAIT left by the handshake scenario do not exhaust ephemeral ports.
var (
	spread  = 8
	nextSrc atomic.Uint64
)

const ipBindAddressNoPort = 24 // IP_BIND_ADDRESS_NO_PORT, linux/in.h

func dialLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	n := nextSrc.Add(1)
	src := net.IPv4(127, 0, 0, byte(1+int(n%uint64(spread))))
	d := net.Dialer{
		Timeout:   10 * time.Second,
		LocalAddr: &net.TCPAddr{IP: src},
		Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
			})
		},
	}
	return d.DialContext(ctx, network, addr)
}

var wsDialer = websocket.Dialer{
	NetDialContext:   dialLoopback,
	HandshakeTimeout: 10 * time.Second,
	ReadBufferSize:   2048,
	WriteBufferSize:  2048,
}

// wsClient is one Engine.IO/Socket.IO client over WebSocket.
type wsClient struct {
	conn *websocket.Conn
	wmu  sync.Mutex
	buf  []byte
}

// readMsg reads one WebSocket message into the client's buffer (valid
// until the next read).
func (c *wsClient) readMsg(deadline time.Time) ([]byte, error) {
	_ = c.conn.SetReadDeadline(deadline)
	_, r, err := c.conn.NextReader()
	if err != nil {
		return nil, err
	}
	n := 0
	for {
		if n == len(c.buf) {
			nb := make([]byte, 2*len(c.buf)+512)
			copy(nb, c.buf[:n])
			c.buf = nb
		}
		m, err := r.Read(c.buf[n:])
		n += m
		if err == io.EOF {
			return c.buf[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (c *wsClient) write(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.conn.WriteMessage(websocket.TextMessage, p)
}

var pongPacket = []byte("3")

// handlePing answers an Engine.IO PING; it reports whether msg was one.
func (c *wsClient) handlePing(msg []byte) bool {
	if len(msg) == 1 && msg[0] == '2' {
		_ = c.write(pongPacket)
		return true
	}
	return false
}

// connectWS opens a WebSocket session and connects to the main namespace:
// Engine.IO OPEN, then Socket.IO CONNECT and its reply.
func connectWS(ctx context.Context, t target) (*wsClient, error) {
	conn, _, err := wsDialer.DialContext(ctx, t.wsURL(), nil)
	if err != nil {
		return nil, err
	}
	c := &wsClient{conn: conn, buf: make([]byte, 512)}
	deadline := time.Now().Add(10 * time.Second)
	msg, err := c.readMsg(deadline)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("reading OPEN: %w", err)
	}
	if len(msg) == 0 || msg[0] != '0' {
		conn.Close()
		return nil, fmt.Errorf("expected OPEN, got %q", msg)
	}
	if err := c.write([]byte("40")); err != nil {
		conn.Close()
		return nil, err
	}
	for {
		msg, err := c.readMsg(deadline)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("reading CONNECT reply: %w", err)
		}
		if c.handlePing(msg) {
			continue
		}
		if bytes.HasPrefix(msg, []byte("40")) {
			return c, nil
		}
		conn.Close()
		return nil, fmt.Errorf("expected CONNECT reply, got %q", msg)
	}
}

// close sends a WebSocket close frame and closes the connection without
// waiting for the reply.
func (c *wsClient) close() {
	c.wmu.Lock()
	_ = c.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	_ = c.conn.Close()
}

// pollClient is one Engine.IO/Socket.IO client over HTTP long-polling.
type pollClient struct {
	t   target
	hc  *http.Client
	sid string
	url string
}

var errPollStatus = errors.New("polling: unexpected HTTP status")

func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:         dialLoopback,
			MaxIdleConns:        2 * conns,
			MaxIdleConnsPerHost: 2 * conns,
			IdleConnTimeout:     60 * time.Second,
			DisableCompression:  true,
		},
	}
}

func (p *pollClient) get(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w %d: %s", errPollStatus, resp.StatusCode, body)
	}
	return body, nil
}

func (p *pollClient) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w %d: %s", errPollStatus, resp.StatusCode, b)
	}
	return nil
}

// packets splits a polling body into Engine.IO packets.
func packets(body []byte) [][]byte { return bytes.Split(body, []byte{0x1e}) }

// connectPolling opens a polling session and connects to the main
// namespace.
func connectPolling(ctx context.Context, t target, hc *http.Client) (*pollClient, error) {
	p := &pollClient{t: t, hc: hc, url: t.pollURL("")}
	body, err := p.get(ctx)
	if err != nil {
		return nil, err
	}
	if len(body) == 0 || body[0] != '0' {
		return nil, fmt.Errorf("expected OPEN, got %q", body)
	}
	const key = `"sid":"`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return nil, fmt.Errorf("no sid in OPEN %q", body)
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil, fmt.Errorf("bad sid in OPEN %q", body)
	}
	p.sid = string(rest[:j])
	p.url = t.pollURL(p.sid)
	if err := p.post(ctx, []byte("40")); err != nil {
		return nil, err
	}
	for tries := 0; tries < 10; tries++ {
		body, err := p.get(ctx)
		if err != nil {
			return nil, err
		}
		for _, pk := range packets(body) {
			if bytes.HasPrefix(pk, []byte("40")) {
				return p, nil
			}
			if len(pk) == 1 && pk[0] == '2' {
				if err := p.post(ctx, pongPacket); err != nil {
					return nil, err
				}
			}
		}
	}
	return nil, errors.New("no CONNECT reply over polling")
}

// close sends an Engine.IO CLOSE.
func (p *pollClient) close(ctx context.Context) {
	_ = p.post(ctx, []byte("1"))
}
