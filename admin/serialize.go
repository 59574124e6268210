package admin

import (
	"encoding/json"

	"github.com/fiber-socketio/socketio"
)

// socketDescription is a socket as the UI lists it (Node's serialize).
type socketDescription struct {
	ID        string               `json:"id"`
	ClientID  string               `json:"clientId,omitempty"`
	Transport string               `json:"transport,omitempty"`
	Nsp       string               `json:"nsp"`
	Data      map[string]any       `json:"data"`
	Handshake handshakeDescription `json:"handshake"`
	Rooms     []string             `json:"rooms"`
}

// handshakeDescription is the socket's handshake without its auth.
type handshakeDescription struct {
	Address string            `json:"address"`
	Headers map[string]string `json:"headers"`
	Query   map[string]string `json:"query"`
	Issued  int64             `json:"issued"`
	Secure  bool              `json:"secure"`
	Time    string            `json:"time"`
	URL     string            `json:"url"`
	XDomain bool              `json:"xdomain"`
}

// describe turns a fetched socket of namespace nsp into what the UI lists.
func describe(s *socketio.RemoteSocket, nsp string) socketDescription {
	data := map[string]any{}
	_ = json.Unmarshal(s.Data, &data)
	return newDescription(s.ID, nsp, data, s.Handshake, s.Rooms)
}

// describeLocal describes a socket of this node with its attributes attrs
// and the instrumentation's data.
func describeLocal(kws *socketio.Websocket, attrs map[string]any, admin adminData) socketDescription {
	all := make(map[string]any, len(attrs)+1)
	for k, v := range attrs {
		all[k] = v
	}
	all[adminKey] = admin
	data := map[string]any{}
	if b, err := json.Marshal(all); err == nil {
		_ = json.Unmarshal(b, &data)
	}
	return newDescription(kws.GetUUID(), kws.Namespace(), data, kws.Handshake(), kws.Rooms())
}

func newDescription(id, nsp string, data map[string]any, hs socketio.Handshake, rooms []string) socketDescription {
	d := socketDescription{ID: id, Nsp: nsp, Data: data, Rooms: rooms}
	if a, ok := data[adminKey].(map[string]any); ok {
		d.ClientID, _ = a["clientId"].(string)
		d.Transport, _ = a["transport"].(string)
	}
	delete(data, adminKey)
	if d.Rooms == nil {
		d.Rooms = []string{}
	}
	address := hs.Address
	if v := hs.Headers["x-forwarded-for"]; v != "" {
		address = v
	}
	if v := hs.Headers["cf-connecting-ip"]; v != "" {
		address = v
	}
	d.Handshake = handshakeDescription{
		Address: address, Headers: hs.Headers, Query: hs.Query, Issued: hs.Issued,
		Secure: hs.Secure, Time: hs.Time, URL: hs.URL, XDomain: hs.XDomain,
	}
	return d
}
