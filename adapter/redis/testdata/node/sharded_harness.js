// Test peer of the sharded and streams Redis adapter tests, driven by JSON
// lines on stdin (the protocol of common.js): a Node socket.io server with
// createShardedAdapter (@socket.io/redis-adapter, Redis 7 sharded pub/sub)
// or, with streams, createAdapter of @socket.io/redis-streams-adapter
// (with recovery, connection-state recovery on), and socket.io-client
// sockets.
"use strict";
const http = require("http");
const { Server } = require("socket.io");
const { createShardedAdapter } = require("@socket.io/redis-adapter");
const { createAdapter: createStreamsAdapter } = require("@socket.io/redis-streams-adapter");
const { show, bin, redisClient, redisClusterClient, serveNamespaces, clientCommands, quit, run } = require("./common");

let io = null;
let httpServer = null;

const of = (name) => io.of(name || "/");

// operator applies rooms and except to a namespace.
const operator = ({ nsp, rooms, except }) => {
  let op = of(nsp);
  if (rooms && rooms.length) op = op.to(rooms);
  if (except && except.length) op = op.except(except);
  return op;
};

const commands = {
  ...clientCommands,
  // server starts the Node server on Redis at the URL redis, or on the
  // Redis Cluster whose nodes are at the URLs cluster.
  async server({ port, redis, cluster, namespaces, mode, prefix, streams, streamCount, recovery }) {
    const open = () => (cluster ? redisClusterClient(cluster) : redisClient(redis));
    const pub = await open();
    const opts = {};
    if (prefix) opts.channelPrefix = prefix;
    httpServer = http.createServer();
    if (streams) {
      if (streamCount) opts.streamCount = streamCount;
      const serverOpts = { adapter: createStreamsAdapter(pub, opts) };
      if (recovery) serverOpts.connectionStateRecovery = { maxDisconnectionDuration: 60000 };
      io = new Server(httpServer, serverOpts);
    } else {
      const sub = await open();
      if (mode) opts.subscriptionMode = mode;
      io = new Server(httpServer, { adapter: createShardedAdapter(pub, sub, opts) });
    }
    serveNamespaces(io, namespaces);
    await new Promise((r) => httpServer.listen(port, "127.0.0.1", r));
    return { port: httpServer.address().port };
  },
  async emit(cmd) {
    let op = operator(cmd);
    if (cmd.volatile) op = op.volatile;
    op.emit(cmd.event, ...bin(cmd.args || []));
    return {};
  },
  async emitWithAck(cmd) {
    try {
      return { responses: show(await operator(cmd).timeout(cmd.timeout || 5000).emitWithAck(cmd.event, ...bin(cmd.args || []))) };
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
      of(nsp).serverSideEmit(event, ...bin(args || []));
      return {};
    }
    try {
      return { responses: show(await of(nsp).serverSideEmitWithAck(event, ...bin(args || []))) };
    } catch (e) {
      return { error: e.message };
    }
  },
  async serverCount({ nsp }) {
    return { count: await of(nsp).adapter.serverCount() };
  },
  async quit() {
    return quit(io);
  },
};

run(commands);
