package socketio_test

import (
	"log"
	"time"

	"github.com/fiber-socketio/socketio"
)

// A client uploads a file with socket.emit("upload", {name, data: buf},
// thumb, ack): the Buffers arrive as []byte, and []byte values sent back
// with the *Values methods arrive as Buffers.
func ExampleEventPayload_Decode() {
	srv := socketio.NewServer(socketio.DefaultConfig())
	srv.On("upload", func(ep *socketio.EventPayload) {
		var meta struct {
			Name string `json:"name"`
			Data []byte `json:"data"`
		}
		var thumb []byte
		if err := ep.Decode(&meta, &thumb); err != nil {
			return
		}
		_ = ep.AckValues("stored", len(meta.Data))
		_ = ep.Kws.EmitValues("file", map[string]any{"name": meta.Name, "data": meta.Data, "thumb": thumb})
	})
}

// A client shares a picture with socket.emit("share", room, buf): the
// others in the room get it as a Buffer, with who sent it, as Node's
// socket.to(room).emit("picture", from, buf) does.
func ExampleBroadcastOperator_EmitValues() {
	srv := socketio.NewServer(socketio.Config{})
	srv.On("share", func(ep *socketio.EventPayload) {
		var (
			room    string
			picture []byte
		)
		if err := ep.Decode(&room, &picture); err != nil {
			return
		}
		_ = ep.Kws.To(room).EmitValues("picture", ep.Kws.UUID, picture)
	})
}

// The server asks every client in a room for a signature over a
// challenge; each answers with a Buffer, socket.on("sign", (challenge, cb)
// => cb(sign(challenge))), which its reply decodes into a []byte, as with
// Node's io.to(room).timeout(d).emitWithAck("sign", challenge).
func ExampleBroadcastOperator_EmitValuesWithAck() {
	srv := socketio.NewServer(socketio.Config{})
	challenge := []byte{0x5e, 0xed}
	err := srv.To("signers").Timeout(5*time.Second).EmitValuesWithAck("sign", func(replies []*socketio.AckReply, err error) {
		if err != nil {
			log.Println("some signers did not answer:", err)
		}
		for _, r := range replies {
			var signature []byte
			if err := r.Decode(&signature); err == nil {
				log.Printf("signature %x", signature)
			}
		}
	}, challenge)
	if err != nil {
		log.Println(err)
	}
}
