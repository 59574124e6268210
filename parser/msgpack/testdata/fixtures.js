// Produces and checks the real-peer fixtures of codec_test.go with the real
// socket.io-msgpack-parser (3.0.2, notepack.io 2.2.0). Run it outside the
// repository:
//
//   mkdir /tmp/mpfix && cd /tmp/mpfix && npm init -y
//   npm install socket.io-msgpack-parser@3.0.2 socket.io@4.8.4 socket.io-client@4.8.4
//   node fixtures.js encode            # packet objects -> {"name","hex","json"} lines (nodeVectors)
//   node fixtures.js decode < in.jsonl # {"name","hex"} lines -> {"name","packet"|"error"} lines
//   node fixtures.js capture           # the bytes a real client and server exchange (captureVectors)
//   node fixtures.js oracle < in.jsonl # {"name","hex"} lines -> {"name","text","atts"} lines: the real
//                                      # Decoder's packet re-encoded by socket.io-parser's default Encoder
//
// "json" and "packet" are the decoded packet objects as JSON (the real
// Decoder's result for "packet"), with Buffers and ArrayBuffers shown as
// arrays of their bytes and undefined as JSON.stringify drops it.
"use strict";

const parser = require("socket.io-msgpack-parser");

function show(v) {
  if (Buffer.isBuffer(v)) return Array.from(v);
  if (v instanceof ArrayBuffer) return Array.from(new Uint8Array(v));
  if (Array.isArray(v)) return v.map(show);
  if (v instanceof Date) return v;
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = show(v[k]);
    return o;
  }
  return v;
}

function hex(bufs) {
  return Buffer.concat(bufs.map((b) => Buffer.from(b))).toString("hex");
}

const longStr = "x".repeat(40);
const str300 = "é".repeat(150); // 300 bytes: str 16
const bigObj = {};
for (let i = 0; i < 17; i++) bigObj["k" + i] = i;
const bigArr = [];
for (let i = 0; i < 20; i++) bigArr.push(i * 1000);

// Packet objects as a Node client or server hands them to the Encoder.
const packets = {
  connect_client_no_auth: { type: 0, data: undefined, nsp: "/" },
  connect_no_data: { type: 0, nsp: "/admin" },
  connect_auth: { type: 0, data: { token: "x" }, nsp: "/admin" },
  connect_reply: { type: 0, data: { sid: "abc" }, nsp: "/" },
  connect_reply_pid: { type: 0, data: { sid: "abc", pid: "x" }, nsp: "/admin" },
  connect_error_string: { type: 4, data: "Invalid namespace", nsp: "/nope" },
  connect_error_object: {
    type: 4,
    data: { message: "Not authorized", data: { x: 1 } },
    nsp: "/",
  },
  disconnect: { type: 1, nsp: "/admin" },
  event_chat: {
    type: 2,
    data: ["chat", { user: "anna", text: "hello there", n: 42 }],
    options: { compress: true },
    nsp: "/",
  },
  event_ack_id: {
    type: 2,
    data: ["ev", 1, "a"],
    options: { compress: true },
    id: 12,
    nsp: "/admin",
  },
  ack: { type: 3, id: 12, data: ["ok"], nsp: "/admin" },
  ack_big_id: { type: 3, id: 4294967296, data: [], nsp: "/" },
  numbers: {
    type: 2,
    data: [
      "nums", 0, -1, -32, -33, 127, 128, 255, 256, 65535, 65536, 4294967295,
      4294967296, -128, -129, -32768, -32769, -2147483648, -2147483649,
      2 ** 53, -(2 ** 53), 1.5, -0.25, 1e21, 1e-7, 3.14159, -0, NaN, Infinity,
      -Infinity, 5e-324, 1.7976931348623157e308, 0.1, 123456.789,
    ],
    nsp: "/",
  },
  // notepack.io garbles integers beyond 2^53 (its uint 64 high word is
  // truncated to 32 bits): JavaScript decodes 1e20 as 7766279631452242000.
  numbers_garbled: { type: 2, data: ["big", 1e20, -1e20, 2 ** 60], nsp: "/" },
  unicode: {
    type: 2,
    data: [
      "uni", "héllo", "日本語", "😀 astral 𝄞",
      'quote" back\\ nl\n tab\t ctl\u0001 bs\b ff\f cr\r del\u007f',
      "\u2028\u2029", "", longStr, str300,
    ],
    nsp: "/ünï",
  },
  nested: {
    type: 2,
    data: [
      "nest",
      { a: [1, { b: null, c: true, d: false }], e: {}, f: [], "": "empty key" },
      [[[[]]]],
    ],
    nsp: "/",
  },
  undefined_values: {
    type: 2,
    data: ["undef", undefined, { a: undefined, b: 1 }, [undefined]],
    nsp: "/",
  },
  big_containers: { type: 2, data: ["big", bigObj, bigArr], nsp: "/" },
  binary_event: {
    type: 2,
    data: [
      "bin",
      Buffer.from([1, 2, 3]),
      { x: Buffer.alloc(0), y: [Buffer.from("hi")] },
    ],
    options: { compress: true },
    nsp: "/",
  },
  binary_ack: { type: 3, id: 7, data: [Buffer.from([0xde, 0xad])], nsp: "/nsp" },
  binary_300: { type: 2, data: ["b300", Buffer.alloc(300, 7)], nsp: "/" },
  date: {
    type: 2,
    data: ["date", new Date(1500000000000), new Date(-62198755200000)],
    nsp: "/",
  },
  typed_array: { type: 2, data: ["ab", new Uint8Array([9, 8, 7])], nsp: "/" },
  array_buffer: {
    type: 2,
    data: ["ab", new Uint8Array([4, 5]).buffer],
    nsp: "/",
  },
  // socket.io-parser sends binary data outside EVENT and ACK as
  // JSON.stringify has it: {"type":"Buffer","data":[...]} for a Buffer, {}
  // for an ArrayBuffer.
  connect_auth_buffer: {
    type: 0,
    data: { token: "x", key: Buffer.from([1, 2]) },
    nsp: "/",
  },
  connect_error_array_buffer: {
    type: 4,
    data: { message: "m", data: new Uint8Array([1]) },
    nsp: "/",
  },
  explicit_undefined_id: { type: 2, data: ["ev"], id: undefined, nsp: "/" },
  placeholder_lookalike_no_binary: {
    type: 2,
    data: ["ph", { _placeholder: true, num: 0 }],
    nsp: "/",
  },
};

