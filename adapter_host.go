package socketio

import (
	"encoding/json"
	"strings"
)

// This file is the rest of nspHost, the AdapterHost of a namespace: what a
// multi-node adapter needs to answer the other nodes.

func (h nspHost) NextAckID() uint64 { return h.n.ackIDs.Add(1) - 1 }

func (h nspHost) Recovery() bool { return h.n.srv.recovery.Load() != nil }

func (h nspHost) Describe(id string) (Handshake, json.RawMessage, bool) {
	kws := h.n.socket(id)
	if kws == nil {
		return Handshake{}, nil, false
	}
	return kws.handshake(), kws.attributesJSON(), true
}

func (h nspHost) ServerSideEvent(event string, args [][]byte, ack func([]byte)) {
	h.n.dispatchServerEvent(event, args, ack)
}

// handshake describes the request that opened the socket's session.
func (kws *Websocket) handshake() Handshake {
	req := kws.sess.req
	headers, query := req.headers, req.query
	if req.conn != nil {
		// A session started on WebSocket reads the middleware's copies.
		headers, query = connCopy(req.conn, "headers"), connCopy(req.conn, "queries")
	}
	hs := Handshake{
		Headers: make(map[string]string, len(headers)),
		Time:    kws.created.UTC().Format("Mon Jan 02 2006 15:04:05 GMT+0000 (Coordinated Universal Time)"),
		Address: req.ip,
		Issued:  kws.created.UnixMilli(),
		Query:   make(map[string]string, len(query)),
		Auth:    kws.auth,
		URL:     req.url,
		Secure:  req.secure,
	}
	for k, v := range headers {
		hs.Headers[strings.ToLower(k)] = v
	}
	for k, v := range query {
		hs.Query[k] = v
	}
	if hs.Auth == nil {
		hs.Auth = json.RawMessage("{}")
	}
	_, hs.XDomain = hs.Headers["origin"]
	return hs
}

// attributesJSON returns the socket's attributes as a JSON object ({}
// when there are none, as a Node socket's data starts), leaving out those
// that cannot be marshalled.
func (kws *Websocket) attributesJSON() json.RawMessage {
	attrs := kws.attributesSnapshot()
	if len(attrs) == 0 {
		return json.RawMessage("{}")
	}
	m := make(map[string]json.RawMessage, len(attrs))
	for k, v := range attrs {
		b, err := json.Marshal(v)
		if err != nil {
			continue
		}
		m[k] = b
	}
	b, _ := json.Marshal(m)
	return b
}
