// Command fiber-socketio is the bench server for this package: a Fiber v3
// app on a loopback address serving socketio.NewServer at /socket.io/ with
// the bench behaviour (see BENCHMARKS.md).
//
// With -debug-addr it also serves expvar's /debug/vars on a second
// loopback address, with the figures the soak (loadgen -scenario soak)
// samples: goroutines, the live heap, connected sockets, and the socket
// errors and disconnect causes the server saw; and net/http/pprof's
// /debug/pprof/ (heap and goroutine profiles of idle connections).
package main

import (
	"expvar"
	"flag"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof" // on -debug-addr too: heap and goroutine profiles
	"os"
	"os/signal"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fiber-socketio/socketio"
	"github.com/fiber-socketio/socketio/bench/internal/cpuprof"
	"github.com/fiber-socketio/socketio/bench/internal/fdlimit"
	"github.com/gofiber/fiber/v3"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3001", "listen address (loopback)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file (stopped on SIGTERM/SIGINT)")
	memprofile := flag.String("memprofile", "", "on SIGUSR1, write a heap profile to this file and memory statistics to stderr")
	debugAddr := flag.String("debug-addr", "", "serve expvar /debug/vars (goroutines, heap, sockets, errors) and net/http/pprof's /debug/pprof/ on this loopback address")
	reduceMemory := flag.Bool("reduce-memory", false, "set Fiber's ReduceMemoryUsage")
	reusePayloads := flag.Bool("reuse-payloads", false, "set ReuseEventPayloads (the listeners keep no payload)")
	queue := flag.Int("send-queue", 1<<20, "SendQueueSize and PollQueueMaxFrames; 0 keeps the package defaults (100 and 1024)")
	flag.Parse()
	for _, a := range []string{*addr, *debugAddr} {
		if a == *debugAddr && a == "" {
			continue // no debug listener
		}
		if host, _, err := net.SplitHostPort(a); err != nil || !net.ParseIP(host).IsLoopback() {
			log.Fatalf("-addr and -debug-addr must be loopback addresses, got %q", a)
		}
	}
	fdlimit.Raise(1 << 16)

	defer cpuprof.Start(*cpuprofile)()

	cfg := socketio.DefaultConfig()
	// A broadcast burst queues count packets per connection at once;
	// queues that hold them let the broadcaster go on without waiting for
	// the connections' writers to make room.
	if *queue > 0 {
		cfg.SendQueueSize = *queue
		cfg.PollQueueMaxFrames = *queue
	}
	cfg.ReuseEventPayloads = *reusePayloads
	srv := socketio.NewServer(cfg)

	srv.On("echo", func(ep *socketio.EventPayload) {
		if ep.HasAck {
			_ = ep.Ack(ep.Args...)
		}
	})
	srv.On("bcast", func(ep *socketio.EventPayload) {
		if len(ep.Args) != 2 {
			return
		}
		count, err := strconv.Atoi(string(ep.Args[1]))
		if err != nil || count < 0 {
			return
		}
		payload := ep.Args[0]
		// A broadcast to the namespace: encoded once, the same bytes
		// queued to every socket.
		for i := 0; i < count; i++ {
			_ = srv.Emit("msg", payload)
		}
	})

	if *debugAddr != "" {
		serveDebug(srv, *debugAddr)
	}

	app := fiber.New(fiber.Config{ReduceMemoryUsage: *reduceMemory})
	h := srv.Handler(func(*socketio.Websocket) {})
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)

	ln, err := net.Listen("tcp4", *addr)
	if err != nil {
		log.Fatal(err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	if *memprofile != "" {
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		go func() {
			for range usr1 {
				writeMemProfile(*memprofile)
			}
		}()
	}
	go func() {
		_ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
	}()
	<-stop
	_ = ln.Close()
}

// serveDebug publishes the soak's figures as expvar variables and serves
// /debug/vars on addr (memstats and cmdline come with expvar):
//
//   - goroutines: runtime.NumGoroutine
//   - heap_live: the heap marked live by the last GC (runtime/metrics
//     /gc/heap/live:bytes), steadier than HeapAlloc, which includes garbage
//   - sockets: sockets connected now (EventConnect minus EventDisconnect)
//   - socket_errors, last_socket_error: EventError (a dropped packet, a
//     refused emit, a listener panic)
//   - disconnect_causes: EventDisconnect by cause ("clean" for nil)
func serveDebug(srv *socketio.Server, addr string) {
	var sockets, socketErrors atomic.Int64
	var lastError atomic.Value
	lastError.Store("")
	causes := expvar.NewMap("disconnect_causes")
	srv.On(socketio.EventConnect, func(*socketio.EventPayload) { sockets.Add(1) })
	srv.On(socketio.EventDisconnect, func(ep *socketio.EventPayload) {
		sockets.Add(-1)
		cause := "clean"
		if ep.Error != nil {
			cause = ep.Error.Error()
		}
		causes.Add(cause, 1)
	})
	srv.On(socketio.EventError, func(ep *socketio.EventPayload) {
		socketErrors.Add(1)
		if ep.Error != nil {
			lastError.Store(ep.Error.Error())
		}
	})
	expvar.Publish("goroutines", expvar.Func(func() any { return runtime.NumGoroutine() }))
	expvar.Publish("heap_live", expvar.Func(func() any {
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(s)
		if s[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[0].Value.Uint64()
	}))
	expvar.Publish("sockets", expvar.Func(func() any { return sockets.Load() }))
	expvar.Publish("socket_errors", expvar.Func(func() any { return socketErrors.Load() }))
	expvar.Publish("last_socket_error", expvar.Func(func() any { return lastError.Load() }))
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		log.Fatal(err)
	}
	hs := &http.Server{Handler: http.DefaultServeMux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
}

// writeMemProfile writes a heap profile and prints where the memory is:
// goroutine stacks, heap in use, and the number of goroutines.
func writeMemProfile(path string) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	log.Printf("memstats: goroutines=%d stack_inuse=%d heap_inuse=%d heap_alloc=%d heap_idle=%d heap_released=%d sys=%d gc_sys=%d other_sys=%d mspan_inuse=%d",
		runtime.NumGoroutine(), ms.StackInuse, ms.HeapInuse, ms.HeapAlloc, ms.HeapIdle, ms.HeapReleased, ms.Sys, ms.GCSys, ms.OtherSys, ms.MSpanInuse)
	f, err := os.Create(path)
	if err != nil {
		log.Print(err)
		return
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		log.Print(err)
	}
}
