package socketio

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v3"
)

// GenerateID, when set, gives the default server's new sessions their
// Engine.IO id, as the Node server's engine.generateId: from the
// handshake request, say to route a client by its id. The id must be
// unique among the sessions of the server, at most 128 characters long,
// and made of letters, digits and "-", "_", "." or "~" (it travels in
// URLs and JSON); a handshake whose id breaks these rules, or whose
// GenerateID panics, is refused with 400 and ErrInvalidSessionID. Nil, the
// default, draws 20 random characters.
var GenerateID func(c fiber.Ctx) string

// ErrInvalidSessionID is the reason a handshake is refused when
// GenerateID returned an id that is empty, too long, holds a character
// other than a letter, a digit, "-", "_", "." or "~", or is in use, or
// when it panicked.
var ErrInvalidSessionID = errors.New("socketio: invalid session id from GenerateID")

// maxSessionID bounds an id GenerateID returns.
const maxSessionID = 128

// sessionID returns the id of a new session: GenerateID's when one is
// set, a random one otherwise.
func (e *engine) sessionID(c fiber.Ctx) (string, error) {
	gen := e.cfg.GenerateID
	if gen == nil {
		return newSID(), nil
	}
	id, err := callGenerateID(gen, c)
	if err != nil {
		return "", err
	}
	if !validSessionID(id) {
		return "", fmt.Errorf("%w: %q", ErrInvalidSessionID, truncate([]byte(id), 64))
	}
	if _, used := e.sessions.Load(id); used {
		return "", fmt.Errorf("%w: %q is in use", ErrInvalidSessionID, id)
	}
	return id, nil
}

// callGenerateID calls gen, a panic becoming ErrInvalidSessionID.
func callGenerateID(gen func(fiber.Ctx) string, c fiber.Ctx) (id string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: GenerateID panicked: %v", ErrInvalidSessionID, r)
		}
	}()
	return gen(c), nil
}

// validSessionID reports whether id is a session id the protocol can
// carry as it is: 1 to maxSessionID unreserved URL characters.
func validSessionID(id string) bool {
	if id == "" || len(id) > maxSessionID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == '~':
		default:
			return false
		}
	}
	return true
}

// refuseSessionID answers a handshake whose GenerateID failed.
func (e *engine) refuseSessionID(c fiber.Ctx, err error) error {
	return e.httpError(c, codeBadRequest, "reason", err.Error())
}
