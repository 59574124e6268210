// ui.js drives a server the way the Admin UI does, with socket.io-client:
// it logs in to /admin, watches what the server sends, acts on a user's
// socket through the UI's commands, and prints one JSON line per finding.
// Usage: node ui.js <server URL> <username> <password>
const { io } = require("socket.io-client");
const [url, username, password] = process.argv.slice(2);
const out = (v) => console.log(JSON.stringify(v));
const fail = (m) => { console.error("FAIL: " + m); process.exit(1); };
setTimeout(() => fail("timeout"), 15000).unref();
const opts = { forceNew: true, reconnection: false };
const wait = (s, ev) => new Promise((r) => s.once(ev, (...a) => r(a)));
const until = (list, pred) => new Promise((r) => {
  const t = setInterval(() => { const v = list.find(pred); if (v) { clearInterval(t); r(v); } }, 10);
});
// shape is a value's structure: keys (sorted) and the types of leaves.
const shape = (v) => {
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = ["headers", "query", "data"].includes(k) ? "object" : shape(v[k]);
    return o;
  }
  return v === null ? "null" : typeof v;
};

(async () => {
  const bad = io(url + "/admin", { ...opts, auth: { username, password: "wrong" } });
  const [err] = await wait(bad, "connect_error");
  out({ badLogin: err.message });

  const admin = io(url + "/admin", { ...opts, transports: ["websocket"], auth: { username, password } });
  const seen = [];
  admin.onAny((ev, ...args) => seen.push([ev, ...args]));
  await wait(admin, "connect");
  const session = await until(seen, (e) => e[0] === "session");
  const config = await until(seen, (e) => e[0] === "config");
  out({ session: typeof session[1] === "string" && session[1].length === 16, features: config[1].supportedFeatures });
  const all = await until(seen, (e) => e[0] === "all_sockets");
  out({ allSockets: all[1].map((s) => s.nsp + " " + s.transport).sort() });
  out({ shapeSocket: shape(all[1].find((s) => s.nsp === "/admin")) });

  // A user: polling first, then the upgrade.
  const user = io(url, { ...opts, query: { who: "user" } });
  user.on("reply", () => {});
  await wait(user, "connect");
  const uid = user.id;
  await until([1], () => user.io.engine.transport.name === "websocket");
  const connected = await until(seen, (e) => e[0] === "socket_connected" && e[1].id === user.id);
  out({ userConnected: { nsp: connected[1].nsp, transport: connected[1].transport, rooms: connected[1].rooms, who: connected[1].handshake.query.who, date: typeof connected[2] } });
  const updated = await until(seen, (e) => e[0] === "socket_updated" && e[1].id === user.id);
  out({ userUpdated: updated[1].transport });
  user.emit("hello", 1, { a: "b" });
  const received = await until(seen, (e) => e[0] === "event_received" && e[2] === user.id);
  out({ received: [received[1], received[3]] });
  const sent = await until(seen, (e) => e[0] === "event_sent" && e[2] === user.id);
  out({ sent: [sent[1], sent[3]] });

  user.emit("rename", "bob");
  const renamed = await until(seen, (e) => e[0] === "socket_updated" && e[1].id === user.id && e[1].data);
  out({ dataUpdated: { nsp: renamed[1].nsp, data: renamed[1].data } });

  admin.emit("join", "/", "vip");
  const joined = await until(seen, (e) => e[0] === "room_joined" && e[2] === "vip");
  out({ joined: [joined[1], joined[3] === user.id] });
  const news = wait(user, "news");
  admin.emit("emit", "/", "vip", "news", "x", 2);
  out({ news: await news });
  admin.emit("leave", "/", "vip", "vip");
  const left = await until(seen, (e) => e[0] === "room_left" && e[2] === "vip");
  out({ left: [left[1], left[3] === user.id] });
  const gone = wait(user, "disconnect");
  admin.emit("_disconnect", "/", false);
  out({ userDisconnect: (await gone)[0] });
  const disc = await until(seen, (e) => e[0] === "socket_disconnected" && e[2] === uid);
  out({ disconnected: [disc[1], disc[3]] });

  // The aggregated events of every server_stats so far, by type (and
  // subtype), until the disconnection and the traffic are in.
  const aggregate = () => {
    const agg = {};
    for (const e of seen.filter((e) => e[0] === "server_stats")) {
      for (const a of e[1].aggregatedEvents) {
        const k = a.type + (a.subType ? ":" + a.subType : "");
        agg[k] = (agg[k] || 0) + a.count;
      }
    }
    return agg;
  };
  await until([1], () => {
    const a = aggregate();
    return Object.keys(a).some((k) => k.startsWith("rawDisconnection:")) && a.packetsOut > 0 && a.bytesIn > 0;
  });
  const agg = aggregate();
  const stats = seen.filter((e) => e[0] === "server_stats").pop();
  const types = [...new Set(Object.keys(agg).map((k) => k.split(":")[0]))].sort();
  out({ reasons: Object.keys(agg).filter((k) => k.startsWith("rawDisconnection:")).map((k) => k.split(":")[1]) });
  out({ aggregated: types, connections: agg.rawConnection >= 1, packetsIn: agg.packetsIn > 0, bytesOut: agg.bytesOut > 0 });
  out({ namespaces: stats[1].namespaces.map((n) => n.name).sort(), clients: typeof stats[1].clientsCount, polling: stats[1].pollingClientsCount });
  out({ shapeStats: shape({ ...stats[1], aggregatedEvents: stats[1].aggregatedEvents.filter((a) => !a.subType) }) });

  // Back with the session id only.
  const again = io(url + "/admin", { ...opts, transports: ["websocket"], auth: { sessionId: session[1] } });
  await wait(again, "connect");
  out({ sessionLogin: true });
  again.close();
  admin.close();
  out({ done: true });
})().catch((e) => fail(e.stack));
