package socketio

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMESnippetsCompile type-checks the Go code blocks of README.md
// against this package, so the README never shows an API that does not
// exist: a block that is a whole program is checked as one; the others
// are fragments, checked as the body of a function (or, when they start
// with "func", as top-level declarations) in a package importing what the
// README's snippets use. The block of the Redis adapter, which lives in
// its own module, is checked by the adapter's example instead.
func TestREADMESnippetsCompile(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 5 {
		t.Fatalf("README.md has %d Go blocks; the pattern no longer finds them", len(blocks))
	}
	dir, err := os.MkdirTemp("testdata", "readme-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	var fragments strings.Builder
	fragments.WriteString(`package snippets

import (
	"log"
	"os"
	"regexp"
	"time"

	"github.com/fiber-socketio/socketio"
	"github.com/gofiber/contrib/v3/websocket"
	"github.com/gofiber/fiber/v3"
)

var (
	_ = websocket.Config{}
	_ = log.Println
	_ = os.DirFS
	_ = regexp.MustCompile
	_ = time.Second
	_ fiber.Ctx
)

`)
	checked := 0
	for i, b := range blocks {
		code := b[1]
		switch {
		case strings.Contains(code, "redisadapter."), strings.Contains(code, "admin.Instrument"):
			continue // other modules: their Example functions compile the same calls
		case strings.HasPrefix(code, "package main"):
			sub := filepath.Join(dir, fmt.Sprintf("main%d", i))
			if err := os.Mkdir(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(sub, "main.go"), []byte(code), 0o644); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(code, "func "):
			fmt.Fprintf(&fragments, "// README block %d\n%s\n", i, code)
		default:
			fmt.Fprintf(&fragments, "// README block %d\nfunc block%d(srv *socketio.Server) {\n%s}\n\n", i, i, code)
		}
		checked++
	}
	if err := os.WriteFile(filepath.Join(dir, "snippets.go"), []byte(fragments.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "vet", "./"+filepath.ToSlash(dir)+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("README.md's Go blocks do not compile (%d checked): %v\n%s\n%s", checked, err, out, fragments.String())
	}
}
