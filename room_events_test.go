package socketio

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// roomLog records room events as "kind room id" lines.
type roomLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *roomLog) listener(kind, room, id string) {
	l.mu.Lock()
	l.lines = append(l.lines, strings.TrimSpace(kind+" "+room+" "+id))
	l.mu.Unlock()
}

// take returns the lines recorded since the last take.
func (l *roomLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines
	l.lines = nil
	return out
}

// TestRoomEventsAdapter drives the in-memory adapter of a namespace
// directly: creation and deletion follow the first join and the last
// leave, a socket's own room counts (also when another socket joins a
// room named by its id), repeated joins and leaves report nothing, and
// recovery's persist and restore report the leaves and joins.
func TestRoomEventsAdapter(t *testing.T) {
	t.Parallel()
	srv := NewServer(testConfig())
	nsp := srv.Of("/rooms")
	var log roomLog
	nsp.OnRoom(log.listener)
	a := nsp.adp()
	check := func(step string, want ...string) {
		t.Helper()
		if got := log.take(); !equalStrings(got, want) {
			t.Errorf("%s: events %q, want %q", step, got, want)
		}
	}
	a.AddAll("s1", []string{"s1", "a", "a"})
	check("s1 connects and joins a", "create-room s1", "join-room s1 s1", "create-room a", "join-room a s1")
	a.AddAll("s2", []string{"s2", "a", "s1"})
	check("s2 joins a and s1's room", "create-room s2", "join-room s2 s2", "join-room a s2", "join-room s1 s2")
	a.AddAll("s1", []string{"a"})
	check("s1 joins a again")
	a.Del("s1", "b")
	check("s1 leaves a room it is not in")
	a.Del("s1", "a")
	check("s1 leaves a", "leave-room a s1")
	a.DelAll("s1")
	check("s1 disconnects", "leave-room s1 s1")
	a.DelAll("s2")
	check("s2 disconnects", "leave-room a s2", "delete-room a", "leave-room s1 s2", "delete-room s1", "leave-room s2 s2", "delete-room s2")

	if err := a.AddSockets(BroadcastOptions{}, []string{"x"}); err != nil {
		t.Fatal(err)
	}
	check("AddSockets with no socket")

	sa := a.(SessionAwareAdapter)
	a.AddAll("s3", []string{"s3", "r"})
	log.take()
	sa.PersistSession(&Session{ID: "s3", PID: "p3", Deadline: time.Now().Add(time.Minute)})
	check("s3 persisted", "leave-room r s3", "delete-room r", "leave-room s3 s3", "delete-room s3")
	if _, err := sa.RestoreSession("p3", ""); err != nil {
		t.Fatal(err)
	}
	check("s3 restored", "create-room s3", "join-room s3 s3", "create-room r", "join-room r s3")
	a.DelAll("s3")
	log.take()

	// A panicking listener is reported and the others still run.
	nsp.OnRoom(func(string, string, string) { panic("listener") })
	var after roomLog
	nsp.OnRoom(after.listener)
	a.AddAll("s4", []string{"s4"})
	if got := after.take(); len(got) != 2 {
		t.Errorf("listener after a panicking one got %q", got)
	}
}

// TestRoomEvents: the room events of real clients (connect, join, leave,
// disconnect), through the server's OnRoom, and a dynamic parent's
// listener hearing its children.
func TestRoomEvents(t *testing.T) {
	t.Parallel()
	srv := NewServer(quickConfig())
	var main, dyn roomLog
	srv.OnRoom(main.listener)
	parent := srv.OfFunc(func(name string) bool { return strings.HasPrefix(name, "/team-") })
	parent.OnRoom(dyn.listener)
	srv.On("join", func(ep *EventPayload) {
		ep.Kws.Join("lobby")
		_ = ep.Ack()
	})
	srv.On("leave", func(ep *EventPayload) {
		ep.Kws.Leave("lobby")
		_ = ep.Ack()
	})
	ts := startServer(t, srv, nil)
	res := runNode(t, ts.url, `
const s = io(URL, { transports: ["websocket"], forceNew: true });
const team = io(URL + "/team-1", { transports: ["websocket"], forceNew: true });
const teamUp = new Promise((r) => team.on("connect", r));
s.on("connect", async () => {
  out({ id: s.id });
  await s.emitWithAck("join");
  await s.emitWithAck("join");
  await s.emitWithAck("leave");
  await s.emitWithAck("join");
  await teamUp;
  out({ team: team.id });
  team.close();
  s.close();
});
`, 15*time.Second)
	var ids struct{ ID, Team string }
	for _, l := range res.lines {
		if strings.HasPrefix(l, `{"id":`) {
			ids.ID = strings.Trim(strings.TrimPrefix(l, `{"id":`), `"}`)
		}
		if strings.HasPrefix(l, `{"team":`) {
			ids.Team = strings.Trim(strings.TrimPrefix(l, `{"team":`), `"}`)
		}
	}
	if ids.ID == "" || ids.Team == "" {
		t.Fatalf("client output %q", res.lines)
	}
	id := ids.ID
	want := []string{
		"create-room " + id, "join-room " + id + " " + id,
		"create-room lobby", "join-room lobby " + id,
		"leave-room lobby " + id, "delete-room lobby",
		"create-room lobby", "join-room lobby " + id,
		"leave-room " + id + " " + id, "delete-room " + id, "leave-room lobby " + id, "delete-room lobby",
	}
	waitFor(t, "the main namespace's room events", func() bool {
		main.mu.Lock()
		defer main.mu.Unlock()
		return len(main.lines) >= len(want)
	})
	if got := main.take(); !equalStrings(got, want) {
		t.Errorf("main namespace events:\n got %q\nwant %q", got, want)
	}
	team := ids.Team
	wantDyn := []string{"create-room " + team, "join-room " + team + " " + team, "leave-room " + team + " " + team, "delete-room " + team}
	waitFor(t, "the child's room events", func() bool {
		dyn.mu.Lock()
		defer dyn.mu.Unlock()
		return len(dyn.lines) >= len(wantDyn)
	})
	if got := dyn.take(); !equalStrings(got, wantDyn) {
		t.Errorf("dynamic child events %q, want %q", got, wantDyn)
	}
}
