// The chat page. CHAT_SERVER (set by /config.js) is the URL of the chat
// server: this page's own origin, or another origin on the cross-origin
// demo page.
"use strict";

// The server refuses handshakes without this token (demoToken in main.go).
const TOKEN = "demo-token";

const $ = (selector) => document.querySelector(selector);
let socket = null; // the socket.io socket, once "Connect" was clicked
let nick = "";
let current = null; // the room messages are sent to
const rooms = new Set(); // the rooms joined
const typists = new Map(); // "room/nick" -> the timer hiding the indicator

// Connect with the nickname in the handshake's auth.
$("#connect").onsubmit = (e) => {
  e.preventDefault();
  if (socket) socket.disconnect();
  nick = $("#nick").value.trim();
  socket = io(CHAT_SERVER, {
    auth: { nick },
    // Cross-origin requests carry cookies (and may set them: the session
    // cookie "io").
    withCredentials: true,
    // Sent on the HTTP long-polling requests the connection starts with;
    // browsers cannot put headers on a WebSocket, which the connection
    // upgrades to afterwards.
    extraHeaders: { Authorization: "Bearer " + TOKEN },
  });
  socket.on("connect", () => {
    showStatus("online as " + nick + " via " + socket.io.engine.transport.name);
    socket.io.engine.once("upgrade", (t) => showStatus("online as " + nick + " via " + t.name));
    // After a reconnection (a server restart, a network drop) the server
    // knows nothing of this socket's rooms: join them again.
    for (const room of rooms) rejoin(room);
    update();
  });
  socket.on("connect_error", (err) => showStatus("not connected: " + err.message));
  socket.on("disconnect", (reason) => {
    showStatus("offline (" + reason + ")");
    update();
  });
  socket.on("chat", (m, ack) => {
    setTypist(m.room, m.from, false);
    line("msg", m.room, bold(m.from + ": "), m.text);
    ack(); // tells the server (and so the sender) it arrived
  });
  socket.on("notice", (n) => line("notice", n.room, n.text));
  socket.on("typing", (t) => setTypist(t.room, t.from, t.typing));
};

// Join a room: it becomes the current one.
$("#join").onsubmit = (e) => {
  e.preventDefault();
  const room = $("#room").value.trim();
  socket.emit("join", room, (res) => {
    if (!res.ok) return line("notice error", room, res.error);
    rooms.add(room);
    current = room;
    line("notice", room, "you joined #" + room);
    update();
  });
};

// rejoin joins a room of the list again, after a reconnection.
function rejoin(room) {
  socket.emit("join", room, (res) => {
    if (res.ok) return line("notice", room, "you are back in #" + room);
    rooms.delete(room);
    if (current === room) current = rooms.values().next().value ?? null;
    line("notice error", room, "could not rejoin #" + room + ": " + res.error);
    update();
  });
}

function leave(room) {
  socket.emit("leave", room, () => {
    rooms.delete(room);
    if (current === room) current = rooms.values().next().value ?? null;
    line("notice", room, "you left #" + room);
    update();
  });
}

// Send a message to the current room; the server's ack marks it delivered.
$("#send").onsubmit = (e) => {
  e.preventDefault();
  const text = $("#text").value.trim();
  if (!text) return;
  $("#text").value = "";
  stopTyping();
  const state = document.createElement("span");
  state.className = "state";
  state.textContent = "sending…";
  const div = line("msg mine", current, bold(nick + ": "), text, state);
  socket.timeout(10000).emit("chat", { room: current, text }, (err, res) => {
    if (err || !res.ok) {
      div.classList.add("failed");
      state.textContent = "not delivered" + (res ? ": " + res.error : "");
      return;
    }
    div.classList.add("delivered");
    state.textContent = res.receivers === 0 ? "✓ sent (nobody else here)" :
      "✓ delivered to " + res.receivers + (res.receivers === 1 ? " member" : " members");
  });
};

// "is typing": sent when typing starts (again every 2 s while it goes on)
// and when it stops (a message sent, or 3 s without a key).
let typingRoom = null;
let typingSent = 0;
let typingTimer = null;
$("#text").oninput = () => {
  if (typingRoom !== current || Date.now() - typingSent > 2000) {
    stopTyping();
    typingRoom = current;
    typingSent = Date.now();
    socket.emit("typing", { room: current, typing: true });
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, 3000);
};

function stopTyping() {
  clearTimeout(typingTimer);
  if (typingRoom !== null && socket) socket.emit("typing", { room: typingRoom, typing: false });
  typingRoom = null;
}

// The indicator of others; it hides itself after 5 s without news.
function setTypist(room, who, on) {
  const key = room + "/" + who;
  clearTimeout(typists.get(key));
  typists.delete(key);
  if (on) typists.set(key, setTimeout(() => setTypist(room, who, false), 5000));
  $("#typing").textContent = [...typists.keys()]
    .map((k) => k.split("/")[1] + " is typing in #" + k.split("/")[0] + "…")
    .join(" ");
}

// update redraws the room list and enables what can be used.
function update() {
  const online = socket !== null && socket.connected;
  for (const el of $("#join").elements) el.disabled = !online;
  $("#rooms").replaceChildren(...[...rooms].map((room) => {
    const li = document.createElement("li");
    li.dataset.room = room;
    li.className = room === current ? "current" : "";
    const pick = button("#" + room, "send to #" + room, () => { current = room; update(); });
    const quit = button("×", "leave #" + room, () => leave(room));
    quit.className = "leave";
    pick.disabled = quit.disabled = !online;
    li.append(pick, quit);
    return li;
  }));
  for (const el of $("#send").elements) el.disabled = !online || current === null;
  $("#text").placeholder = current === null ? "Join a room to chat" : "Message #" + current;
}

function line(kind, room, ...content) {
  const div = document.createElement("div");
  div.className = "line " + kind;
  div.dataset.room = room;
  const tag = document.createElement("span");
  tag.className = "tag";
  tag.textContent = "#" + room;
  div.append(tag, ...content);
  $("#log").append(div);
  $("#log").scrollTop = $("#log").scrollHeight;
  return div;
}

function bold(text) {
  const b = document.createElement("b");
  b.textContent = text;
  return b;
}

function button(text, title, onclick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.title = title;
  b.onclick = onclick;
  return b;
}

function showStatus(text) {
  $("#status").textContent = text;
}
