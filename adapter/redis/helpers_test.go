package redisadapter

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	socketio "github.com/fiber-socketio/socketio"
	"github.com/gofiber/fiber/v3"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// quietRedisLog drops go-redis's own log lines (dial failures while a test
// has redis-server down); the adapter's Logger reports what matters.
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quietRedisLog{})
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.init.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}

// redisServer is a redis-server on a loopback port, without persistence.
type redisServer struct {
	t    testing.TB
	port int
	args []string // extra arguments of redis-server
	dir  string   // working directory, kept across restarts
	cmd  *exec.Cmd
}

// startRedis starts redis-server; the test fails when it is not installed
// (make deps installs it).
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	return startRedisArgs(t)
}

// startRedisArgs starts redis-server with the extra arguments args (see
// startRedis).
func startRedisArgs(t testing.TB, args ...string) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed (apt-get install -y redis-server, or make deps): %v", err)
	}
	r := &redisServer{t: t, port: freePort(t), args: args}
	r.start()
	t.Cleanup(r.stop)
	return r
}

// freePort is a free loopback port.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }
func (r *redisServer) url() string  { return "redis://" + r.addr() }

func (r *redisServer) start() {
	r.t.Helper()
	args := append([]string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"}, r.args...)
	r.cmd = exec.Command("redis-server", args...)
	if r.dir == "" {
		r.dir = r.t.TempDir()
	}
	r.cmd.Dir = r.dir
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp4", r.addr(), time.Second)
		if err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			buf := make([]byte, 7)
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := io.ReadFull(c, buf)
			_ = c.Close()
			if n == 7 && string(buf) == "+PONG\r\n" {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server did not start on %s", r.addr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops redis-server abruptly (SIGKILL), as a crash would.
func (r *redisServer) kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	_ = r.cmd.Wait()
	r.cmd = nil
}

func (r *redisServer) stop() { r.kill() }

// logSink records what an adapter logs.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) log(level, msg string, fields ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, level+" "+msg+" "+fmt.Sprint(fields...))
	l.mu.Unlock()
}

func (l *logSink) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// goNode is a Go server on a loopback port with a Redis adapter.
type goNode struct {
	name   string
	srv    *socketio.Server
	app    *fiber.App
	url    string
	client redis.UniversalClient
	logs   *logSink
}

// startGoNode starts a Go node with the adapter of New (see startNodeWith).
func startGoNode(t testing.TB, r *redisServer, name string, opts Options) *goNode {
	t.Helper()
	return startNodeWith(t, r, name, func(client redis.UniversalClient, logger func(level, msg string, fields ...any)) socketio.AdapterFactory {
		opts.Logger = logger
		return New(client, opts)
	})
}

// startNodeWith starts a Go node whose adapter factory newFactory makes
// from the node's Redis client and a Logger recording into its logs. Its
// sockets answer "join" and "leave" (join or leave the room given, ack
// "joined" or "left") and carry the attribute node; its main and /admin
// namespaces answer the server-side event "sse" and log "sse <arg>".
func startNodeWith(t testing.TB, r *redisServer, name string, newFactory nodeFactory) *goNode {
	t.Helper()
	return startNodeOn(t, redis.NewClient(&redis.Options{Addr: r.addr()}), name, newFactory)
}

// nodeFactory makes the adapter factory of a Go node from its Redis
// client and a Logger recording into its logs.
type nodeFactory func(client redis.UniversalClient, logger func(level, msg string, fields ...any)) socketio.AdapterFactory

// startNodeOn starts a Go node (see startNodeWith) on client, which it
// closes when the test ends.
func startNodeOn(t testing.TB, client redis.UniversalClient, name string, newFactory nodeFactory) *goNode {
	t.Helper()
	cfg := socketio.DefaultConfig()
	cfg.Logger = nil
	return startNodeConfig(t, client, name, newFactory, cfg)
}

// startNodeConfig is startNodeOn with the server's Config.
func startNodeConfig(t testing.TB, client redis.UniversalClient, name string, newFactory nodeFactory, cfg socketio.Config) *goNode {
	t.Helper()
	srv := socketio.NewServer(cfg)
	logs := &logSink{}
	srv.SetAdapter(newFactory(client, logs.log))
	srv.On("join", func(ep *socketio.EventPayload) {
		var room string
		_ = json.Unmarshal(ep.Data, &room)
		ep.Kws.Join(room)
		_ = ep.Ack([]byte(`"joined"`))
	})
	srv.On("leave", func(ep *socketio.EventPayload) {
		var room string
		_ = json.Unmarshal(ep.Data, &room)
		ep.Kws.Leave(room)
		_ = ep.Ack([]byte(`"left"`))
	})
	for _, n := range []*socketio.Namespace{srv.Of("/"), srv.Of("/admin")} {
		nsp := n.Name()
		n.OnServerSideEmit("sse", func(args [][]byte, ack func([]byte)) {
			var arg json.RawMessage = []byte("null")
			if len(args) > 0 {
				arg = args[0]
			}
			logs.log("info", "sse", string(arg))
			if ack != nil {
				b, _ := json.Marshal(map[string]any{"node": name, "nsp": nsp, "arg": arg})
				ack(b)
			}
		})
	}
	app := fiber.New()
	h := srv.Handler(func(kws *socketio.Websocket) { kws.SetAttribute("node", name) })
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	g := &goNode{name: name, srv: srv, app: app, url: "http://" + ln.Addr().String(), client: client, logs: logs}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown %s: %v", name, err)
		}
		_ = app.ShutdownWithTimeout(5 * time.Second)
		_ = client.Close()
	})
	return g
}

