package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// errorLog keeps an error count and the first error.
type errorLog struct {
	n     atomic.Int64
	once  sync.Once
	first string
}

func (e *errorLog) add(err error) {
	e.n.Add(1)
	e.once.Do(func() { e.first = err.Error() })
}

// payloadString is a JSON string of n filler characters.
func payloadString(n int) string {
	return `"` + strings.Repeat("x", n) + `"`
}

// connectMany opens n WebSocket clients, dialConc at a time, retrying a
// failed connect twice; onConnect (if set) runs for each client as soon as
// it is connected.
func connectMany(ctx context.Context, o options, n int, onConnect func(i int, c *wsClient)) ([]*wsClient, error) {
	clients := make([]*wsClient, n)
	sem := make(chan struct{}, o.dialConc)
	var wg sync.WaitGroup
	var errs errorLog
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			var err error
			for try := 0; try < 3; try++ {
				var c *wsClient
				c, err = connectWS(ctx, o.t)
				if err == nil {
					clients[i] = c
					if onConnect != nil {
						onConnect(i, c)
					}
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			errs.add(err)
		}(i)
	}
	wg.Wait()
	if errs.n.Load() > 0 || ctx.Err() != nil {
		for _, c := range clients {
			if c != nil {
				_ = c.conn.Close()
			}
		}
		if ctx.Err() != nil && errs.n.Load() == 0 {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%d of %d connections failed, first: %s", errs.n.Load(), n, errs.first)
	}
	return clients, nil
}

// runHandshake opens and closes sessions (Engine.IO OPEN + Socket.IO
// CONNECT over WebSocket) from o.clients workers until o.n are done or
// o.duration has passed. The server's CPU is read until 500 ms after the
// last one, so the closing work is counted too. With o.warmup, that many
// are done first, and the measurement starts 500 ms after them: the
// figure is then the steady cost of a handshake, without the server's
// start-up (its heap and pools growing to size, a JIT compiling).
func runHandshake(ctx context.Context, o options) (result, error) {
	if o.warmup > 0 {
		handshakes(ctx, o, o.warmup)
		time.Sleep(500 * time.Millisecond)
	}
	cw, err := startCPU(o.pid)
	if err != nil {
		return result{}, err
	}
	samples, errs := handshakes(ctx, o, o.n)
	elapsed := time.Since(cw.t0)
	time.Sleep(500 * time.Millisecond)
	cpu, err := cw.stop()
	if err != nil {
		return result{}, err
	}
	p50, p99 := percentiles(samples)
	return result{
		Clients: o.clients, Ops: int64(len(samples)), Seconds: elapsed.Seconds(),
		P50us: p50, P99us: p99, CPUus: cpu,
		Errors: errs.n.Load(), FirstError: errs.first,
		reads: cw.reads, writes: cw.writes,
	}, nil
}

// handshakes does n handshakes (fewer when o.duration passes first or
// ctx ends) from o.clients workers and returns the time each took.
func handshakes(ctx context.Context, o options, n int) ([]time.Duration, *errorLog) {
	var (
		errs    = new(errorLog)
		mu      sync.Mutex
		samples = make([]time.Duration, 0, n)
		wg      sync.WaitGroup
	)
	end := time.Now().Add(o.duration)
	var issued atomic.Int64
	for w := 0; w < o.clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, n/o.clients+1)
			defer func() {
				mu.Lock()
				samples = append(samples, local...)
				mu.Unlock()
			}()
			for issued.Add(1) <= int64(n) && time.Now().Before(end) && ctx.Err() == nil {
				t0 := time.Now()
				c, err := connectWS(ctx, o.t)
				if err != nil {
					errs.add(err)
					if errs.n.Load() > int64(n/10+10) {
						return
					}
					continue
				}
				local = append(local, time.Since(t0))
				c.close()
			}
		}()
	}
	wg.Wait()
	return samples, errs
}

// echoExchange builds one echo request and the exact ack it must bring
// back: 42<id>["echo",<arg>] and 43<id>[<arg>].
func echoExchange(dst, want []byte, id int, arg string) ([]byte, []byte) {
	dst = append(dst[:0], "42"...)
	dst = strconv.AppendInt(dst, int64(id), 10)
	dst = append(dst, `["echo",`...)
	dst = append(dst, arg...)
	dst = append(dst, ']')
	want = append(want[:0], "43"...)
	want = strconv.AppendInt(want, int64(id), 10)
	want = append(want, '[')
	want = append(want, arg...)
	want = append(want, ']')
	return dst, want
}

