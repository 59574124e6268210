package admin

import (
	"encoding/json"

	"github.com/fiber-socketio/socketio"
)

// registerFeatureHandlers carries out the UI's actions on its socket, as
// Node's instrument does for the features it announced: "emit" (nsp,
// room, event, ...args), "join" and "leave" (nsp, room, room filter) and
// "_disconnect" (nsp, close, room filter). An empty filter means every
// socket of the namespace, on every node.
func (in *Instrumentation) registerFeatureHandlers(kws *socketio.Websocket) {
	if in.opts.ReadOnly {
		return
	}
	kws.On("emit", func(ep *socketio.EventPayload) {
		if len(ep.Args) < 3 {
			return
		}
		op, ok := in.target(ep.Args[0], ep.Args[1])
		var event string
		if !ok || json.Unmarshal(ep.Args[2], &event) != nil || event == "" {
			return
		}
		if len(ep.Attachments) > 0 {
			return // the UI sends JSON only
		}
		_ = op.Emit(event, ep.Args[3:]...)
	})
	kws.On("join", func(ep *socketio.EventPayload) { in.roomAction(ep, true) })
	kws.On("leave", func(ep *socketio.EventPayload) { in.roomAction(ep, false) })
	kws.On("_disconnect", func(ep *socketio.EventPayload) {
		if len(ep.Args) < 2 {
			return
		}
		var closeConn bool
		_ = json.Unmarshal(ep.Args[1], &closeConn)
		filter := []byte(nil)
		if len(ep.Args) > 2 {
			filter = ep.Args[2]
		}
		if op, ok := in.target(ep.Args[0], filter); ok {
			_ = op.DisconnectSockets(closeConn)
		}
	})
}

// roomAction makes the sockets of the UI's selection join or leave a room.
func (in *Instrumentation) roomAction(ep *socketio.EventPayload, join bool) {
	if len(ep.Args) < 2 {
		return
	}
	var room string
	if json.Unmarshal(ep.Args[1], &room) != nil || room == "" {
		return
	}
	filter := []byte(nil)
	if len(ep.Args) > 2 {
		filter = ep.Args[2]
	}
	op, ok := in.target(ep.Args[0], filter)
	if !ok {
		return
	}
	if join {
		_ = op.SocketsJoin(room)
	} else {
		_ = op.SocketsLeave(room)
	}
}

// target is the operator on namespace nspArg (a JSON string naming one of
// the server's namespaces), narrowed to the room filterArg names when it
// is a non-empty JSON string.
func (in *Instrumentation) target(nspArg, filterArg []byte) (socketio.BroadcastOperator, bool) {
	var name, filter string
	if json.Unmarshal(nspArg, &name) != nil {
		return socketio.BroadcastOperator{}, false
	}
	_ = json.Unmarshal(filterArg, &filter)
	for _, n := range in.srv.Namespaces() {
		if n.Name() != name {
			continue
		}
		op := n.Operator()
		if filter != "" {
			op = op.In(filter)
		}
		return op, true
	}
	return socketio.BroadcastOperator{}, false
}
