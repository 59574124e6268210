package socketio

import (
	"bufio"
	"io"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/valyala/fasthttp"
)

// fasthttp reads each request through a pooled bufio.Reader (the
// server's ReadBufferSize, 4 KiB by default). When a handler hijacks the
// connection, the hijacked net.Conn reads through that reader, so bytes
// that arrived with the request are not lost. The websocket middleware
// sets Server.KeepHijackedConns, and then fasthttp never takes the reader
// back: it stays with the connection, 4 KiB per WebSocket for the
// connection's whole life although nothing is read through it once it is
// empty, and every upgrade allocates a new one (measured: 43 % of the
// bytes a WebSocket handshake allocates). With Server.ReduceMemoryUsage
// fasthttp puts the reader back in its pool before the upgrade, and the
// hijacked connection reads the socket directly.
//
// dropHijackBuffer does the same for one connection whose reader is
// empty: it points the hijacked connection at the socket and puts the
// reader back in the server's pool, where the next request takes it.
// fasthttp offers no API for it, so the fields are found by reflection,
// checked for the layout this was written against, and left alone when
// anything differs: a fasthttp release that changes them costs the 4 KiB
// again, nothing else.

// hijackFields is where fasthttp's hijacked connection keeps its reader
// and its server: the offsets of an io.Reader field and a *fasthttp.Server
// field in the struct hijackType points to, and of the server's reader
// pool. ok is false when the type is not as expected; pool is false when
// the readers cannot be given back (they are then left to the collector).
type hijackFields struct {
	hijackType   reflect.Type
	readerOffset uintptr
	serverOffset uintptr
	poolOffset   uintptr
	ok, pool     bool
}

// hijackLayout caches the fields once found.
var hijackLayout atomic.Pointer[hijackFields]

// fieldOffset returns the offset of st's direct field name when its type
// is want.
func fieldOffset(st reflect.Type, name string, want reflect.Type) (uintptr, bool) {
	sf, found := st.FieldByName(name)
	if !found || len(sf.Index) != 1 || sf.Type != want {
		return 0, false
	}
	return sf.Offset, true
}

// lookupHijackFields inspects t, the dynamic type of a hijacked
// connection: *fasthttp.hijackConn with a field "r" of type io.Reader and
// a field "s" of type *fasthttp.Server, whose field "readerPool" is the
// sync.Pool of request readers.
func lookupHijackFields(t reflect.Type) hijackFields {
	f := hijackFields{hijackType: t}
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return f
	}
	st := t.Elem()
	if st.PkgPath() != "github.com/valyala/fasthttp" || st.Name() != "hijackConn" {
		return f
	}
	f.readerOffset, f.ok = fieldOffset(st, "r", reflect.TypeFor[io.Reader]())
	if !f.ok {
		return f
	}
	var serverOK, poolOK bool
	f.serverOffset, serverOK = fieldOffset(st, "s", reflect.TypeFor[*fasthttp.Server]())
	f.poolOffset, poolOK = fieldOffset(reflect.TypeFor[fasthttp.Server](), "readerPool", reflect.TypeFor[sync.Pool]())
	f.pool = serverOK && poolOK
	return f
}

// hijackFieldsOf returns the layout of hj's type, or nil when hj is not
// fasthttp's hijacked connection as this package knows it.
func hijackFieldsOf(hj net.Conn) *hijackFields {
	t := reflect.TypeOf(hj)
	f := hijackLayout.Load()
	if f == nil || t != f.hijackType {
		found := lookupHijackFields(t)
		if !found.ok {
			return nil
		}
		f = &found
		hijackLayout.Store(f)
	}
	return f
}

// hijackReaderSlot returns the address of hj's reader field, or nil when
// hj is not fasthttp's hijacked connection as this package knows it.
func hijackReaderSlot(hj net.Conn) *io.Reader {
	f := hijackFieldsOf(hj)
	if f == nil {
		return nil
	}
	p := reflect.ValueOf(hj).UnsafePointer()
	if p == nil {
		return nil
	}
	return (*io.Reader)(unsafe.Add(p, f.readerOffset))
}

// hijackReaderPool returns the reader pool of hj's server, or nil. It is
// nil too when the server does not keep hijacked connections: fasthttp
// then puts the reader back itself when the handler returns, and a reader
// put back twice would be handed to two connections.
func hijackReaderPool(hj net.Conn) *sync.Pool {
	f := hijackFieldsOf(hj)
	if f == nil || !f.pool {
		return nil
	}
	p := reflect.ValueOf(hj).UnsafePointer()
	if p == nil {
		return nil
	}
	srv := *(**fasthttp.Server)(unsafe.Add(p, f.serverOffset))
	if srv == nil || !srv.KeepHijackedConns {
		return nil
	}
	return (*sync.Pool)(unsafe.Add(unsafe.Pointer(srv), f.poolOffset))
}

// dropHijackBuffer lets fasthttp's request reader go when it holds no
// bytes: hj then reads raw, the socket underneath it, directly, and the
// reader goes back to the server's pool. It reports whether hj now reads
// raw. It must not run while anything reads through hj.
func dropHijackBuffer(hj, raw net.Conn) bool {
	slot := hijackReaderSlot(hj)
	if slot == nil {
		return false
	}
	switch r := (*slot).(type) {
	case *bufio.Reader:
		if r.Buffered() != 0 {
			return false
		}
		*slot = raw
		if pool := hijackReaderPool(hj); pool != nil {
			r.Reset(nil)
			pool.Put(r)
		}
		return true
	case net.Conn:
		return r == raw
	default:
		return false
	}
}
