package socketio

import (
	"bufio"
	"io"
	"net"
	"reflect"
	"sync/atomic"
	"unsafe"
)

// fasthttp reads each request through a pooled bufio.Reader (the
// server's ReadBufferSize, 4 KiB by default). When a handler hijacks the
// connection, the hijacked net.Conn reads through that reader, so bytes
// that arrived with the request are not lost. The websocket middleware
// sets Server.KeepHijackedConns, and then fasthttp never takes the reader
// back: it stays with the connection, 4 KiB per WebSocket for the
// connection's whole life, although nothing is read through it once it is
// empty. (With Server.ReduceMemoryUsage fasthttp releases the reader
// before the upgrade and the hijacked connection reads the socket
// directly.)
//
// dropHijackBuffer does what ReduceMemoryUsage does, for one connection
// whose reader is empty: it points the hijacked connection at the socket,
// and the reader becomes garbage. fasthttp offers no API for it, so the
// field is found by reflection, checked for the layout this was written
// against, and left alone when anything differs: a fasthttp release that
// changes it costs the 4 KiB again, nothing else.

// hijackReaderField is where fasthttp's hijacked connection keeps its
// reader: the offset of an io.Reader field in the struct hijackType
// points to. ok is false when the type is not as expected.
type hijackReaderField struct {
	hijackType reflect.Type
	offset     uintptr
	ok         bool
}

// hijackField caches the field once found.
var hijackField atomic.Pointer[hijackReaderField]

// lookupHijackReaderField inspects t, the dynamic type of a hijacked
// connection: *fasthttp.hijackConn with a field "r" of type io.Reader.
func lookupHijackReaderField(t reflect.Type) hijackReaderField {
	f := hijackReaderField{hijackType: t}
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return f
	}
	st := t.Elem()
	if st.PkgPath() != "github.com/valyala/fasthttp" || st.Name() != "hijackConn" {
		return f
	}
	sf, found := st.FieldByName("r")
	if !found || len(sf.Index) != 1 || sf.Type != reflect.TypeFor[io.Reader]() {
		return f
	}
	f.offset, f.ok = sf.Offset, true
	return f
}

// hijackReaderSlot returns the address of hj's reader field, or nil when
// hj is not fasthttp's hijacked connection as this package knows it.
func hijackReaderSlot(hj net.Conn) *io.Reader {
	t := reflect.TypeOf(hj)
	f := hijackField.Load()
	if f == nil || t != f.hijackType {
		found := lookupHijackReaderField(t)
		if !found.ok {
			return nil
		}
		f = &found
		hijackField.Store(f)
	}
	p := reflect.ValueOf(hj).UnsafePointer()
	if p == nil {
		return nil
	}
	return (*io.Reader)(unsafe.Add(p, f.offset))
}

// dropHijackBuffer lets fasthttp's request reader go when it holds no
// bytes: hj then reads raw, the socket underneath it, directly. It
// reports whether hj now reads raw. It must not run while anything reads
// through hj.
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
	case net.Conn:
		return r == raw
	default:
		return false
	}
	*slot = raw
	return true
}