function encodeAll() {
  const enc = new parser.Encoder();
  for (const [name, p] of Object.entries(packets)) {
    const h = hex(enc.encode(p));
    // What the real Decoder makes of it, as a check.
    const dec = new parser.Decoder();
    let got;
    dec.on("decoded", (x) => (got = x));
    dec.add(Buffer.from(h, "hex"));
    console.log(JSON.stringify({ name, hex: h, json: JSON.stringify(show(got)) }));
  }
}

function decodeAll() {
  const lines = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
  for (const line of lines) {
    const { name, hex: h } = JSON.parse(line);
    const dec = new parser.Decoder();
    let got;
    dec.on("decoded", (x) => (got = x));
    try {
      dec.add(Buffer.from(h, "hex"));
      console.log(JSON.stringify({ name, packet: JSON.stringify(show(got)) }));
    } catch (e) {
      console.log(JSON.stringify({ name, error: e.message }));
    }
  }
}

// oracle decodes each message with the real Decoder and encodes the packet
// with socket.io-parser's default Encoder (the text encoding Decode must
// produce; binary data becomes placeholders and attachments).
function oracle() {
  const sioParser = require("socket.io-parser");
  const lines = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
  for (const line of lines) {
    const { name, hex: h, side } = JSON.parse(line);
    const dec = new parser.Decoder();
    let got;
    dec.on("decoded", (x) => (got = x));
    try {
      dec.add(Buffer.from(h, "hex"));
    } catch (e) {
      console.log(JSON.stringify({ name, side, error: e.message }));
      continue;
    }
    delete got.options;
    const [text, ...atts] = new sioParser.Encoder().encode(got);
    console.log(JSON.stringify({
      name, side, text,
      atts: atts.map((a) => Buffer.from(a instanceof ArrayBuffer ? new Uint8Array(a) : a).toString("hex")),
    }));
  }
}

// logEncoded makes the Encoder log the bytes of every packet it encodes.
function logEncoded(side) {
  const origEncode = parser.Encoder.prototype.encode;
  parser.Encoder.prototype.encode = function (packet) {
    const out = origEncode.call(this, packet);
    console.log(JSON.stringify({ side, hex: hex(out) }));
    return out;
  };
}

// capture runs a real server with the parser, and a real client in a child
// process (so each side's Encoder is known), and logs the bytes of every
// packet each side encodes, in order.
async function capture() {
  const { Server } = require("socket.io");
  logEncoded("server");
  const server = new Server(0, { parser });
  const port = server.httpServer.address().port;
  server.of("/admin").use((socket, next) => {
    if (socket.handshake.auth.token === "x") return next();
    const err = new Error("Not authorized");
    err.data = { x: 1 };
    next(err);
  });
  server.on("connection", (socket) => {
    socket.on("chat", (msg, ack) => ack("ok", Buffer.from([1, 2])));
    socket.on("upload", (name, data) => socket.emit("uploaded", name, data.length));
    socket.emit("hello", { n: 1.5 }, Buffer.from("bin"));
  });
  server.of("/admin").on("connection", (socket) => {
    socket.on("bye", () => socket.disconnect());
  });
  const child = require("child_process").spawn(
    process.execPath, [__filename, "capture-client", String(port)],
    { stdio: ["ignore", "inherit", "inherit"] });
  await new Promise((r) => child.on("exit", r));
  server.close();
}

async function captureClient(port) {
  const { io } = require("socket.io-client");
  logEncoded("client");
  const opts = { parser, transports: ["websocket"], forceNew: true };
  const c = io(`http://localhost:${port}`, opts);
  await new Promise((r) => c.on("hello", () => r()));
  await new Promise((r) => c.emit("chat", { user: "anna" }, () => r()));
  c.emit("upload", "f.bin", new Uint8Array([1, 2, 3]));
  await new Promise((r) => c.on("uploaded", () => r()));
  const bad = io(`http://localhost:${port}/admin`, opts);
  await new Promise((r) => bad.on("connect_error", () => r()));
  const good = io(`http://localhost:${port}/admin`, { ...opts, auth: { token: "x" } });
  await new Promise((r) => good.on("connect", () => r()));
  good.emit("bye");
  await new Promise((r) => good.on("disconnect", () => r()));
  c.close();
  bad.close();
}

const mode = process.argv[2];
if (mode === "encode") encodeAll();
else if (mode === "decode") decodeAll();
else if (mode === "oracle") oracle();
else if (mode === "capture") capture().then(() => process.exit(0));
else if (mode === "capture-client") captureClient(Number(process.argv[3])).then(() => process.exit(0));
else {
  console.error("usage: node fixtures.js encode|decode|capture");
  process.exit(2);
}