// echoArg is one client's echo argument: an object with its number and a
// filler string.
func echoArg(client, payload int) string {
	return `{"c":` + strconv.Itoa(client) + `,"p":` + payloadString(payload) + `}`
}

// runEcho: o.clients WebSocket clients each emit "echo" with an ack and
// wait for it, back to back, for o.duration.
func runEcho(ctx context.Context, o options) (result, error) {
	clients, err := connectMany(ctx, o, o.clients, nil)
	if err != nil {
		return result{}, err
	}
	defer func() {
		for _, c := range clients {
			c.close()
		}
	}()
	var (
		errs    errorLog
		acks    atomic.Int64
		mu      sync.Mutex
		samples []time.Duration
		wg      sync.WaitGroup
	)
	cw, err := startCPU(o.pid)
	if err != nil {
		return result{}, err
	}
	end := cw.t0.Add(o.duration)
	for i, c := range clients {
		wg.Add(1)
		go func(i int, c *wsClient) {
			defer wg.Done()
			arg := echoArg(i, o.payload)
			var req, want []byte
			local := make([]time.Duration, 0, 4096)
			defer func() {
				mu.Lock()
				samples = append(samples, local...)
				mu.Unlock()
			}()
			for id := 1; time.Now().Before(end) && ctx.Err() == nil; id++ {
				req, want = echoExchange(req, want, id, arg)
				t0 := time.Now()
				if err := c.write(req); err != nil {
					errs.add(err)
					return
				}
				for {
					msg, err := c.readMsg(time.Now().Add(10 * time.Second))
					if err != nil {
						errs.add(err)
						return
					}
					if c.handlePing(msg) {
						continue
					}
					if bytes.Equal(msg, want) {
						local = append(local, time.Since(t0))
						acks.Add(1)
						break
					}
					errs.add(fmt.Errorf("unexpected reply %q, want %q", msg, want))
					return
				}
			}
		}(i, c)
	}
	wg.Wait()
	return echoResult(o, cw, acks.Load(), samples, &errs)
}

// echoResult ends an echo scenario's CPU window and reports its acks and
// their round-trip percentiles.
func echoResult(o options, cw *cpuWindow, acks int64, samples []time.Duration, errs *errorLog) (result, error) {
	elapsed := time.Since(cw.t0)
	cpu, err := cw.stop()
	if err != nil {
		return result{}, err
	}
	p50, p99 := percentiles(samples)
	return result{
		Clients: o.clients, Ops: acks, Seconds: elapsed.Seconds(),
		P50us: p50, P99us: p99, CPUus: cpu,
		Errors: errs.n.Load(), FirstError: errs.first,
		reads: cw.reads, writes: cw.writes,
	}, nil
}

// runPollEcho is runEcho over HTTP long-polling: each ack is a POST of
// the event and GETs until the ack arrives.
func runPollEcho(ctx context.Context, o options) (result, error) {
	hc := newHTTPClient(o.clients)
	defer hc.CloseIdleConnections()
	clients := make([]*pollClient, o.clients)
	var errs errorLog
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := connectPolling(ctx, o.t, hc)
			if err != nil {
				errs.add(err)
				return
			}
			clients[i] = c
		}(i)
	}
	wg.Wait()
	if errs.n.Load() > 0 {
		return result{}, fmt.Errorf("%d polling connects failed, first: %s", errs.n.Load(), errs.first)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, c := range clients {
			c.close(cctx)
		}
	}()
	var (
		acks    atomic.Int64
		mu      sync.Mutex
		samples []time.Duration
	)
	cw, err := startCPU(o.pid)
	if err != nil {
		return result{}, err
	}
	end := cw.t0.Add(o.duration)
	for i, c := range clients {
		wg.Add(1)
		go func(i int, c *pollClient) {
			defer wg.Done()
			arg := echoArg(i, o.payload)
			var req, want []byte
			local := make([]time.Duration, 0, 1024)
			defer func() {
				mu.Lock()
				samples = append(samples, local...)
				mu.Unlock()
			}()
			for id := 1; time.Now().Before(end) && ctx.Err() == nil; id++ {
				req, want = echoExchange(req, want, id, arg)
				t0 := time.Now()
				if err := c.post(ctx, req); err != nil {
					errs.add(err)
					return
				}
				got := false
				for tries := 0; !got && tries < 20; tries++ {
					body, err := c.get(ctx)
					if err != nil {
						errs.add(err)
						return
					}
					for _, pk := range packets(body) {
						switch {
						case bytes.Equal(pk, want):
							got = true
						case len(pk) == 1 && pk[0] == '2':
							if err := c.post(ctx, pongPacket); err != nil {
								errs.add(err)
								return
							}
						case len(pk) == 1 && pk[0] == '6':
						default:
							errs.add(fmt.Errorf("unexpected packet %q, want %q", pk, want))
							return
						}
					}
				}
				if !got {
					errs.add(errors.New("no ack after 20 GETs"))
					return
				}
				local = append(local, time.Since(t0))
				acks.Add(1)
			}
		}(i, c)
	}
	wg.Wait()
	return echoResult(o, cw, acks.Load(), samples, &errs)
}

