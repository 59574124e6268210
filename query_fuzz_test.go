package socketio

import (
	"net/url"
	"testing"

	"github.com/valyala/fasthttp"
)

// engineQueryOf parses a raw query string as the endpoint does.
func engineQueryOf(raw string, polling bool) (engineQuery, int) {
	var args fasthttp.Args
	args.Parse(raw)
	return parseEngineQuery(&args, polling, true, false)
}

// FuzzParseEngineQuery checks the handshake query parsing
// (parseEngineQuery) on any query string: it never panics; it accepts a
// query only with exactly EIO=4 and an enabled transport, refuses every
// other one with the error code of the first check that fails (transport,
// then version, as the Node server does); enabling polling never refuses a
// query that was accepted; and an accepted query round-trips: the values
// parsed, encoded again and followed by the client's cache-buster "t", an
// EIO 3 "b64" and a parameter of the application (none of which may
// override them), parse to the same values. Seeds are checked in under
// testdata/fuzz/FuzzParseEngineQuery.
func FuzzParseEngineQuery(f *testing.F) {
	for _, seed := range []struct {
		raw, extra string
		polling    bool
	}{
		{"EIO=4&transport=polling&t=N8hyd6w", "x", true},
		{"EIO=4&transport=polling&sid=lv_VI97HAXpY6yYWAAAC&t=N8hyd7H", "", true},
		{"EIO=4&transport=websocket&sid=lv_VI97HAXpY6yYWAAAC", "", false},
		{"EIO=4&transport=websocket", "token=abc", false},
		{"EIO=3&transport=polling&b64=1", "", true},
		{"EIO=4&transport=polling", "", false},
		{"transport=flashsocket&EIO=4", "", true},
		{"", "", true},
		{"EIO=4&EIO=3&transport=websocket&transport=polling", "", true},
		{"eio=4&Transport=websocket", "", true},
		{"EIO=+4&transport=websocket%00", "", true},
		{"EIO=%34&transport=web%73ocket&sid=a+b%2Bc%zz%", "sid=other", true},
		{"EIO=4;transport=polling", "", true},
		{"&&=&EIO&transport=polling&EIO=4", "=", true},
		{"EIO=4&transport=polling&sid=%ff%fe%00\x7f", "EIO=3", true},
	} {
		f.Add(seed.raw, seed.extra, seed.polling)
	}
	f.Fuzz(func(t *testing.T, raw, extra string, polling bool) {
		q, code := engineQueryOf(raw, polling)
		transportOK := q.transport == "websocket" || (polling && q.transport == "polling")
		switch code {
		case queryOK:
			if !transportOK || q.eio != "4" {
				t.Fatalf("%q accepted with EIO %q, transport %q (polling %v)", raw, q.eio, q.transport, polling)
			}
		case codeUnknownTransport:
			if transportOK {
				t.Fatalf("%q: transport %q refused (polling %v)", raw, q.transport, polling)
			}
		case codeUnsupportedVersion:
			if !transportOK || q.eio == "4" {
				t.Fatalf("%q: version %q refused before transport %q (polling %v)", raw, q.eio, q.transport, polling)
			}
		default:
			t.Fatalf("%q: code %d", raw, code)
		}
		if code != queryOK {
			return
		}
		if !polling {
			if q2, code2 := engineQueryOf(raw, true); code2 != queryOK || q2 != q {
				t.Fatalf("%q: accepted as %+v without polling, %+v code %d with it", raw, q, q2, code2)
			}
		}
		// An empty sid is sent too ("sid="), so that a sid in extra does
		// not turn the handshake into a request for a session.
		again := url.Values{"EIO": {q.eio}, "transport": {q.transport}, "sid": {q.sid}}
		tail := url.Values{"t": {extra}, "b64": {"1"}, "app": {extra}}
		encoded := again.Encode() + "&" + tail.Encode() + "&" + extra
		if q2, code2 := engineQueryOf(encoded, polling); code2 != queryOK || q2 != q {
			t.Fatalf("%q parsed to %+v; encoded again as %q it parses to %+v (code %d)", raw, q, encoded, q2, code2)
		}
	})
}
