package redisadapter

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fiber-socketio/socketio/admin"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"
)

// TestAdminAcrossNodes: with the Redis adapter, one Admin UI connected to
// node A sees both nodes: the statistics of A and B, the sockets of both
// in its list, and its join, emit and disconnect reach the users on both
// (socket.io-client doing what the UI does).
func TestAdminAcrossNodes(t *testing.T) {
	a, b := instrumentedPair(t, startRedis(t), admin.Options{NoAuth: true, StatsInterval: 200 * time.Millisecond})
	out, err := runScript(t, `
const { io } = require("socket.io-client");
const [urlA, urlB] = process.argv.slice(1);
const out = (v) => console.log(JSON.stringify(v));
const fail = (m) => { console.error("FAIL: " + m); process.exit(1); };
setTimeout(() => fail("timeout"), 25000).unref();
const opts = { forceNew: true, reconnection: false, transports: ["websocket"] };
const until = (pred) => new Promise((r) => { const t = setInterval(() => { const v = pred(); if (v) { clearInterval(t); r(v); } }, 10); });
(async () => {
  const u1 = io(urlA, opts), u2 = io(urlB, opts);
  await Promise.all([u1, u2].map((u) => new Promise((r) => u.on("connect", r))));
  const ids = [u1.id, u2.id];
  const got = { hey: [], gone: [] };
  for (const u of [u1, u2]) {
    u.on("hey", (v) => got.hey.push(v));
    u.on("disconnect", (why) => got.gone.push(why));
  }
  const ui = io(urlA + "/ui", opts);
  const seen = [];
  ui.onAny((ev, ...args) => seen.push([ev, ...args]));
  await new Promise((r) => ui.on("connect", r));
  const all = await until(() => seen.find((e) => e[0] === "all_sockets"));
  out({ listed: ids.every((id) => all[1].some((s) => s.id === id && s.nsp === "/")) });
  await until(() => ["A", "B"].every((id) => seen.some((e) => e[0] === "server_stats" && e[1].serverId === id)));
  out({ servers: true });
  ui.emit("join", "/", "r");
  await until(() => ids.every((id) => seen.some((e) => e[0] === "room_joined" && e[2] === "r" && e[3] === id)));
  out({ joined: true });
  ui.emit("emit", "/", "r", "hey", 7);
  await until(() => got.hey.length === 2);
  out({ hey: got.hey });
  ui.emit("_disconnect", "/", false);
  await until(() => got.gone.length === 2);
  out({ gone: got.gone });
  await until(() => ids.every((id) => seen.some((e) => e[0] === "socket_disconnected" && e[2] === id)));
  out({ reported: true });
  ui.close();
})().catch((e) => fail(e.stack));
`, a.url, b.url)
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	want := strings.Join([]string{
		`{"listed":true}`, `{"servers":true}`, `{"joined":true}`, `{"hey":[7,7]}`,
		`{"gone":["io server disconnect","io server disconnect"]}`, `{"reported":true}`,
	}, "\n") + "\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

// TestAdminStoreAcrossNodes: a UI that logged in on node A with its
// credentials reconnects to node B with the session id alone, through the
// AdminStore both share; the key is Node's RedisStore's, with its expiry;
// an unknown session id is refused.
func TestAdminStoreAcrossNodes(t *testing.T) {
	r := startRedis(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(&redis.Options{Addr: r.addr()})
	t.Cleanup(func() { _ = client.Close() })
	a, b := instrumentedPair(t, r, admin.Options{
		Auth:  &admin.BasicAuth{Username: "admin", PasswordHash: string(hash)},
		Store: NewAdminStore(client),
	})
	out, err := runScript(t, `
const { io } = require("socket.io-client");
const [urlA, urlB] = process.argv.slice(1);
const out = (v) => console.log(JSON.stringify(v));
setTimeout(() => { console.error("timeout"); process.exit(1); }, 25000).unref();
const opts = { forceNew: true, reconnection: false, transports: ["websocket"] };
const login = (url, auth) => new Promise((r) => {
  const s = io(url + "/ui", { ...opts, auth });
  s.on("session", (id) => { s.close(); r({ session: id }); });
  s.on("connect", () => { if (!auth.username) { s.close(); r({ connected: true }); } });
  s.on("connect_error", (e) => r({ refused: e.message }));
});
(async () => {
  const first = await login(urlA, { username: "admin", password: "pw" });
  out({ session: first.session.length });
  console.log(first.session);
  out(await login(urlB, { sessionId: first.session }));
  out(await login(urlB, { sessionId: "0000000000000000" }));
})();
`, a.url, b.url)
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 || lines[0] != `{"session":16}` || lines[2] != `{"connected":true}` || lines[3] != `{"refused":"invalid credentials"}` {
		t.Fatalf("got\n%s", out)
	}
	ctx := context.Background()
	key := "socket.io-admin#" + lines[1]
	if v, err := client.Get(ctx, key).Result(); err != nil || v != "true" {
		t.Errorf("GET %s = %q, %v; want \"true\"", key, v, err)
	}
	if ttl, err := client.TTL(ctx, key).Result(); err != nil || ttl <= 23*time.Hour || ttl > 24*time.Hour {
		t.Errorf("TTL %s = %v, %v; want about a day", key, ttl, err)
	}
}

// instrumentedPair starts Go nodes A and B on r, each instrumented with
// opts on "/ui" under its own server id.
func instrumentedPair(t *testing.T, r *redisServer, opts admin.Options) (a, b *goNode) {
	t.Helper()
	a, b = startGoNode(t, r, "A", Options{}), startGoNode(t, r, "B", Options{})
	for _, n := range []*goNode{a, b} {
		o := opts
		o.ServerID, o.NamespaceName = n.name, "/ui"
		in, err := admin.Instrument(n.srv, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(in.Stop)
	}
	return a, b
}

// runScript runs a Node script (with socket.io-client) given args, and
// returns what it printed.
func runScript(t *testing.T, script string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"-e", script}, args...)...)
	cmd.Dir, _ = filepath.Abs("testdata/node")
	return cmd.CombinedOutput()
}
