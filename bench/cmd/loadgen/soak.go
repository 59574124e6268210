package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// The soak scenario: many WebSocket and polling clients stay connected for
// a long time, each emitting "echo" with an ack every few seconds, while
// one of them triggers a small broadcast now and then. Every ack and every
// broadcast message is checked; anything unexpected is counted with a
// reason. The server's memory and CPU are sampled along the way.

// soakOptions are the soak's own flags (see main).
type soakOptions struct {
	ws, poll   int
	interval   time.Duration // mean time between two echoes of one client
	bcastEvery time.Duration
	bcastCount int
	ackTimeout time.Duration
	sample     time.Duration
	drain      time.Duration
	ramp       int // connections opened per second
	debugURL   string
	jsonOut    string
	// lateFails makes acks later than ackTimeout fail the run; without it
	// they are reported (a latency figure, which on a shared machine
	// measures the machine) but only lost or wrong acks fail it.
	lateFails bool
}

// reasons counts events by a short reason and keeps the first example of
// each.
type reasons struct {
	mu sync.Mutex
	n  map[string]int64
	ex map[string]string
}

func (r *reasons) add(reason, example string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n, r.ex = map[string]int64{}, map[string]string{}
	}
	r.n[reason]++
	if _, ok := r.ex[reason]; !ok && example != "" {
		if len(example) > 160 {
			example = example[:160] + "…"
		}
		r.ex[reason] = example
	}
}

func (r *reasons) total() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var t int64
	for _, v := range r.n {
		t += v
	}
	return t
}

