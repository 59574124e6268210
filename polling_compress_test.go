package socketio

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestAcceptedEncoding(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ header, want string }{
		{"", ""},
		{"gzip", "gzip"},
		{"deflate", "deflate"},
		{"br", ""},
		{"identity", ""},
		{"gzip, deflate, br, zstd", "gzip"},
		{"deflate, gzip", "deflate"}, // equal quality: the first listed
		{"GZIP", "gzip"},
		{"gzip;q=0, deflate", "deflate"},
		{"gzip;q=0.5, deflate;q=0.8", "deflate"},
		{"gzip; q=0.9 , deflate ;q=0.8", "gzip"},
		{"gzip;q=0, deflate;q=0", ""},
		{"*", "gzip"},
		{"*;q=0", ""},
		{"br, *", "gzip"},
		{"*, deflate", "deflate"}, // a listed coding before "*"
		{"gzip;q=0, *", "deflate"},
		{"deflate;q=0.5, *", "gzip"},
		{"gzip;q=bogus, deflate", "deflate"},
		{" , ,gzip", "gzip"},
	} {
		if got := acceptedEncoding(tc.header); got != tc.want {
			t.Errorf("acceptedEncoding(%q) = %q, want %q", tc.header, got, tc.want)
		}
	}
}

// rawHTTP gets url with the Accept-Encoding header as given (the client
// neither adds one nor decodes the answer).
var rawHTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}, Timeout: rawTimeout}

// TestPollingCompression: a polling response of HTTPCompressionThreshold
// bytes or more is compressed with the coding the request accepts, and
// decodes to the payload; a smaller one, one to a client that accepts
// neither gzip nor deflate, and any with compression off are sent as they
// are.
func TestPollingCompression(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("compress me ", 200) // an ack of 2,4xx bytes
	for _, tc := range []struct {
		name      string
		threshold int
		accept    string
		arg       string
		want      string // Content-Encoding
	}{
		{"gzip", 0, "gzip, deflate, br", big, "gzip"},
		{"deflate", 0, "deflate", big, "deflate"},
		{"neither", 0, "br", big, ""},
		{"no header", 0, "", big, ""},
		{"below the threshold", 0, "gzip", "small", ""},
		{"threshold set", 3000, "gzip", big, ""},
		{"off", -1, "gzip", big, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			es := newEchoServer(t, func(c *Config) { c.HTTPCompressionThreshold = tc.threshold })
			sid, _ := connectPolling(t, es.testServer)
			if status, body := mustHTTP(t, http.MethodPost, es.pollURL(sid), `421["echo","`+tc.arg+`"]`); status != http.StatusOK {
				t.Fatalf("POST: %d %q", status, body)
			}
			got, raw := getWithEncoding(t, es.pollURL(sid), tc.accept)
			if got != tc.want {
				t.Fatalf("Content-Encoding %q, want %q", got, tc.want)
			}
			body := decodeBody(t, tc.want, raw)
			if want := `431["` + tc.arg + `"]`; string(body) != want {
				t.Fatalf("body %.80q (%d bytes), want %.80q (%d bytes)", body, len(body), want, len(want))
			}
			if tc.want != "" && len(raw) >= len(body)/4 {
				t.Errorf("%d bytes compressed to %d", len(body), len(raw))
			}
		})
	}
}

// getWithEncoding gets url with the Accept-Encoding header accept (none
// when empty) and returns the response's Content-Encoding and raw body.
func getWithEncoding(t *testing.T, url, accept string) (enc string, raw []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept-Encoding", accept)
	}
	resp, err := rawHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Get("Content-Encoding"), raw
}

// decodeBody decodes a response body in the content coding enc.
func decodeBody(t *testing.T, enc string, raw []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch enc {
	case "":
		return raw
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(raw))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(raw))
	}
	if err != nil {
		t.Fatalf("%s body: %v", enc, err)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s body: %v", enc, err)
	}
	return body
}

// BenchmarkPollingCompress: gzip of a polling payload of chat messages
// (BestSpeed, pooled writers).
func BenchmarkPollingCompress(b *testing.B) {
	for _, size := range []int{2 << 10, 100 << 10} {
		var payload []byte
		for i := 0; len(payload) < size; i++ {
			payload = append(payload, `42["chat",{"user":"user`+itoa(i%50)+`","text":"hello there, message `+itoa(i)+`"}]`+"\x1e"...)
		}
		b.Run(itoa(size>>10)+"KiB", func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			var out []byte
			for i := 0; i < b.N; i++ {
				out, _ = compress(payload, encodingGzip)
			}
			b.ReportMetric(float64(len(out))/float64(len(payload)), "ratio")
		})
	}
}
