package socketio

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
)

// CORSConfig is the cross-origin policy of a server. One allow-list
// applies to the polling responses and to the WebSocket upgrade.
//
// The zero value is the Node server's default: no CORS headers are sent
// (browsers then keep polling same-origin) and the WebSocket upgrade is
// accepted from any origin. Once AllowOrigins or AllowOriginFunc is set, a
// request from an origin that is neither listed nor the server's own is
// refused with 403 on both transports, and the log line and response body
// name the origin and this setting. Requests without an Origin header
// (non-browser clients) are always accepted.
type CORSConfig struct {
	// AllowOrigins lists allowed origins: exact ("https://app.example.com"),
	// a subdomain wildcard ("https://*.example.com"), or "*" for any.
	AllowOrigins []string
	// AllowOriginFunc, when set, decides for origins AllowOrigins does not
	// list.
	AllowOriginFunc func(origin string) bool
	// AllowCredentials lets browsers send cookies and the Authorization
	// header (withCredentials on the client). The allowed origin is then
	// echoed, never "*".
	AllowCredentials bool
	// AllowHeaders lists the request headers a preflight allows. Nil echoes
	// the headers the browser asks for, each by name (a "*" would not cover
	// Authorization).
	AllowHeaders []string
	// MaxAge is how long browsers may cache a preflight answer.
	MaxAge time.Duration
}

// CookieConfig is the cookie set on the handshake response, carrying the
// session id, so that a load balancer can pin a client to one node
// ("sticky sessions"), which polling needs when several nodes serve one
// path.
type CookieConfig struct {
	// Name defaults to "io".
	Name string
	// Path defaults to "/".
	Path string
	// HTTPOnly hides the cookie from scripts; the Node server sets it.
	HTTPOnly bool
	// SameSite is "Lax" (the default), "Strict" or "None".
	SameSite string
	// Secure sends the cookie over HTTPS only (required with SameSite None).
	Secure bool
}

// ErrOriginNotAllowed is the reason a request from a refused origin gets
// 403.
var ErrOriginNotAllowed = errors.New("socketio: origin not allowed")

// Package-level settings of the default server's HTTP policy, read by New.
var (
	// CORS is the default server's cross-origin policy (see CORSConfig).
	CORS CORSConfig
	// AllowRequest, when set, runs before a session is created (the
	// handshake request, on either transport); an error refuses it with
	// 403 (or the status of a *fiber.Error) and the error's text.
	AllowRequest func(c fiber.Ctx) error
	// SessionCookie, when set, is sent on the handshake response.
	SessionCookie *CookieConfig
)

// corsActive reports whether an allow-list is configured.
func (c *CORSConfig) active() bool { return len(c.AllowOrigins) > 0 || c.AllowOriginFunc != nil }

// originAllowed reports whether origin may use the server; host is the
// request's Host header (a same-origin request is always allowed).
func (c *CORSConfig) originAllowed(origin, host string) bool {
	if origin == "" || !c.active() {
		return true
	}
	if originHost(origin) == strings.ToLower(host) {
		return true
	}
	for _, o := range c.AllowOrigins {
		if matchOrigin(o, origin) {
			return true
		}
	}
	return c.AllowOriginFunc != nil && c.AllowOriginFunc(origin)
}

// originHost returns the lower-cased host[:port] of an origin.
func originHost(origin string) string {
	if i := strings.Index(origin, "://"); i >= 0 {
		origin = origin[i+3:]
	}
	return strings.ToLower(origin)
}

// matchOrigin matches an origin against one allow-list entry: "*", an
// exact origin, or a scheme with a "*." subdomain wildcard.
func matchOrigin(pattern, origin string) bool {
	if pattern == "*" {
		return true
	}
	if strings.EqualFold(pattern, origin) {
		return true
	}
	i := strings.Index(pattern, "://*.")
	if i < 0 {
		return false
	}
	scheme, suffix := pattern[:i+3], pattern[i+4:] // suffix keeps its dot
	if len(origin) <= len(scheme)+len(suffix) || !strings.EqualFold(origin[:len(scheme)], scheme) {
		return false
	}
	rest := origin[len(scheme):]
	if !strings.HasSuffix(strings.ToLower(rest), strings.ToLower(suffix)) {
		return false
	}
	sub := rest[:len(rest)-len(suffix)]
	return sub != "" && !strings.ContainsAny(sub, "/:@?#")
}