// snapshot returns "reason: count" entries (with the first example),
// largest first.
func (r *reasons) snapshot() []reasonCount {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]reasonCount, 0, len(r.n))
	for k, v := range r.n {
		out = append(out, reasonCount{Reason: k, Count: v, Example: r.ex[k]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out
}

type reasonCount struct {
	Reason  string `json:"reason"`
	Count   int64  `json:"count"`
	Example string `json:"example,omitempty"`
}

// soakPeer is one client of either transport, with its ack bookkeeping
// and its position in the broadcast sequence.
type soakPeer struct {
	idx     int
	polling bool
	ws      *wsClient
	pc      *pollClient
	postMu  sync.Mutex // one POST at a time per polling session
	dead    atomic.Bool
	arg     string // echo filler
	mu      sync.Mutex
	nextID  int
	pending map[int]time.Time
	lat     []time.Duration
	// Broadcast position, touched only by the peer's reader: the sequence
	// number being received and how many of its copies have arrived.
	curSeq, curCnt int
}

// send writes one Engine.IO packet on the peer's transport.
func (p *soakPeer) send(ctx context.Context, pkt []byte) error {
	if !p.polling {
		return p.ws.write(pkt)
	}
	p.postMu.Lock()
	defer p.postMu.Unlock()
	return p.pc.post(ctx, pkt)
}

// soak is one soak run's shared state and counters.
type soak struct {
	o        options
	so       soakOptions
	peers    []*soakPeer
	stopping atomic.Bool // senders stop
	closing  atomic.Bool // we are closing the connections: not a failure
	bcastSeq atomic.Int64
	bcastMsg []byte // template tail after the sequence number

	acksSent, acksOK, acksLate, acksWrong atomic.Int64
	bcastRecv, bcastMissing, bcastDup     atomic.Int64
	bcastOutOfOrder                       atomic.Int64
	pongs                                 atomic.Int64
	disconnects, protocol, connectFail    reasons
	// lateAcks and lostAcks group the acks beyond the timeout and those
	// that never came by transport, with an example each.
	lateAcks, lostAcks reasons
	t0                 time.Time // start of the exchange window
}

// msgPrefix and the tail built in runSoak frame one broadcast message:
// 42["msg",{"b":<seq>,"p":"xxx"}].
var msgPrefix = []byte(`42["msg",{"b":`)

func (s *soak) bcastPayload(seq int64) string {
	return `{"b":` + strconv.FormatInt(seq, 10) + `,"p":` + payloadString(s.o.payload) + `}`
}

// echoFor builds the echo request with ack id and the exact ack expected.
func (s *soak) echoFor(p *soakPeer, id int) (req, want []byte) {
	arg := `{"c":` + strconv.Itoa(p.idx) + `,"i":` + strconv.Itoa(id) + `,"p":` + p.arg + `}`
	return echoExchange(nil, nil, id, arg)
}

// addrRe strips addresses and ports from error texts, so that reasons
// group.
var addrRe = regexp.MustCompile(`127\.0\.0\.\d+:\d+`)

func errReason(err error) string {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		return fmt.Sprintf("websocket close %d", ce.Code)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed (EOF)"
	case errors.Is(err, errPollStatus):
		msg := err.Error()
		if i := strings.Index(msg, ":"); i > 0 && len(msg) > i+1 {
			if j := strings.Index(msg[i+1:], ":"); j > 0 {
				return strings.TrimSpace(msg[:i+1+j])
			}
		}
		return msg
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return addrRe.ReplaceAllString(err.Error(), "ADDR")
}

// lose marks the peer dead (once) and records why.
func (s *soak) lose(p *soakPeer, what string, err error) {
	if s.closing.Load() || !p.dead.CompareAndSwap(false, true) {
		return
	}
	kind := p.kind()
	ex := ""
	if err != nil {
		ex = err.Error()
	}
	s.disconnects.add(kind+" "+what+": "+errReason(err), ex)
	if p.ws != nil {
		_ = p.ws.conn.Close()
	}
}

// kind names the peer's transport.
func (p *soakPeer) kind() string {
	if p.polling {
		return "polling"
	}
	return "ws"
}

// handle checks one Engine.IO packet other than PING.
func (s *soak) handle(p *soakPeer, pk []byte) {
	switch {
	case len(pk) == 0:
		s.protocol.add("empty packet", "")
	case pk[0] == '6': // NOOP (polling)
	case pk[0] == '1':
		s.lose(p, "read", errors.New("Engine.IO CLOSE from the server"))
	case bytes.HasPrefix(pk, msgPrefix):
		s.onBroadcast(p, pk)
	case bytes.HasPrefix(pk, []byte("43")):
		s.onAck(p, pk)
	case bytes.HasPrefix(pk, []byte("41")):
		s.lose(p, "read", errors.New("Socket.IO DISCONNECT from the server"))
	case bytes.HasPrefix(pk, []byte("44")):
		s.protocol.add("Socket.IO CONNECT_ERROR", string(pk))
	default:
		s.protocol.add("unexpected packet", string(pk))
	}
}

func (s *soak) onAck(p *soakPeer, pk []byte) {
	now := time.Now()
	i := 2
	for i < len(pk) && pk[i] >= '0' && pk[i] <= '9' {
		i++
	}
	id, err := strconv.Atoi(string(pk[2:i]))
	if err != nil {
		s.acksWrong.Add(1)
		s.protocol.add("ack without id", string(pk))
		return
	}
	p.mu.Lock()
	sent, ok := p.pending[id]
	if ok {
		delete(p.pending, id)
	}
	p.mu.Unlock()
	if !ok {
		s.acksWrong.Add(1)
		s.protocol.add("ack for an unknown or already acked id", string(pk))
		return
	}
	if _, want := s.echoFor(p, id); !bytes.Equal(pk, want) {
		s.acksWrong.Add(1)
		s.protocol.add("ack with a wrong payload", string(pk))
		return
	}
	d := now.Sub(sent)
	p.mu.Lock()
	p.lat = append(p.lat, d)
	p.mu.Unlock()
	if d > s.so.ackTimeout {
		s.acksLate.Add(1)
		s.lateAcks.add(p.kind(), fmt.Sprintf("client %d ack %d after %v, sent %.1f s into the window",
			p.idx, id, d.Round(time.Millisecond), sent.Sub(s.t0).Seconds()))
		return
	}
	s.acksOK.Add(1)
}

func (s *soak) onBroadcast(p *soakPeer, pk []byte) {
	rest := pk[len(msgPrefix):]
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	seq, err := strconv.Atoi(string(rest[:i]))
	if err != nil || !bytes.Equal(rest[i:], s.bcastMsg) {
		s.protocol.add("malformed broadcast message", string(pk))
		return
	}
	s.bcastRecv.Add(1)
	k := s.so.bcastCount
	switch {
	case seq == p.curSeq:
		p.curCnt++
		if p.curCnt > k {
			s.bcastDup.Add(1)
		}
	case seq > p.curSeq:
		if p.curSeq > 0 && p.curCnt < k {
			s.bcastMissing.Add(int64(k - p.curCnt))
		}
		s.bcastMissing.Add(int64(k * (seq - p.curSeq - 1)))
		p.curSeq, p.curCnt = seq, 1
	default: // an older broadcast after a newer one
		s.bcastOutOfOrder.Add(1)
	}
}

// readWS is a WebSocket peer's reader: it answers PINGs and checks the
// rest until the connection ends.
func (s *soak) readWS(p *soakPeer) {
	// The server PINGs every 25 s by default: a minute without a message
	// is a stalled connection.
	const idle = 60 * time.Second
	for {
		msg, err := p.ws.readMsg(time.Now().Add(idle))
		if err != nil {
			s.lose(p, "read", err)
			return
		}
		if len(msg) == 1 && msg[0] == '2' {
			if err := p.ws.write(pongPacket); err != nil {
				s.lose(p, "write PONG", err)
				return
			}
			s.pongs.Add(1)
			continue
		}
		s.handle(p, msg)
	}
}

// readPolling is a polling peer's long-polling loop.
func (s *soak) readPolling(ctx context.Context, p *soakPeer) {
	for !p.dead.Load() && ctx.Err() == nil {
		body, err := p.pc.get(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.lose(p, "GET", err)
			}
			return
		}
		for _, pk := range packets(body) {
			if len(pk) == 1 && pk[0] == '2' {
				if err := p.send(ctx, pongPacket); err != nil {
					s.lose(p, "POST PONG", err)
					return
				}
				s.pongs.Add(1)
				continue
			}
			s.handle(p, pk)
		}
	}
}

// scheduleEcho arms the peer's next echo after d.
func (s *soak) scheduleEcho(ctx context.Context, p *soakPeer, d time.Duration) {
	time.AfterFunc(d, func() {
		if s.stopping.Load() || p.dead.Load() {
			return
		}
		p.mu.Lock()
		p.nextID++
		id := p.nextID
		req, _ := s.echoFor(p, id)
		p.pending[id] = time.Now()
		p.mu.Unlock()
		s.acksSent.Add(1)
		if err := p.send(ctx, req); err != nil {
			s.lose(p, "write echo", err)
			return
		}
		s.scheduleEcho(ctx, p, jitter(s.so.interval))
	})
}

// jitter returns d scaled by a uniform factor in [0.5, 1.5).
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

// process exit status: 0 when nothing was lost and no error was seen.
func runSoak(ctx context.Context, o options, so soakOptions, server string) int {
	n := so.ws + so.poll
	s := &soak{o: o, so: so, peers: make([]*soakPeer, n)}
	s.bcastMsg = []byte(`,"p":` + payloadString(o.payload) + `}]`)
	hc := newHTTPClient(so.poll)
	// A GET may be held for MaxPollWait (30 s by default) before a NOOP.
	hc.Timeout = 90 * time.Second
	defer hc.CloseIdleConnections()
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()

	fmt.Printf("soak: %d WebSocket + %d polling clients against %s (pid %d), ramp %d/s, echo every %v (jittered ±50%%) per client, broadcast of %d every %v, ack timeout %v, for %v\n",
		so.ws, so.poll, o.t.host, o.pid, so.ramp, so.interval, so.bcastCount, so.bcastEvery, so.ackTimeout, o.duration)

	selfCPU0, _ := cpuTime(os.Getpid())
	busy0, _, _ := machineBusy()
	wall0 := time.Now()
	sm := &sampler{s: s, t0: time.Now()}
	var samples []soakSample
	add := func(smp soakSample) { samples = append(samples, smp); s.printSample(smp) }
	add(sm.take("fresh"))
	serverCPU0 := sm.lastCPU

	// Ramp: connection i starts at i/ramp seconds, at most dialConc at once;
	// polling clients are spread evenly among the WebSocket ones.
	sem := make(chan struct{}, o.dialConc)
	var wg sync.WaitGroup
	rampStart := time.Now()
	var readers sync.WaitGroup
	for i := 0; i < n && ctx.Err() == nil; i++ {
		polling := (i+1)*so.poll/n > i*so.poll/n
		if at := rampStart.Add(time.Duration(float64(i) / float64(so.ramp) * float64(time.Second))); time.Until(at) > 0 {
			time.Sleep(time.Until(at))
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int, polling bool) {
			defer wg.Done()
			defer func() { <-sem }()
			p := &soakPeer{idx: i, polling: polling, pending: map[int]time.Time{}, arg: payloadString(o.payload)}
			var err error
			for try := 0; try < 3; try++ {
				if polling {
					p.pc, err = connectPolling(runCtx, o.t, hc)
				} else {
					p.ws, err = connectWS(runCtx, o.t)
				}
				if err == nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				kind := "ws"
				if polling {
					kind = "polling"
				}
				s.connectFail.add(kind+": "+errReason(err), err.Error())
				return
			}
			s.peers[i] = p
			readers.Add(1)
			go func() {
				defer readers.Done()
				if polling {
					s.readPolling(runCtx, p)
				} else {
					s.readWS(p)
				}
			}()
		}(i, polling)
	}
	wg.Wait()
	rampSeconds := time.Since(rampStart).Seconds()
	connected := 0
	for _, p := range s.peers {
		if p != nil {
			connected++
		}
	}
	fmt.Printf("soak: %d of %d clients connected in %.1f s\n", connected, n, rampSeconds)
	time.Sleep(2 * time.Second) // let the handshakes' work settle
	sm.t0 = time.Now()
	s.t0 = sm.t0
	add(sm.take("start"))

	// The exchange window.
	for _, p := range s.peers {
		if p != nil {
			s.scheduleEcho(runCtx, p, time.Duration(rand.Int64N(int64(so.interval))))
		}
	}
	end := sm.t0.Add(o.duration)
	bcastTick := time.NewTicker(so.bcastEvery)
	sampleTick := time.NewTicker(so.sample)
	endTimer := time.NewTimer(time.Until(end))
	defer endTimer.Stop()
	mid := sm.t0.Add(o.duration / 2)
	midTaken := false
	pickSender := func() *soakPeer {
		for _, p := range s.peers {
			if p != nil && !p.polling && !p.dead.Load() {
				return p
			}
		}
		return nil
	}
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-endTimer.C:
			break loop
		case now := <-bcastTick.C:
			if now.After(end) {
				break loop
			}
			if p := pickSender(); p != nil {
				seq := s.bcastSeq.Load() + 1
				cmd := []byte(`42["bcast",` + s.bcastPayload(seq) + `,` + strconv.Itoa(so.bcastCount) + `]`)
				if err := p.send(runCtx, cmd); err != nil {
					s.lose(p, "write bcast", err)
				} else {
					s.bcastSeq.Store(seq)
				}
			}
		case now := <-sampleTick.C:
			label := "sample"
			if !midTaken && !now.Before(mid) {
				label, midTaken = "middle", true
			}
			add(sm.take(label))
			if now.After(end) {
				break loop
			}
		}
		if time.Now().After(end) {
			break
		}
	}
	bcastTick.Stop()
	sampleTick.Stop()
	windowSeconds := time.Since(sm.t0).Seconds()
	s.stopping.Store(true) // pending echo timers fire and return
	// Let the last acks and broadcast messages arrive.
	fmt.Printf("soak: window over after %.1f s; draining for %v\n", windowSeconds, so.drain)
	time.Sleep(so.drain)
	add(sm.take("end"))
	dv, haveDebug := s.readDebug()

	// Close every client; closures are ours from here on.
	s.closing.Store(true)
	closeCtx, cancelClose := context.WithTimeout(context.Background(), 20*time.Second)
	var cw sync.WaitGroup
	csem := make(chan struct{}, 200)
	for _, p := range s.peers {
		if p == nil || p.dead.Load() {
			continue
		}
		csem <- struct{}{}
		cw.Add(1)
		go func(p *soakPeer) {
			defer cw.Done()
			defer func() { <-csem }()
			if p.polling {
				p.postMu.Lock()
				p.pc.close(closeCtx)
				p.postMu.Unlock()
			} else {
				p.ws.close()
			}
		}(p)
	}
	cw.Wait()
	cancelClose()
	cancelRun()
	readers.Wait()
	// Count what never arrived; the readers have exited, so their state
	// is final.
	var lost, missingDead int64
	var lat []time.Duration
	latBy := map[string][]time.Duration{}
	sentBcasts := int(s.bcastSeq.Load())
	for _, p := range s.peers {
		if p == nil {
			continue
		}
		p.mu.Lock()
		lost += int64(len(p.pending))
		for id, sent := range p.pending {
			s.lostAcks.add(p.kind(), fmt.Sprintf("client %d ack %d, sent %.1f s into the window", p.idx, id, sent.Sub(s.t0).Seconds()))
		}
		lat = append(lat, p.lat...)
		latBy[p.kind()] = append(latBy[p.kind()], p.lat...)
		p.mu.Unlock()
		short := 0
		if p.curSeq > 0 && p.curCnt < so.bcastCount {
			short = so.bcastCount - p.curCnt
		}
		short += so.bcastCount * (sentBcasts - max(p.curSeq, 0))
		if p.curSeq > sentBcasts { // a trigger whose write failed yet reached the server
			short = 0
		}
		if p.dead.Load() {
			missingDead += int64(short)
		} else {
			s.bcastMissing.Add(int64(short))
		}
	}

	// Polling keep-alive connections hold a server goroutine each, and
	// fasthttp keeps an idle worker goroutine for up to twice its
	// MaxIdleWorkerDuration (10 s) after a request: the "closed" sample
	// comes after both are gone.
	hc.CloseIdleConnections()
	fmt.Println("soak: clients closed; waiting 25 s for the server's idle workers to exit")
	time.Sleep(25 * time.Second)
	add(sm.take("closed"))

	selfCPU1, _ := cpuTime(os.Getpid())
	busy1, _, _ := machineBusy()
	serverCPU1, _ := cpuTime(o.pid)
	p50, p99 := percentiles(lat)
	var maxLat time.Duration
	if len(lat) > 0 {
		maxLat = lat[len(lat)-1] // percentiles sorted them
	}
	sum := soakSummary{
		Server: server, Scenario: "soak",
		WSClients: so.ws, PollingClients: so.poll, Connected: connected,
		RampSeconds: rampSeconds, DurationSeconds: windowSeconds, EchoIntervalS: so.interval.Seconds(),
		AcksSent: s.acksSent.Load(), AcksOK: s.acksOK.Load(), AcksLate: s.acksLate.Load(),
		AcksLost: lost, AcksWrong: s.acksWrong.Load(),
		AckP50ms: p50 / 1e3, AckP99ms: p99 / 1e3, AckMaxms: float64(maxLat.Microseconds()) / 1e3,
		BcastSent: int64(sentBcasts), BcastCount: so.bcastCount,
		BcastExpected: int64(sentBcasts) * int64(so.bcastCount) * int64(connected),
		BcastRecv:     s.bcastRecv.Load(), BcastMissing: s.bcastMissing.Load(), BcastMissingDead: missingDead,
		BcastDup: s.bcastDup.Load(), BcastOutOfOrder: s.bcastOutOfOrder.Load(),
		Pongs:      s.pongs.Load(),
		AckLatency: []latencyLine{latencyOf("ws", latBy["ws"]), latencyOf("polling", latBy["polling"])},
		LateAcks:   s.lateAcks.snapshot(), LostAcks: s.lostAcks.snapshot(),
		ConnectFailures: s.connectFail.snapshot(), Disconnects: s.disconnects.snapshot(), ProtocolErrors: s.protocol.snapshot(),
		Samples:          samples,
		ServerCPUSeconds: (serverCPU1 - serverCPU0).Seconds(), LoadgenCPUSeconds: (selfCPU1 - selfCPU0).Seconds(),
	}
	if windowSeconds > 0 {
		sum.AckRate = float64(sum.AcksOK+sum.AcksLate) / windowSeconds
	}
	if capacity := float64(time.Since(wall0)) * float64(runtime.NumCPU()); capacity > 0 {
		other := (busy1 - busy0) - (selfCPU1 - selfCPU0) - (serverCPU1 - serverCPU0)
		sum.OtherCPUPct = max(0, 100*float64(other)/capacity)
	}
	if haveDebug {
		sum.ServerSocketErrs, sum.ServerLastError = dv.SocketErrors, dv.LastError
		sum.ServerDisconnects = dv.Causes
	}
	sum.LateFails = so.lateFails
	sum.Pass = connected == n && sum.AcksSent > 0 && sum.AcksLost == 0 && (sum.AcksLate == 0 || !so.lateFails) && sum.AcksWrong == 0 &&
		sum.BcastSent > 0 && sum.BcastMissing == 0 && sum.BcastMissingDead == 0 && sum.BcastDup == 0 && sum.BcastOutOfOrder == 0 &&
		len(sum.Disconnects) == 0 && len(sum.ProtocolErrors) == 0 && len(sum.ConnectFailures) == 0 &&
		sum.ServerSocketErrs == 0 && (!haveDebug || len(dv.Causes) == 0)
	printSoakSummary(sum)
	out, _ := json.Marshal(sum)
	fmt.Println(string(out))
	if so.jsonOut != "" {
		if err := os.WriteFile(so.jsonOut, append(out, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
		}
	}
	if !sum.Pass {
		return 1
	}
	return 0
}