// peer is a Node harness (testdata/node/harness.js or
// sharded_harness.js, which speak the same protocol).
type peer struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu      sync.Mutex
	cond    *sync.Cond
	seq     int
	replies map[int]map[string]json.RawMessage
	events  []peerEvent
	lines   []map[string]json.RawMessage
	done    bool
}

// peerEvent is an event a harness client received.
type peerEvent struct {
	Client string            `json:"client"`
	Event  string            `json:"event"`
	Args   []json.RawMessage `json:"args"`
}

// startPeer runs testdata/node/harness.js.
func startPeer(t *testing.T) *peer {
	t.Helper()
	return startHarness(t, "harness.js")
}

// startHarness runs the harness script of testdata/node; the peer ends
// with the test.
func startHarness(t *testing.T, script string) *peer {
	t.Helper()
	dir, _ := filepath.Abs("testdata/node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@socket.io", "redis-adapter")); err != nil {
		t.Fatalf("the Node peers are not installed: run `npm ci --prefix adapter/redis/testdata/node` (make deps does): %v", err)
	}
	cmd := exec.Command("node", script)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	p := &peer{t: t, cmd: cmd, stdin: stdin, replies: map[int]map[string]json.RawMessage{}}
	p.cond = sync.NewCond(&p.mu)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var m map[string]json.RawMessage
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			p.mu.Lock()
			if s, ok := m["seq"]; ok {
				n, _ := strconv.Atoi(string(s))
				p.replies[n] = m
			} else if _, ok := m["client"]; ok {
				var ev peerEvent
				_ = json.Unmarshal(sc.Bytes(), &ev)
				p.events = append(p.events, ev)
			} else {
				p.lines = append(p.lines, m)
			}
			p.cond.Broadcast()
			p.mu.Unlock()
		}
		p.mu.Lock()
		p.done = true
		p.cond.Broadcast()
		p.mu.Unlock()
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return p
}

// call runs a harness command and returns its reply.
func (p *peer) call(cmd string, args map[string]any) map[string]json.RawMessage {
	p.t.Helper()
	p.mu.Lock()
	p.seq++
	seq := p.seq
	p.mu.Unlock()
	m := map[string]any{"cmd": cmd, "seq": seq}
	for k, v := range args {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("write to node: %v", err)
	}
	var reply map[string]json.RawMessage
	if !p.wait(15*time.Second, func() bool { reply = p.replies[seq]; return reply != nil }) {
		p.t.Fatalf("node did not answer %s", b)
	}
	if e, ok := reply["error"]; ok && cmd != "fetch" && cmd != "sse" && cmd != "emitWithAck" {
		p.t.Fatalf("node %s: %s", cmd, e)
	}
	return reply
}

// waitArg waits until the peer printed a server-side event whose argument
// is arg (raw JSON); false after timeout.
func (p *peer) waitArg(timeout time.Duration, arg string) bool {
	return p.wait(timeout, func() bool {
		for _, l := range p.lines {
			if string(l["arg"]) == arg {
				return true
			}
		}
		return false
	})
}

// wait waits, under p.mu, until cond holds; false after timeout.
func (p *peer) wait(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer timer.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for !cond() {
		if p.done || time.Now().After(deadline) {
			return cond()
		}
		p.cond.Wait()
	}
	return true
}

// count returns how many times client received event.
func (p *peer) count(client, event string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.countLocked(client, event)
}

func (p *peer) countLocked(client, event string) int {
	n := 0
	for _, e := range p.events {
		if e.Client == client && e.Event == event {
			n++
		}
	}
	return n
}

// waitEvent waits until client received event and returns its args.
func (p *peer) waitEvent(client, event string) []json.RawMessage {
	p.t.Helper()
	var args []json.RawMessage
	ok := p.wait(10*time.Second, func() bool {
		for _, e := range p.events {
			if e.Client == client && e.Event == event {
				args = e.Args
				return true
			}
		}
		return false
	})
	if !ok {
		p.t.Fatalf("client %s did not receive %q", client, event)
	}
	return args
}

