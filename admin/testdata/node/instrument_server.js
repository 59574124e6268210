// instrument_server.js is the Node counterpart of the Go test server:
// socket.io 4 with @socket.io/admin-ui's instrument, basic auth, and the
// same "hello" listener. Usage: node instrument_server.js <port> <bcrypt hash>
const { Server } = require("socket.io");
const { instrument } = require("@socket.io/admin-ui");
const [port, hash] = process.argv.slice(2);
const io = new Server(Number(port), { cors: { origin: true } });
io.of("/chat");
instrument(io, { auth: { type: "basic", username: "admin", password: hash }, mode: "development" });
io.on("connection", (socket) => {
  socket.on("hello", () => socket.emit("reply", "hi"));
  socket.on("rename", (name) => { socket.data.name = name; });
});
console.log("listening");