// runFanout connects o.clients receivers, reads the server's RSS once they
// are idle (memory per idle connection), then has client 0 emit
// "bcast" (payload, o.count) and waits until every client has received
// o.count "msg" packets, each checked byte for byte, or the timeout.
func runFanout(ctx context.Context, o options) (result, error) {
	payload := payloadString(o.payload)
	wantMsg := []byte(`42["msg",` + payload + `]`)
	expected := int64(o.clients) * int64(o.count)
	var (
		got      atomic.Int64
		extra    atomic.Int64
		bad      errorLog
		finished = make(chan time.Time, 1)
		readers  sync.WaitGroup
	)
	rssBefore, err := rssBytes(o.pid)
	if err != nil {
		return result{}, err
	}
	reader := func(_ int, c *wsClient) {
		readers.Add(1)
		go func() {
			defer readers.Done()
			deadline, _ := ctx.Deadline()
			n := 0
			for {
				msg, err := c.readMsg(deadline)
				if err != nil {
					return
				}
				if c.handlePing(msg) {
					continue
				}
				if !bytes.Equal(msg, wantMsg) {
					bad.add(fmt.Errorf("unexpected message %.80q", msg))
					continue
				}
				n++
				if n > o.count {
					extra.Add(1)
					continue
				}
				if got.Add(1) == expected {
					finished <- time.Now()
				}
			}
		}()
	}
	t0 := time.Now()
	clients, err := connectMany(ctx, o, o.clients, reader)
	if err != nil {
		return result{}, err
	}
	connectSeconds := time.Since(t0).Seconds()
	closeAll := func() {
		for _, c := range clients {
			_ = c.conn.Close()
		}
		readers.Wait()
	}
	time.Sleep(o.settle)
	rssAfter, err := rssBytes(o.pid)
	if err != nil {
		closeAll()
		return result{}, err
	}

	cw, err := startCPU(o.pid)
	if err != nil {
		closeAll()
		return result{}, err
	}
	cmd := []byte(`42["bcast",` + payload + `,` + strconv.Itoa(o.count) + `]`)
	if err := clients[0].write(cmd); err != nil {
		closeAll()
		return result{}, err
	}
	var end time.Time
	note := ""
	select {
	case end = <-finished:
	case <-ctx.Done():
		end = time.Now()
		note = "timeout before every message arrived"
	}
	cpu, err := cw.stop()
	if err != nil {
		closeAll()
		return result{}, err
	}
	// Late duplicates would show here.
	time.Sleep(100 * time.Millisecond)
	closeAll()
	delivered := got.Load()
	if x := extra.Load(); x > 0 {
		note += fmt.Sprintf(" %d messages beyond the expected count", x)
	}
	return result{
		Clients: o.clients, Ops: delivered, Seconds: end.Sub(cw.t0).Seconds(),
		CPUus: cpu, Expected: expected, Shortfall: expected - delivered,
		Errors: bad.n.Load(), FirstError: bad.first,
		reads: cw.reads, writes: cw.writes,
		RSSBefore: rssBefore, RSSAfter: rssAfter,
		MemPerConnB:   float64(rssAfter-rssBefore) / float64(o.clients),
		ConnectSecond: connectSeconds, Note: strings.TrimSpace(note),
	}, nil
}
