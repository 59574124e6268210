// Bench server: the Node socket.io v4 server with the bench behaviour
// (see ../../BENCHMARKS.md). Listens on 127.0.0.1 only.
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.env.PORT || 3002);
const httpServer = http.createServer();
const io = new Server(httpServer, {
  // The defaults, written out: no compression of WebSocket messages.
  perMessageDeflate: false,
  maxHttpBufferSize: 1e6,
});

io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("bcast", (payload, count) => {
    for (let i = 0; i < count; i++) io.emit("msg", payload);
  });
});

httpServer.listen(port, "127.0.0.1", 4096);
const stop = () => process.exit(0);
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
