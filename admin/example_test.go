package admin_test

import (
	"log"

	"github.com/fiber-socketio/socketio"
	"github.com/fiber-socketio/socketio/admin"
	"github.com/gofiber/fiber/v3"
	"golang.org/x/crypto/bcrypt"
)

// Instrument a server for the Socket.IO Admin UI: open https://admin.socket.io
// (or the UI's files served yourself), enter the server's URL, "admin" and
// the password.
func ExampleInstrument() {
	cfg := socketio.DefaultConfig()
	// The hosted UI is another origin, which sends credentials.
	cfg.CORS.AllowOrigins = []string{"https://admin.socket.io"}
	cfg.CORS.AllowCredentials = true
	srv := socketio.NewServer(cfg)
	hash, _ := bcrypt.GenerateFromPassword([]byte("change me"), bcrypt.DefaultCost)
	in, err := admin.Instrument(srv, admin.Options{
		Auth: &admin.BasicAuth{Username: "admin", PasswordHash: string(hash)},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer in.Stop()

	app := fiber.New()
	h := srv.Handler(nil)
	app.Get("/socket.io/", h)
	app.Post("/socket.io/", h)
	_ = app // app.Listen(":3000")
}
