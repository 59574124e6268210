package socketio

import "time"

// This file gives namespaces, servers and the package the operators of
// BroadcastOperator, each starting from an empty selection.

// Operator returns an operator addressing every socket of the namespace.
func (n *Namespace) Operator() BroadcastOperator { return BroadcastOperator{nsp: n} }

// To returns an operator addressing the sockets in rooms.
func (n *Namespace) To(rooms ...string) BroadcastOperator { return n.Operator().To(rooms...) }

// In is the same as To.
func (n *Namespace) In(rooms ...string) BroadcastOperator { return n.Operator().To(rooms...) }

// Except returns an operator addressing every socket but those in rooms.
func (n *Namespace) Except(rooms ...string) BroadcastOperator {
	return n.Operator().Except(rooms...)
}

// Volatile returns a volatile operator (see BroadcastOperator.Volatile).
func (n *Namespace) Volatile() BroadcastOperator { return n.Operator().Volatile() }

// Compress returns an operator with the compress flag set (see
// BroadcastOperator.Compress).
func (n *Namespace) Compress(compress bool) BroadcastOperator {
	return n.Operator().Compress(compress)
}

// Local returns an operator restricted to this node.
func (n *Namespace) Local() BroadcastOperator { return n.Operator().Local() }

// Timeout returns an operator with an ack timeout (see
// BroadcastOperator.EmitWithAck).
func (n *Namespace) Timeout(d time.Duration) BroadcastOperator { return n.Operator().Timeout(d) }

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...[]byte) error {
	return n.Operator().Emit(event, args...)
}

// EmitValues sends an event with Go values (see
// BroadcastOperator.EmitValues) to every socket of the namespace.
func (n *Namespace) EmitValues(event string, args ...any) error {
	return n.Operator().EmitValues(event, args...)
}

// EmitWithAck sends an event to every socket of the namespace and gathers
// their acks (see BroadcastOperator.EmitWithAck).
func (n *Namespace) EmitWithAck(event string, args [][]byte, cb BroadcastAckCallback) error {
	return n.Operator().EmitWithAck(event, args, cb)
}

// FetchSockets returns every socket of the namespace.
func (n *Namespace) FetchSockets() ([]RemoteSocket, error) { return n.Operator().FetchSockets() }

// SocketsJoin makes every socket of the namespace join rooms.
func (n *Namespace) SocketsJoin(rooms ...string) error { return n.Operator().SocketsJoin(rooms...) }

// SocketsLeave makes every socket of the namespace leave rooms.
func (n *Namespace) SocketsLeave(rooms ...string) error {
	return n.Operator().SocketsLeave(rooms...)
}

// DisconnectSockets disconnects every socket of the namespace.
func (n *Namespace) DisconnectSockets(closeConn bool) error {
	return n.Operator().DisconnectSockets(closeConn)
}

// main returns the main namespace.
func (s *Server) main() *Namespace { return s.namespace("/", nil, false) }

// To returns an operator addressing the sockets of the main namespace in
// rooms.
func (s *Server) To(rooms ...string) BroadcastOperator { return s.main().To(rooms...) }

// In is the same as To.
func (s *Server) In(rooms ...string) BroadcastOperator { return s.main().To(rooms...) }

// Except returns an operator addressing the sockets of the main namespace
// but those in rooms.
func (s *Server) Except(rooms ...string) BroadcastOperator { return s.main().Except(rooms...) }

// Volatile returns a volatile operator on the main namespace.
func (s *Server) Volatile() BroadcastOperator { return s.main().Volatile() }

// Compress returns an operator on the main namespace with the compress
// flag set.
func (s *Server) Compress(compress bool) BroadcastOperator { return s.main().Compress(compress) }

// Local returns an operator on the main namespace restricted to this node.
func (s *Server) Local() BroadcastOperator { return s.main().Local() }

// Timeout returns an operator on the main namespace with an ack timeout.
func (s *Server) Timeout(d time.Duration) BroadcastOperator { return s.main().Timeout(d) }

// Emit sends an event to every socket of the main namespace.
func (s *Server) Emit(event string, args ...[]byte) error { return s.main().Emit(event, args...) }

// EmitValues sends an event with Go values (see
// BroadcastOperator.EmitValues) to every socket of the main namespace.
func (s *Server) EmitValues(event string, args ...any) error {
	return s.main().EmitValues(event, args...)
}

// EmitWithAck sends an event to every socket of the main namespace and
// gathers their acks.
func (s *Server) EmitWithAck(event string, args [][]byte, cb BroadcastAckCallback) error {
	return s.main().EmitWithAck(event, args, cb)
}

// FetchSockets returns every socket of the main namespace.
func (s *Server) FetchSockets() ([]RemoteSocket, error) { return s.main().FetchSockets() }

// SocketsJoin makes every socket of the main namespace join rooms.
func (s *Server) SocketsJoin(rooms ...string) error { return s.main().SocketsJoin(rooms...) }

// SocketsLeave makes every socket of the main namespace leave rooms.
func (s *Server) SocketsLeave(rooms ...string) error { return s.main().SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of the main namespace.
func (s *Server) DisconnectSockets(closeConn bool) error {
	return s.main().DisconnectSockets(closeConn)
}

// To returns an operator addressing the sockets of the default server's
// main namespace in rooms.
func To(rooms ...string) BroadcastOperator { return defaultServer.To(rooms...) }

// In is the same as To.
func In(rooms ...string) BroadcastOperator { return defaultServer.To(rooms...) }

// Except returns an operator addressing the sockets of the default
// server's main namespace but those in rooms.
func Except(rooms ...string) BroadcastOperator { return defaultServer.Except(rooms...) }

// Volatile returns a volatile operator on the default server's main
// namespace.
func Volatile() BroadcastOperator { return defaultServer.Volatile() }

// Compress returns an operator on the default server's main namespace with
// the compress flag set.
func Compress(compress bool) BroadcastOperator { return defaultServer.Compress(compress) }

// Local returns an operator on the default server's main namespace
// restricted to this node.
func Local() BroadcastOperator { return defaultServer.Local() }

// Timeout returns an operator on the default server's main namespace with
// an ack timeout.
func Timeout(d time.Duration) BroadcastOperator { return defaultServer.Timeout(d) }

// Emit sends an event to every socket of the default server's main
// namespace.
func Emit(event string, args ...[]byte) error { return defaultServer.Emit(event, args...) }

// EmitValues sends an event with Go values (see
// BroadcastOperator.EmitValues) to every socket of the default server's
// main namespace.
func EmitValues(event string, args ...any) error { return defaultServer.EmitValues(event, args...) }

// EmitWithAck sends an event to every socket of the default server's main
// namespace and gathers their acks.
func EmitWithAck(event string, args [][]byte, cb BroadcastAckCallback) error {
	return defaultServer.EmitWithAck(event, args, cb)
}

// FetchSockets returns every socket of the default server's main
// namespace.
func FetchSockets() ([]RemoteSocket, error) { return defaultServer.FetchSockets() }

// SocketsJoin makes every socket of the default server's main namespace
// join rooms.
func SocketsJoin(rooms ...string) error { return defaultServer.SocketsJoin(rooms...) }

// SocketsLeave makes every socket of the default server's main namespace
// leave rooms.
func SocketsLeave(rooms ...string) error { return defaultServer.SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of the default server's main
// namespace.
func DisconnectSockets(closeConn bool) error { return defaultServer.DisconnectSockets(closeConn) }
