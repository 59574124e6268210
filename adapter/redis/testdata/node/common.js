// Shared part of the test peers (harness.js, sharded_harness.js): the
// JSON-lines protocol on stdin and stdout, the Redis connections, the
// namespaces of the Node server and the socket.io-client sockets.
// Every command carries a seq; its reply is printed as {"seq":n,...}.
// Events received by the clients are printed as
// {"client":name,"event":e,"args":[...]}.
"use strict";
const readline = require("readline");
const { io: connect } = require("socket.io-client");
const { createClient, createCluster } = require("redis");

const out = (v) => process.stdout.write(JSON.stringify(v) + "\n");
const clients = new Map();
const redisClients = [];

// Buffers are printed as {"$bin":hex} so the Go side can check binary
// data; {"$bin":hex} in arguments becomes a Buffer.
const show = (v) => {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("hex") };
  if (Array.isArray(v)) return v.map(show);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, show(x)]));
  return v;
};
const bin = (v) => {
  if (Array.isArray(v)) return v.map(bin);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, bin(x)]));
  }
  return v;
};

// redisClient opens a Redis connection, closed by quit.
const redisClient = async (url) => {
  const c = createClient({ url });
  c.on("error", () => {});
  await c.connect();
  redisClients.push(c);
  return c;
};

// redisClusterClient opens a Redis Cluster client on the nodes of urls,
// closed by quit.
const redisClusterClient = async (urls) => {
  const c = createCluster({ rootNodes: urls.map((url) => ({ url })) });
  c.on("error", () => {});
  await c.connect();
  redisClients.push(c);
  return c;
};

// serveNamespaces sets up "/" and namespaces of the Node server io: its
// sockets carry data {node: "node", auth} and answer "join" and "leave"
// (ack "joined", "left"); the server-side event "sse" is printed as
// {"sse":"node","nsp":name,"arg":arg} and answered {node: "node", arg}.
const serveNamespaces = (io, namespaces) => {
  for (const name of ["/", ...(namespaces || [])]) {
    const n = io.of(name);
    n.on("connection", (socket) => {
      socket.data = { node: "node", auth: socket.handshake.auth };
      socket.on("join", (room, cb) => { socket.join(room); if (cb) cb("joined"); });
      socket.on("leave", (room, cb) => { socket.leave(room); if (cb) cb("left"); });
    });
    n.on("sse", (arg, cb) => {
      out({ sse: "node", nsp: name, arg: show(arg) });
      if (typeof cb === "function") cb({ node: "node", arg });
    });
  }
};

// The commands about the clients, common to both peers.
const clientCommands = {
  // connect connects a client; with reconnect it reconnects after 500 ms
  // when its connection is lost, and each connection after the first is
  // printed as the event "reconnected" with its id and recovered flag.
  // A client answers an event asking for an ack with {client, event}, or,
  // when the event's first argument is {$ackBin: hex}, with a Buffer: the
  // bytes of hex followed by the client's name.
  async connect({ name, url, nsp, auth, reconnect }) {
    const s = connect(url + (nsp && nsp !== "/" ? nsp : ""), {
      transports: ["websocket"], auth: auth || {}, reconnection: !!reconnect, forceNew: true,
      reconnectionDelay: 500, reconnectionDelayMax: 500, randomizationFactor: 0,
    });
    clients.set(name, s);
    s.onAny((event, ...args) => {
      const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
      out({ client: name, event, args: show(args) });
      const ackBin = args[0] && typeof args[0] === "object" && args[0].$ackBin;
      if (cb && typeof ackBin === "string") cb(Buffer.concat([Buffer.from(ackBin, "hex"), Buffer.from(name)]));
      else if (cb) cb({ client: name, event });
    });
    s.on("disconnect", (reason) => out({ client: name, event: "disconnect", args: [reason] }));
    let connects = 0;
    s.on("connect", () => {
      if (connects++ > 0) out({ client: name, event: "reconnected", args: [s.id, s.recovered] });
    });
    await new Promise((resolve, reject) => {
      s.once("connect", resolve);
      s.once("connect_error", reject);
    });
    return { id: s.id };
  },
  async join({ name, room }) {
    return { ack: await clients.get(name).timeout(5000).emitWithAck("join", room) };
  },
  async leave({ name, room }) {
    return { ack: await clients.get(name).timeout(5000).emitWithAck("leave", room) };
  },
};

// quit disconnects the clients, closes the Node server io (when started)
// and the Redis connections, and exits.
const quit = async (io) => {
  for (const s of clients.values()) s.disconnect();
  if (io) io.close();
  for (const c of redisClients) { try { await c.quit(); } catch (e) {} }
  setTimeout(() => process.exit(0), 50);
  return {};
};

// run answers the commands read on stdin; when stdin ends, it runs
// commands.quit.
const run = (commands) => {
  readline.createInterface({ input: process.stdin }).on("line", async (line) => {
    let cmd;
    try { cmd = JSON.parse(line); } catch (e) { return; }
    try {
      out({ seq: cmd.seq, ...(await commands[cmd.cmd](cmd)) });
    } catch (e) {
      out({ seq: cmd.seq, error: String((e && e.message) || e) });
    }
  });
  process.stdin.on("end", () => commands.quit());
};

module.exports = { out, show, bin, redisClient, redisClusterClient, serveNamespaces, clientCommands, quit, run };
