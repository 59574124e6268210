package socketio

import (
	"reflect"
	"strings"

	"github.com/gofiber/contrib/v3/websocket"
	"github.com/gofiber/fiber/v3"
)

// requestInfo is what a socket keeps of the request that opened its
// session: fasthttp recycles the request context, so polling sessions take
// a copy at the handshake; WebSocket sessions read the copy the websocket
// middleware made.
type requestInfo struct {
	locals  map[string]any
	params  map[string]string
	query   map[string]string
	cookies map[string]string
	headers map[string]string
	ip      string
	conn    *websocket.Conn
	// url is the request URI (path and query); secure is set on TLS.
	url    string
	secure bool
}

func requestFromCtx(c fiber.Ctx) *requestInfo {
	r := &requestInfo{
		locals:  map[string]any{},
		params:  map[string]string{},
		query:   map[string]string{},
		cookies: map[string]string{},
		headers: map[string]string{},
		ip:      c.IP(),
	}
	rc := c.RequestCtx()
	r.url, r.secure = string(rc.RequestURI()), rc.IsTLS()
	rc.VisitUserValues(func(k []byte, v any) { r.locals[string(k)] = v })
	for _, name := range c.Route().Params {
		r.params[name] = c.Params(name)
	}
	for k, v := range rc.QueryArgs().All() {
		r.query[string(k)] = string(v)
	}
	for k, v := range rc.Request.Header.Cookies() {
		r.cookies[string(k)] = string(v)
	}
	for k, v := range rc.Request.Header.All() {
		r.headers[string(k)] = string(v)
	}
	return r
}

// requestFromConn describes the upgrade request of a session that starts
// on WebSocket: the middleware's Conn keeps the rest; u (nil in tests that
// upgrade without the endpoint) carries the URI and TLS state.
func requestFromConn(conn *websocket.Conn, u *wsUpgrade) *requestInfo {
	r := &requestInfo{conn: conn, ip: conn.IP()}
	if u != nil {
		r.url, r.secure = u.url, u.secure
	}
	return r
}

func lookupDefault(m map[string]string, key string, def []string) string {
	if v, ok := m[key]; ok {
		return v
	}
	if len(def) > 0 {
		return def[0]
	}
	return ""
}

// Local returns a request local.
func (r *requestInfo) Local(key string) any {
	if r.conn != nil {
		return r.conn.Locals(key)
	}
	return r.locals[key]
}

// Param returns a route parameter.
func (r *requestInfo) Param(key string, def ...string) string {
	if r.conn != nil {
		return r.conn.Params(key, def...)
	}
	return lookupDefault(r.params, key, def)
}

// Query returns a query-string value.
func (r *requestInfo) Query(key string, def ...string) string {
	if r.conn != nil {
		return r.conn.Query(key, def...)
	}
	return lookupDefault(r.query, key, def)
}

// Cookie returns a cookie value.
func (r *requestInfo) Cookie(key string, def ...string) string {
	if r.conn != nil {
		return r.conn.Cookies(key, def...)
	}
	return lookupDefault(r.cookies, key, def)
}

// Header returns a request header (case-insensitive).
func (r *requestInfo) Header(key string, def ...string) string {
	if r.conn != nil {
		return r.conn.Headers(key, def...)
	}
	for k, v := range r.headers {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	if len(def) > 0 {
		return def[0]
	}
	return ""
}

// stringMapType is the type of the request copies the websocket middleware
// keeps in its Conn.
var stringMapType = reflect.TypeOf(map[string]string(nil))

// connCopy returns a copy of the map the websocket middleware filled from
// the upgrade request into conn's unexported field name ("headers",
// "queries"): its Conn has accessors by key only, and a socket's Handshake
// lists them all. nil when the field is not there as this package knows it.
// The middleware writes these maps before the upgrade only.
func connCopy(conn *websocket.Conn, name string) map[string]string {
	if conn == nil {
		return nil
	}
	f := reflect.ValueOf(conn).Elem().FieldByName(name)
	if !f.IsValid() || f.Type() != stringMapType || f.IsNil() {
		return nil
	}
	m := make(map[string]string, f.Len())
	for it := f.MapRange(); it.Next(); {
		m[it.Key().String()] = it.Value().String()
	}
	return m
}
