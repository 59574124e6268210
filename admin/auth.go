package admin

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"

	"github.com/fiber-socketio/socketio"
	"golang.org/x/crypto/bcrypt"
)

// ErrInvalidCredentials is the error a UI that failed to log in gets (its
// connect_error message is "invalid credentials", as with Node's).
var ErrInvalidCredentials = errors.New("invalid credentials")

// Store keeps the session ids of the UIs that logged in, as Node's
// InMemoryStore and RedisStore do. Implement it on a shared database when
// several servers with Auth are behind one UI.
type Store interface {
	// SessionExists reports whether id was saved (and has not expired).
	SessionExists(id string) (bool, error)
	// SaveSession saves id.
	SaveSession(id string) error
}

// MemoryStore is a Store in this process's memory, the default.
type MemoryStore struct {
	mu       sync.Mutex
	sessions map[string]struct{}
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{sessions: map[string]struct{}{}} }

// SessionExists reports whether id was saved.
func (m *MemoryStore) SessionExists(id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.sessions[id]
	return ok, nil
}

// SaveSession saves id.
func (m *MemoryStore) SaveSession(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[id] = struct{}{}
	return nil
}

// validHash reports whether h is a bcrypt hash.
func validHash(h string) bool {
	_, err := bcrypt.Cost([]byte(h))
	return err == nil
}

// adminAuth is the auth payload of the UI's CONNECT.
type adminAuth struct {
	SessionID string `json:"sessionId"`
	Username  string `json:"username"`
	Password  string `json:"password"`
}

// authenticate is the admin namespace's middleware: a saved session id, or
// the username and password, let the UI in.
func (in *Instrumentation) authenticate(kws *socketio.Websocket, next func(error)) {
	var auth adminAuth
	_ = json.Unmarshal(kws.HandshakeAuth(), &auth)
	if auth.SessionID != "" {
		if ok, err := in.opts.Store.SessionExists(auth.SessionID); err == nil && ok {
			next(nil)
			return
		}
	}
	basic := in.opts.Auth
	if auth.Username == basic.Username &&
		bcrypt.CompareHashAndPassword([]byte(basic.PasswordHash), []byte(auth.Password)) == nil {
		id := randomID()
		if err := in.opts.Store.SaveSession(id); err != nil {
			next(err)
			return
		}
		in.newSessions.Store(kws, id) // sent once connected
		next(nil)
		return
	}
	next(ErrInvalidCredentials)
}

// randomID is a session id: 8 random bytes in hex, as Node's.
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
