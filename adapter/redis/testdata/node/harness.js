// Test peer of the Redis adapter tests, driven by JSON lines on stdin
// (the protocol of common.js): a Node socket.io server with
// @socket.io/redis-adapter, an emitter (@socket.io/redis-emitter) and
// socket.io-client sockets.
"use strict";
const http = require("http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { Emitter } = require("@socket.io/redis-emitter");
const { bin, show, redisClient, serveNamespaces, clientCommands, quit, run } = require("./common");

let io = null;
let httpServer = null;
let emitter = null;

const nsp = (name) => io.of(name || "/");

const commands = {
  ...clientCommands,
  async server({ port, redis, namespaces }) {
    const pub = await redisClient(redis);
    const sub = await redisClient(redis);
    httpServer = http.createServer();
    io = new Server(httpServer, { adapter: createAdapter(pub, sub) });
    serveNamespaces(io, namespaces);
    await new Promise((r) => httpServer.listen(port, "127.0.0.1", r));
    return { port: httpServer.address().port };
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
      return { responses: show(await op.emitWithAck(event, ...(args || []))) };
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
    return quit(io);
  },
};

run(commands);
