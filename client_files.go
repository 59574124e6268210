package socketio

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"path"
	"sync"

	"github.com/gofiber/fiber/v3"
)

// clientFileNames are the files of the socket.io-client bundle the Node
// server serves next to its endpoint (serveClient): /socket.io/socket.io.js
// and the others.
var clientFileNames = map[string]bool{
	"socket.io.esm.min.js":         true,
	"socket.io.esm.min.js.map":     true,
	"socket.io.js":                 true,
	"socket.io.js.map":             true,
	"socket.io.min.js":             true,
	"socket.io.min.js.map":         true,
	"socket.io.msgpack.min.js":     true,
	"socket.io.msgpack.min.js.map": true,
}

// clientFiles serves Config.ClientFiles, as Node's serveClient does: each
// file read once, its compressed forms made once.
type clientFiles struct {
	fsys    fs.FS
	version string
	mu      sync.Mutex
	cache   map[string]*clientFile // by name and content coding ("" plain)
}

type clientFile struct {
	body []byte
	etag string
	enc  string // content coding of body, "" plain
}

func newClientFiles(fsys fs.FS, version string) *clientFiles {
	if fsys == nil {
		return nil
	}
	return &clientFiles{fsys: fsys, version: version, cache: map[string]*clientFile{}}
}

// clientFileName returns the client file a request path names, "" when
// it names none.
func clientFileName(p string) string {
	name := path.Base(p)
	if !clientFileNames[name] {
		return ""
	}
	return name
}

// load returns the file name in content coding enc ("" plain, gzip,
// deflate); ok is false when the file system has no such file.
func (cf *clientFiles) load(name, enc string) (f *clientFile, ok bool) {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	if f := cf.cache[name+"\x00"+enc]; f != nil {
		return f, true
	}
	plain := cf.cache[name+"\x00"]
	if plain == nil {
		body, err := fs.ReadFile(cf.fsys, name)
		if err != nil {
			return nil, false
		}
		etag := cf.version
		if etag == "" {
			sum := sha256.Sum256(body)
			etag = hex.EncodeToString(sum[:8])
		}
		plain = &clientFile{body: body, etag: `"` + etag + `"`}
		cf.cache[name+"\x00"] = plain
	}
	if enc == "" {
		return plain, true
	}
	out, err := compress(plain.body, enc)
	if err != nil {
		return plain, true
	}
	f = &clientFile{body: out, etag: plain.etag, enc: enc}
	cf.cache[name+"\x00"+enc] = f
	return f, true
}

// serveClientFile answers a GET for a client file, after the origin
// policy (a module script is fetched with CORS): 304 when the client has
// this version (If-None-Match, weak or strong), else the file, compressed
// when the client accepts gzip or deflate, with Node's headers.
func (e *engine) serveClientFile(c fiber.Ctx, name string) error {
	if done, err := e.applyHTTPPolicy(c); done {
		return err
	}
	enc := acceptedEncoding(c.Get(fiber.HeaderAcceptEncoding))
	f, ok := e.clientFiles.load(name, enc)
	if !ok {
		return c.SendStatus(fiber.StatusNotFound)
	}
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm == f.etag || inm == "W/"+f.etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=0")
	c.Set(fiber.HeaderETag, f.etag)
	if path.Ext(name) == ".map" {
		c.Set(fiber.HeaderContentType, "application/json; charset=utf-8")
	} else {
		c.Set(fiber.HeaderContentType, "application/javascript; charset=utf-8")
	}
	if f.enc != "" {
		c.Set(fiber.HeaderContentEncoding, f.enc)
	}
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	return c.Send(f.body)
}
