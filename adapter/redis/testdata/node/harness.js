// Test peer of the Redis adapter tests, driven by JSON lines on stdin:
// a Node socket.io server with @socket.io/redis-adapter, an emitter
// (@socket.io/redis-emitter) and socket.io-client sockets. Every command
// carries a seq; its reply is printed as {"seq":n,...}. Events received by
// the clients are printed as {"client":name,"event":e,"args":[...]}.
"use strict";
const readline = require("readline");
const http = require("http");
const { Server } = require("socket.io");
const { io: connect } = require("socket.io-client");
const { createClient } = require("redis");
const { createAdapter } = require("@socket.io/redis-adapter");
const { Emitter } = require("@socket.io/redis-emitter");

const out = (v) => process.stdout.write(JSON.stringify(v) + "\n");
const clients = new Map();
const redisClients = [];
let io = null;
let httpServer = null;
let emitter = null;

// A Buffer prints as {"$bin":hex} so the Go side can check binary data.
const show = (v) => {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("hex") };
  if (Array.isArray(v)) return v.map(show);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = show(v[k]);
    return o;
  }
  return v;
};

// Arguments may carry {"$bin":hex} to send a Buffer.
const bin = (v) => {
  if (Array.isArray(v)) return v.map(bin);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    const o = {};
    for (const k of Object.keys(v)) o[k] = bin(v[k]);
    return o;
  }
  return v;
};

const redisClient = async (url) => {
  const c = createClient({ url });
  c.on("error", () => {});
  await c.connect();
  redisClients.push(c);
  return c;
};

const nsp = (name) => io.of(name || "/");

const commands = {
  async server({ port, redis, namespaces }) {
    const pub = await redisClient(redis);
    const sub = pub.duplicate();
    sub.on("error", () => {});
    await sub.connect();
    redisClients.push(sub);
    httpServer = http.createServer();
    io = new Server(httpServer, { adapter: createAdapter(pub, sub) });
    for (const name of ["/", ...(namespaces || [])]) {
      const n = io.of(name);
      n.on("connection", (socket) => {
        socket.data = { node: "node", auth: socket.handshake.auth };
        socket.on("join", (room, cb) => { socket.join(room); if (cb) cb("joined"); });
      });
      n.on("sse", (arg, cb) => {
        out({ sse: "node", nsp: name, arg });
        if (typeof cb === "function") cb({ node: "node", arg });
      });
    }
    await new Promise((r) => httpServer.listen(port, "127.0.0.1", r));
    return { port: httpServer.address().port };
  },
  async connect({ name, url, nsp: ns, auth }) {
    const s = connect(url + (ns && ns !== "/" ? ns : ""), { transports: ["websocket"], auth: auth || {}, reconnection: false, forceNew: true });
    clients.set(name, s);
    s.onAny((event, ...args) => {
      const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
      out({ client: name, event, args: show(args) });
      if (cb) cb({ client: name, event });
    });
    s.on("disconnect", (reason) => out({ client: name, event: "disconnect", args: [reason] }));
    await new Promise((resolve, reject) => {
      s.once("connect", resolve);
      s.once("connect_error", reject);
    });
    return { id: s.id };
  },
  async join({ name, room }) {
    return { ack: await clients.get(name).timeout(5000).emitWithAck("join", room) };
  },
  async emit({ nsp: ns, rooms, except, event, args, volatile, local }) {
    let op = nsp(ns);
    if (rooms && rooms.length) op = op.to(rooms);
    if (except && except.length) op = op.except(except);
    if (volatile) op = op.volatile;
    if (local) op = op.local;
    op.emit(event, ...bin(args || []));
    return {};
  },
  async emitWithAck({ nsp: ns, rooms, event, args, timeout }) {
    let op = nsp(ns).timeout(timeout || 5000);
    if (rooms && rooms.length) op = op.to(rooms);
    try {
      return { responses: await op.emitWithAck(event, ...(args || [])) };
    } catch (e) {
      return { error: e.message };
    }
  },
  async fetch({ nsp: ns, rooms }) {
    let op = nsp(ns);
    if (rooms && rooms.length) op = op.in(rooms);
    try {
      const socks = await op.fetchSockets();
      return { sockets: socks.map((s) => ({ id: s.id, rooms: [...s.rooms].sort(), data: s.data, handshake: s.handshake })) };
    } catch (e) {
      return { error: e.message };
    }
  },
  async socketsJoin({ nsp: ns, rooms, join }) {
    let op = nsp(ns);
    if (rooms && rooms.length) op = op.in(rooms);
    op.socketsJoin(join);
    return {};
  },
  async sse({ nsp: ns, event, args, ack }) {
    if (!ack) {
      nsp(ns).serverSideEmit(event, ...(args || []));
      return {};
    }
    try {
      return { responses: await nsp(ns).serverSideEmitWithAck(event, ...(args || [])) };
    } catch (e) {
      return { error: e.message };
    }
  },
  async allRooms({ nsp: ns }) {
    return { rooms: [...(await nsp(ns).adapter.allRooms())].sort() };
  },
  async serverCount({ nsp: ns }) {
    return { count: await nsp(ns).adapter.serverCount() };
  },
  async emitter({ redis, nsp: ns, rooms, event, args, join, leave, disconnect }) {
    if (!emitter) emitter = new Emitter(await redisClient(redis));
    let op = ns && ns !== "/" ? emitter.of(ns) : emitter;
    if (rooms && rooms.length) op = op.to(rooms);
    if (join) op.socketsJoin(join);
    else if (leave) op.socketsLeave(leave);
    else if (disconnect) op.disconnectSockets();
    else op.emit(event, ...bin(args || []));
    return {};
  },
  async quit() {
    for (const s of clients.values()) s.disconnect();
    if (io) io.close();
    for (const c of redisClients) { try { await c.quit(); } catch (e) {} }
    setTimeout(() => process.exit(0), 50);
    return {};
  },
};

readline.createInterface({ input: process.stdin }).on("line", async (line) => {
  let cmd;
  try { cmd = JSON.parse(line); } catch (e) { return; }
  try {
    out({ seq: cmd.seq, ...(await commands[cmd.cmd](cmd)) });
  } catch (e) {
    out({ seq: cmd.seq, error: String(e && e.message || e) });
  }
});
process.stdin.on("end", () => commands.quit());
