// Test peer of the sharded Redis adapter tests, driven by JSON lines on
// stdin: a Node socket.io server with createShardedAdapter
// (@socket.io/redis-adapter, Redis 7 sharded pub/sub) and socket.io-client
// sockets. Every command carries a seq; its reply is printed as
// {"seq":n,...}. Events received by the clients are printed as
// {"client":name,"event":e,"args":[...]}.
"use strict";
const readline = require("readline");
const http = require("http");
const { Server } = require("socket.io");
const { io: connect } = require("socket.io-client");
const { createClient } = require("redis");
const { createShardedAdapter } = require("@socket.io/redis-adapter");

const print = (v) => process.stdout.write(JSON.stringify(v) + "\n");
const sockets = new Map();
const conns = [];
let io = null;
let httpServer = null;

// Buffers are printed as {"$bin":hex}; {"$bin":hex} in arguments becomes a
// Buffer.
const toJSON = (v) => {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("hex") };
  if (Array.isArray(v)) return v.map(toJSON);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJSON(x)]));
  return v;
};
const fromJSON = (v) => {
  if (Array.isArray(v)) return v.map(fromJSON);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromJSON(x)]));
  }
  return v;
};

const open = async (url) => {
  const c = createClient({ url });
  c.on("error", () => {});
  await c.connect();
  conns.push(c);
  return c;
};

const of = (name) => io.of(name || "/");

// operator applies rooms and except to a namespace.
const operator = ({ nsp, rooms, except }) => {
  let op = of(nsp);
  if (rooms && rooms.length) op = op.to(rooms);
  if (except && except.length) op = op.except(except);
  return op;
};

const commands = {
  async server({ port, redis, namespaces, mode, prefix }) {
    const pub = await open(redis);
    const sub = await open(redis);
    const opts = {};
    if (mode) opts.subscriptionMode = mode;
    if (prefix) opts.channelPrefix = prefix;
    httpServer = http.createServer();
    io = new Server(httpServer, { adapter: createShardedAdapter(pub, sub, opts) });
    for (const name of ["/", ...(namespaces || [])]) {
      const n = io.of(name);
      n.on("connection", (socket) => {
        socket.data = { node: "node", auth: socket.handshake.auth };
        socket.on("join", (room, cb) => { socket.join(room); if (cb) cb("joined"); });
        socket.on("leave", (room, cb) => { socket.leave(room); if (cb) cb("left"); });
      });
      n.on("sse", (arg, cb) => {
        print({ sse: "node", nsp: name, arg: toJSON(arg) });
        if (typeof cb === "function") cb({ node: "node", arg });
      });
    }
    await new Promise((r) => httpServer.listen(port, "127.0.0.1", r));
    return { port: httpServer.address().port };
  },
  async connect({ name, url, nsp, auth }) {
    const s = connect(url + (nsp && nsp !== "/" ? nsp : ""), { transports: ["websocket"], auth: auth || {}, reconnection: false, forceNew: true });
    sockets.set(name, s);
    s.onAny((event, ...args) => {
      const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
      print({ client: name, event, args: toJSON(args) });
      if (cb) cb({ client: name, event });
    });
    s.on("disconnect", (reason) => print({ client: name, event: "disconnect", args: [reason] }));
    await new Promise((resolve, reject) => {
      s.once("connect", resolve);
      s.once("connect_error", reject);
    });
    return { id: s.id };
  },
  async join({ name, room }) {
    return { ack: await sockets.get(name).timeout(5000).emitWithAck("join", room) };
  },
  async leave({ name, room }) {
    return { ack: await sockets.get(name).timeout(5000).emitWithAck("leave", room) };
  },
  async emit(cmd) {
    let op = operator(cmd);
    if (cmd.volatile) op = op.volatile;
    op.emit(cmd.event, ...fromJSON(cmd.args || []));
    return {};
  },
  async emitWithAck(cmd) {
    try {
      return { responses: await operator(cmd).timeout(cmd.timeout || 5000).emitWithAck(cmd.event, ...fromJSON(cmd.args || [])) };
    } catch (e) {
      return { error: e.message };
    }
  },
  async fetch(cmd) {
    try {
      const socks = await operator(cmd).fetchSockets();
      return { sockets: socks.map((s) => ({ id: s.id, rooms: [...s.rooms].sort(), data: s.data, handshake: s.handshake })) };
    } catch (e) {
      return { error: e.message };
    }
  },
  async socketsJoin(cmd) {
    operator(cmd).socketsJoin(cmd.join);
    return {};
  },
  async socketsLeave(cmd) {
    operator(cmd).socketsLeave(cmd.leave);
    return {};
  },
  async disconnectSockets(cmd) {
    operator(cmd).disconnectSockets(!!cmd.close);
    return {};
  },
  async sse({ nsp, event, args, ack }) {
    if (!ack) {
      of(nsp).serverSideEmit(event, ...fromJSON(args || []));
      return {};
    }
    try {
      return { responses: toJSON(await of(nsp).serverSideEmitWithAck(event, ...fromJSON(args || []))) };
    } catch (e) {
      return { error: e.message };
    }
  },
  async serverCount({ nsp }) {
    return { count: await of(nsp).adapter.serverCount() };
  },
  async quit() {
    for (const s of sockets.values()) s.disconnect();
    if (io) io.close();
    for (const c of conns) { try { await c.quit(); } catch (e) {} }
    setTimeout(() => process.exit(0), 50);
    return {};
  },
};

readline.createInterface({ input: process.stdin }).on("line", async (line) => {
  let cmd;
  try { cmd = JSON.parse(line); } catch (e) { return; }
  try {
    print({ seq: cmd.seq, ...(await commands[cmd.cmd](cmd)) });
  } catch (e) {
    print({ seq: cmd.seq, error: String((e && e.message) || e) });
  }
});
process.stdin.on("end", () => commands.quit());