// connect connects a harness client and returns its socket id.
func (p *peer) connect(name, url, nsp string) string {
	p.t.Helper()
	r := p.call("connect", map[string]any{"name": name, "url": url, "nsp": nsp, "auth": map[string]string{"who": name}})
	var id string
	_ = json.Unmarshal(r["id"], &id)
	return id
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// answers starts an operation that calls back once with answers and
// returns them; the test fails when the callback does not come in 10 s.
func answers(t *testing.T, start func(cb func([][]byte, error)) error) ([][]byte, error) {
	t.Helper()
	type result struct {
		r   [][]byte
		err error
	}
	got := make(chan result, 1)
	if err := start(func(r [][]byte, err error) { got <- result{r, err} }); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-got:
		return res.r, res.err
	case <-time.After(10 * time.Second):
		t.Fatal("no callback")
		return nil, nil
	}
}

// ackClients lists, sorted, the clients that answered a broadcast with
// acks (a harness client answers {"client": name, ...}).
func ackClients(responses [][]byte) []string {
	var clients []string
	for _, r := range responses {
		var m struct {
			Client string `json:"client"`
		}
		_ = json.Unmarshal(r, &m)
		clients = append(clients, m.Client)
	}
	sort.Strings(clients)
	return clients
}

// expectPeerAcks broadcasts event with acks (argument 1, 5 s) from the
// harness's server and checks that want clients answered.
func expectPeerAcks(t *testing.T, p *peer, event string, want int) {
	t.Helper()
	reply := p.call("emitWithAck", map[string]any{"event": event, "args": []any{1}, "timeout": 5000})
	var fromNode []struct {
		Client string `json:"client"`
	}
	if err := json.Unmarshal(reply["responses"], &fromNode); err != nil || len(fromNode) != want {
		t.Errorf("node's emitWithAck: %s %s", reply["responses"], reply["error"])
	}
}

// expectBinaryAcks broadcasts with acks from the Go node g an event its
// clients answer with a Buffer (the bytes ca fe, then the client's name):
// EmitWithAck gets each answer as Node's Buffer JSON, EmitValuesWithAck
// as the bytes; clients are the names of those that must answer. With
// nodeServer, the harness's Node server broadcasts it too and must get a
// Buffer from each of them.
func expectBinaryAcks(t *testing.T, p *peer, g *goNode, clients []string, nodeServer bool) {
	t.Helper()
	answer := func(client string) []byte { return append([]byte{0xca, 0xfe}, client...) }
	var wantJSON, wantHex []string
	for _, c := range clients {
		js := `{"type":"Buffer","data":[`
		for i, b := range answer(c) {
			if i > 0 {
				js += ","
			}
			js += strconv.Itoa(int(b))
		}
		wantJSON = append(wantJSON, js+"]}")
		wantHex = append(wantHex, hex.EncodeToString(answer(c)))
	}
	sort.Strings(wantJSON)
	sort.Strings(wantHex)
	ask := []byte(`{"$ackBin":"cafe"}`)

	responses, err := answers(t, func(cb func([][]byte, error)) error {
		return g.srv.Timeout(5*time.Second).EmitWithAck("askBin", [][]byte{ask}, cb)
	})
	got := make([]string, len(responses))
	for i, r := range responses {
		got[i] = string(r)
	}
	sort.Strings(got)
	if err != nil || !slices.Equal(got, wantJSON) {
		t.Errorf("%s's EmitWithAck: %q, %v; want %q", g.name, got, err, wantJSON)
	}

	replies := make(chan []*socketio.AckReply, 1)
	errs := make(chan error, 1)
	if err := g.srv.Timeout(5*time.Second).EmitValuesWithAck("askBin", func(r []*socketio.AckReply, err error) {
		replies <- r
		errs <- err
	}, json.RawMessage(ask)); err != nil {
		t.Fatal(err)
	}
	select {
	case rs := <-replies:
		got = got[:0]
		for _, r := range rs {
			var b []byte
			if err := r.Decode(&b); err != nil {
				t.Errorf("%s's EmitValuesWithAck: reply %q %q: %v", g.name, r.Args, r.Attachments, err)
			}
			got = append(got, hex.EncodeToString(b))
		}
		sort.Strings(got)
		if err := <-errs; err != nil || !slices.Equal(got, wantHex) {
			t.Errorf("%s's EmitValuesWithAck: %q, %v; want %q", g.name, got, err, wantHex)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no EmitValuesWithAck callback")
	}

	if !nodeServer {
		return
	}
	reply := p.call("emitWithAck", map[string]any{"event": "askBinN", "args": []any{json.RawMessage(ask)}, "timeout": 5000})
	var fromNode []struct {
		Bin string `json:"$bin"`
	}
	if err := json.Unmarshal(reply["responses"], &fromNode); err != nil {
		t.Errorf("node's emitWithAck: %s %s", reply["responses"], reply["error"])
	}
	got = got[:0]
	for _, r := range fromNode {
		got = append(got, r.Bin)
	}
	sort.Strings(got)
	if !slices.Equal(got, wantHex) {
		t.Errorf("node's emitWithAck got Buffers %q (%s), want %q", got, reply["responses"], wantHex)
	}
}
