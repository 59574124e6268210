package redisadapter

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// AdminStore keeps the session ids of the Admin UI (the admin module's
// Store) in Redis, as Node's RedisStore of @socket.io/admin-ui does: the
// key "<prefix>#<id>" holds "true" for SessionDuration. Servers that share
// it let a UI that logged in on one reconnect to any other with its
// session id.
type AdminStore struct {
	client redis.UniversalClient
	// Prefix starts the keys; "socket.io-admin" by default, as Node's.
	Prefix string
	// SessionDuration is how long a session id is kept; one day by
	// default, as Node's.
	SessionDuration time.Duration
	// Timeout bounds each Redis command; 5 s by default.
	Timeout time.Duration
}

// NewAdminStore returns an AdminStore on client with Node's defaults.
func NewAdminStore(client redis.UniversalClient) *AdminStore {
	return &AdminStore{client: client, Prefix: "socket.io-admin", SessionDuration: 24 * time.Hour, Timeout: 5 * time.Second}
}

func (s *AdminStore) key(id string) string { return s.Prefix + "#" + id }

func (s *AdminStore) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.Timeout)
}

// SessionExists reports whether the session id is stored.
func (s *AdminStore) SessionExists(id string) (bool, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	n, err := s.client.Exists(ctx, s.key(id)).Result()
	return n == 1, err
}

// SaveSession stores the session id for SessionDuration.
func (s *AdminStore) SaveSession(id string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	return s.client.Set(ctx, s.key(id), "true", s.SessionDuration).Err()
}
