package socketio

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v3"
)

// HTTPCompressionThreshold is the smallest polling response body, in bytes,
// that is compressed, with gzip or deflate as the request's Accept-Encoding
// allows (browsers send it; the Node client does not), as the Node server's
// httpCompression option does, with the same default threshold: 1024. Zero
// selects the default; a negative value turns compression off. A response
// made only of packets emitted with Compress(false) is not compressed.
// WebSocket messages are compressed when the connection negotiated
// permessage-deflate (see PerMessageDeflateThreshold).
var HTTPCompressionThreshold = 1024

// noCompression is the threshold of a payload never compressed (a NOOP or
// a CLOSE).
const noCompression = -1

// The encoders compress at gzip.BestSpeed (the Node server uses zlib's
// default level): on chat-like JSON it is 2 to 3 times faster than the
// default level for a size within 10 % of it.
var (
	gzipWriters = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
		return w
	}}
	zlibWriters = sync.Pool{New: func() any {
		w, _ := zlib.NewWriterLevel(io.Discard, zlib.BestSpeed)
		return w
	}}
)

// Content codings of a polling response.
const (
	encodingGzip    = "gzip"
	encodingDeflate = "deflate"
)

// sendPayload sends a polling response body, compressed when it reaches
// threshold (not negative) and the client accepts gzip or deflate.
func sendPayload(c fiber.Ctx, body []byte, threshold int) error {
	return sendPayloadAs(c, body, threshold, "text/plain; charset=UTF-8")
}

// sendPayloadAs is sendPayload with a content type of its own.
func sendPayloadAs(c fiber.Ctx, body []byte, threshold int, contentType string) error {
	c.Set(fiber.HeaderContentType, contentType)
	if threshold < 0 || len(body) < threshold {
		return c.Send(body)
	}
	enc := acceptedEncoding(c.Get(fiber.HeaderAcceptEncoding))
	if enc == "" {
		return c.Send(body)
	}
	out, err := compress(body, enc)
	if err != nil {
		return c.Send(body)
	}
	c.Set(fiber.HeaderContentEncoding, enc)
	return c.Send(out)
}

// compress returns body in the content coding enc (gzip, or deflate: the
// zlib format, RFC 9110 section 8.4.1.2).
func compress(body []byte, enc string) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(body)/4 + 64)
	var err error
	if enc == encodingGzip {
		w := gzipWriters.Get().(*gzip.Writer)
		w.Reset(&out)
		if _, err = w.Write(body); err == nil {
			err = w.Close()
		}
		w.Reset(io.Discard) // let go of out
		gzipWriters.Put(w)
	} else {
		w := zlibWriters.Get().(*zlib.Writer)
		w.Reset(&out)
		if _, err = w.Write(body); err == nil {
			err = w.Close()
		}
		w.Reset(io.Discard)
		zlibWriters.Put(w)
	}
	return out.Bytes(), err
}

// acceptedEncoding picks gzip or deflate from an Accept-Encoding header
// value as the Node server does (its negotiator): the one of higher
// quality; on a tie an explicit entry before "*", then the one listed
// first, then gzip. "" when neither is acceptable (absent, or q=0).
func acceptedEncoding(header string) string {
	if header == "" {
		return ""
	}
	gz, df, star := codingPref{q: -1}, codingPref{q: -1}, codingPref{q: -1}
	for i := 0; len(header) > 0; i++ {
		var entry string
		entry, header, _ = strings.Cut(header, ",")
		name, params, _ := strings.Cut(entry, ";")
		pref := codingPref{q: qValue(params), exact: true, index: i}
		switch name = strings.TrimSpace(name); {
		case strings.EqualFold(name, encodingGzip):
			gz = pref
		case strings.EqualFold(name, encodingDeflate):
			df = pref
		case name == "*":
			pref.exact = false
			star = pref
		}
	}
	if gz.q < 0 {
		gz = star
	}
	if df.q < 0 {
		df = star
	}
	switch {
	case gz.q > 0 && !df.before(gz):
		return encodingGzip
	case df.q > 0:
		return encodingDeflate
	}
	return ""
}

// codingPref is a content coding's place in an Accept-Encoding header.
type codingPref struct {
	q     float64 // quality; negative when not listed
	exact bool    // listed by name, not through "*"
	index int     // position in the header
}

// before reports whether p is preferred to o.
func (p codingPref) before(o codingPref) bool {
	switch {
	case p.q != o.q:
		return p.q > o.q
	case p.exact != o.exact:
		return p.exact
	}
	return p.index < o.index
}

// qValue is the quality given by the parameters of an Accept-Encoding
// entry (";q=0.5"): 1 when absent, 0 when unreadable.
func qValue(params string) float64 {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || q < 0 {
				return 0
			}
			return q
		}
	}
	return 1
}
