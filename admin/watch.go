package admin

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/fiber-socketio/socketio"
)

// adminData is what the instrumentation keeps in a socket's attributes
// (Node's socket.data._admin), so that a FetchSockets from any node
// describes the socket's client and transport.
type adminData struct {
	ClientID  string `json:"clientId"`
	Transport string `json:"transport"`
}

// adminKey is the attribute that holds adminData.
const adminKey = "_admin"

// clientSockets are the sockets of one Engine.IO session. Once its last
// socket is gone it is dead (removed from Instrumentation.clients), and a
// socket connecting meanwhile makes a new one.
type clientSockets struct {
	mu   sync.Mutex
	list []*socketio.Websocket
	dead bool
}

// watchSockets reports, in Development, the sockets of every namespace as
// they come and go, their rooms, upgrades and events.
func (in *Instrumentation) watchSockets() {
	in.srv.On(socketio.EventConnect, in.onSocketConnect)
	in.srv.On(socketio.EventDisconnect, in.onSocketDisconnect)
	in.srv.OnAny(in.onEventReceived)
	in.srv.OnAttributeSet(in.onAttributeSet)
	for _, n := range in.srv.Namespaces() {
		in.watchRooms(n)
	}
	in.srv.OnNewNamespace(in.watchRooms)
}

// watchRooms reports the joins and leaves of n's rooms.
func (in *Instrumentation) watchRooms(n *socketio.Namespace) {
	name := n.Name()
	n.OnRoom(func(kind, room, id string) {
		switch kind {
		case socketio.RoomJoined:
			in.emit("room_joined", nil, jsonString(name), jsonString(room), jsonString(id), now())
		case socketio.RoomLeft:
			in.emit("room_left", nil, jsonString(name), jsonString(room), jsonString(id), now())
		}
	})
}

func (in *Instrumentation) onSocketConnect(ep *socketio.EventPayload) {
	kws := ep.Kws
	sid := kws.ClientID()
	clientID := sid
	if len(clientID) > 12 {
		clientID = clientID[:12]
	}
	admin := adminData{ClientID: clientID, Transport: kws.Transport()}
	kws.SetAttribute(adminKey, admin)
	for added := false; !added; {
		v, _ := in.clients.LoadOrStore(sid, &clientSockets{})
		cs := v.(*clientSockets)
		cs.mu.Lock()
		if !cs.dead {
			cs.list = append(cs.list, kws)
			added = true
		}
		cs.mu.Unlock()
	}
	nsp := kws.Namespace()
	if nsp != in.nsp.Name() {
		kws.OnAnyOutgoing(func(ep *socketio.EventPayload) {
			in.emit("event_sent", ep.Attachments, jsonString(nsp), jsonString(ep.SocketUUID), eventArgs(ep), now())
		})
	}
	in.emit("socket_connected", nil, mustJSON(describeLocal(kws, ep.SocketAttributes, admin)), now())
}

func (in *Instrumentation) onSocketDisconnect(ep *socketio.EventPayload) {
	kws := ep.Kws
	in.newSessions.Delete(kws)
	sid := kws.ClientID()
	if v, ok := in.clients.Load(sid); ok {
		cs := v.(*clientSockets)
		cs.mu.Lock()
		for i, s := range cs.list {
			if s == kws {
				cs.list = append(cs.list[:i], cs.list[i+1:]...)
				break
			}
		}
		if len(cs.list) == 0 && !cs.dead {
			cs.dead = true
			in.clients.CompareAndDelete(sid, cs)
		}
		cs.mu.Unlock()
	}
	in.emit("socket_disconnected", nil, jsonString(kws.Namespace()), jsonString(ep.SocketUUID), jsonString(ep.Reason()), now())
}

func (in *Instrumentation) onEventReceived(ep *socketio.EventPayload) {
	nsp := ep.Kws.Namespace()
	if nsp == in.nsp.Name() {
		return
	}
	in.emit("event_received", ep.Attachments, jsonString(nsp), jsonString(ep.SocketUUID), eventArgs(ep), now())
}

// onAttributeSet reports the new data of a connected socket, as Node's
// instrument reports a change of socket.data.
func (in *Instrumentation) onAttributeSet(kws *socketio.Websocket, key string, _ any) {
	if key == adminKey || !kws.IsAlive() {
		return
	}
	data := kws.Attributes()
	delete(data, adminKey)
	if data == nil {
		data = map[string]any{}
	}
	in.emit("socket_updated", nil, mustJSON(map[string]any{"id": kws.GetUUID(), "nsp": kws.Namespace(), "data": data}))
}

// socketsUpgraded reports the sockets of session sid on their new
// transport.
func (in *Instrumentation) socketsUpgraded(sid, transport string) {
	v, ok := in.clients.Load(sid)
	if !ok {
		return
	}
	cs := v.(*clientSockets)
	cs.mu.Lock()
	list := append([]*socketio.Websocket(nil), cs.list...)
	cs.mu.Unlock()
	for _, kws := range list {
		if d, ok := kws.GetAttribute(adminKey).(adminData); ok {
			d.Transport = transport
			kws.SetAttribute(adminKey, d)
		}
		in.emit("socket_updated", nil, mustJSON(map[string]string{"id": kws.GetUUID(), "nsp": kws.Namespace(), "transport": transport}))
	}
}

// emit broadcasts an event to the admin namespace's sockets on every node,
// with the binary attachments the args' placeholders refer to.
func (in *Instrumentation) emit(event string, attachments [][]byte, args ...[]byte) {
	if len(attachments) == 0 {
		_ = in.nsp.Emit(event, args...)
		return
	}
	_ = in.nsp.Adapter().Broadcast(&socketio.Packet{Nsp: in.nsp.Name(), Event: event, Args: args, Attachments: attachments}, socketio.BroadcastOptions{})
}

// eventArgs is an event as Node's onAny listeners get it: its name, then
// its arguments (the ack callback left out).
func eventArgs(ep *socketio.EventPayload) []byte {
	b := append([]byte{'['}, jsonString(ep.Name)...)
	for _, a := range ep.Args {
		b = append(b, ',')
		b = append(b, a...)
	}
	return append(b, ']')
}

// now is the current time as JavaScript's JSON.stringify(new Date()).
func now() []byte {
	return jsonString(time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("null")
	}
	return b
}