// applyHTTPPolicy runs the origin check, answers preflights and sets the
// CORS headers. It returns done=true when it has answered the request.
func (e *engine) applyHTTPPolicy(c fiber.Ctx) (done bool, err error) {
	cors := &e.cfg.CORS
	origin := c.Get(fiber.HeaderOrigin)
	if !e.originAllowed(origin, c.Host()) {
		e.cfg.log("warn", "request refused: origin not allowed; add it to CORS.AllowOrigins",
			"origin", origin, "remote", c.IP(), "path", c.Path())
		e.reportConnError(c, codeForbidden, fiber.StatusForbidden, "origin", origin, "reason", "origin not allowed")
		c.Status(fiber.StatusForbidden)
		return true, c.JSON(fiber.Map{
			"code":    codeForbidden,
			"message": engineErrorMessages[codeForbidden],
			"reason":  "origin " + strconv.Quote(origin) + " is not allowed: add it to the server's CORS.AllowOrigins",
		})
	}
	if origin != "" && cors.active() {
		h := &c.RequestCtx().Response.Header
		if cors.AllowCredentials || !containsStar(cors.AllowOrigins) {
			h.Set(fiber.HeaderAccessControlAllowOrigin, origin)
			h.Add(fiber.HeaderVary, fiber.HeaderOrigin)
		} else {
			h.Set(fiber.HeaderAccessControlAllowOrigin, "*")
		}
		if cors.AllowCredentials {
			h.Set(fiber.HeaderAccessControlAllowCredentials, "true")
		}
	}
	if c.Method() != fiber.MethodOptions {
		return false, nil
	}
	if origin != "" && cors.active() {
		h := &c.RequestCtx().Response.Header
		h.Set(fiber.HeaderAccessControlAllowMethods, "GET, POST, OPTIONS")
		if cors.AllowHeaders != nil {
			h.Set(fiber.HeaderAccessControlAllowHeaders, strings.Join(cors.AllowHeaders, ", "))
		} else if req := c.Get(fiber.HeaderAccessControlRequestHeaders); req != "" {
			h.Set(fiber.HeaderAccessControlAllowHeaders, req)
			h.Add(fiber.HeaderVary, fiber.HeaderAccessControlRequestHeaders)
		}
		if cors.MaxAge > 0 {
			h.Set(fiber.HeaderAccessControlMaxAge, strconv.Itoa(int(cors.MaxAge.Seconds())))
		}
	}
	return true, c.SendStatus(fiber.StatusNoContent)
}

func containsStar(list []string) bool {
	for _, o := range list {
		if o == "*" {
			return true
		}
	}
	return false
}

// originAllowed is CORSConfig.originAllowed with a panic in
// AllowOriginFunc recovered: the origin is refused and the panic logged,
// and the server goes on.
func (e *engine) originAllowed(origin, host string) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			e.cfg.log("error", "CORS.AllowOriginFunc panicked; origin refused", "origin", origin, "panic", r)
			ok = false
		}
	}()
	return e.cfg.CORS.originAllowed(origin, host)
}

// ErrAllowRequestPanic is the reason a handshake is refused when the
// AllowRequest hook panicked (the panic is logged; the server goes on).
var ErrAllowRequestPanic = errors.New("socketio: AllowRequest panicked")

// callAllowRequest runs the AllowRequest hook; a panic refuses the
// handshake with ErrAllowRequestPanic and is logged.
func (e *engine) callAllowRequest(c fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e.cfg.log("error", "AllowRequest panicked; handshake refused", "remote", c.IP(), "panic", r)
			err = ErrAllowRequestPanic
		}
	}()
	return e.cfg.AllowRequest(c)
}

// allowHandshake runs the AllowRequest hook before a session is created.
func (e *engine) allowHandshake(c fiber.Ctx) (done bool, err error) {
	if e.cfg.AllowRequest == nil {
		return false, nil
	}
	herr := e.callAllowRequest(c)
	if herr == nil {
		return false, nil
	}
	status := fiber.StatusForbidden
	var fe *fiber.Error
	if errors.As(herr, &fe) {
		status = fe.Code
	}
	e.cfg.log("warn", "handshake refused by AllowRequest", "remote", c.IP(), "error", herr.Error())
	e.reportConnError(c, codeForbidden, status, "reason", "refused by AllowRequest", "error", herr)
	c.Status(status)
	return true, c.JSON(fiber.Map{"code": codeForbidden, "message": engineErrorMessages[codeForbidden], "reason": herr.Error()})
}

// setSessionCookie adds the sticky-session cookie to the handshake
// response.
func (e *engine) setSessionCookie(c fiber.Ctx, sid string) {
	cc := e.cfg.Cookie
	if cc == nil {
		return
	}
	ck := &http.Cookie{Name: cc.Name, Value: sid, Path: cc.Path, HttpOnly: cc.HTTPOnly, Secure: cc.Secure}
	if ck.Name == "" {
		ck.Name = "io"
	}
	if ck.Path == "" {
		ck.Path = "/"
	}
	switch strings.ToLower(cc.SameSite) {
	case "strict":
		ck.SameSite = http.SameSiteStrictMode
	case "none":
		ck.SameSite = http.SameSiteNoneMode
	default:
		ck.SameSite = http.SameSiteLaxMode
	}
	c.RequestCtx().Response.Header.Add(fiber.HeaderSetCookie, ck.String())
}
