// The room page: one websocket to the room, the message list, the member list and the composer.
// Every user-supplied string is put in the page with textContent, never as HTML.

const config = JSON.parse(document.getElementById("room-config").textContent);
const list = document.getElementById("messages");
const membersList = document.getElementById("members");
const memberCount = document.getElementById("member-count");
const input = document.getElementById("message");
const composer = document.getElementById("composer");
const composerError = document.getElementById("composer-error");
const connectionStatus = document.getElementById("connection");

// Errors after which reconnecting cannot help.
const FATAL_ERRORS = new Set(["no_name", "room_not_found", "forbidden_origin", "room_removed"]);
const RECONNECT_BASE_MS = 500;
const RECONNECT_MAX_MS = 10000;

let socket = null;
let lastId = 0; // highest message id seen: a reconnect asks for everything after it
let reconnectAttempts = 0;
let stopped = false;
let reconnectTimer = null;
const shownIds = new Set();
const unsent = []; // frames typed while disconnected, sent on reconnect (same client_id)

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function timeElement(ts) {
  const when = new Date(ts);
  const node = el("time", "ts", when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
  node.dateTime = ts;
  node.title = when.toLocaleString();
  return node;
}

// Insert a list item so that messages stay in id order even if a frame arrives late.
function insertById(item, id) {
  item.dataset.id = String(id);
  let before = null;
  for (let node = list.lastElementChild; node; node = node.previousElementSibling) {
    if (node.dataset.id && Number(node.dataset.id) < id) break;
    if (node.dataset.id) before = node;
  }
  list.insertBefore(item, before);
}

function renderMessage(message) {
  const pending = message.client_id && list.querySelector(`li.pending[data-client-id="${CSS.escape(message.client_id)}"]`);
  if (pending) pending.remove();
  if (shownIds.has(message.id)) return;
  shownIds.add(message.id);
  lastId = Math.max(lastId, message.id);
  const item = el("li", "message");
  if (message.name === config.name) item.classList.add("own");
  const header = el("div", "message-header");
  header.append(el("span", "author", message.name), timeElement(message.ts));
  item.append(header, el("p", "body", message.body));
  if (message.client_id) item.dataset.clientId = message.client_id;
  insertById(item, message.id);
}

function renderPending(frame) {
  const item = el("li", "message own pending");
  item.dataset.clientId = frame.client_id;
  const header = el("div", "message-header");
  header.append(el("span", "author", config.name), el("span", "ts", "sending…"));
  item.append(header, el("p", "body", frame.body));
  list.append(item);
}

// A name inside a sentence is its own <bdi>, so a right-to-left override in the name cannot
// reverse the words around it.
const nameInText = (name) => el("bdi", "name", name);

const SYSTEM_TEXT = {
  join: (frame) => [nameInText(frame.name), " has entered the room"],
  leave: (frame) => [nameInText(frame.name), " has left the room"],
  rename: (frame) => [nameInText(frame.old), " is now ", nameInText(frame.new)],
};

function renderSystem(frame) {
  const describe = SYSTEM_TEXT[frame.event];
  if (!describe) return;
  const item = el("li", "system");
  const text = el("span", "system-text");
  text.append(...describe(frame));
  item.append(text);
  if (frame.ts) item.append(timeElement(frame.ts));
  list.append(item);
}

function renderMembers(members) {
  membersList.replaceChildren(...members.map((name) => el("li", name === config.name ? "member me" : "member", name)));
  memberCount.textContent = String(members.length);
}

function scrollToEnd() {
  list.scrollTop = list.scrollHeight;
}

function showError(detail) {
  composerError.textContent = detail;
  composerError.hidden = false;
}

function setConnection(state, text) {
  connectionStatus.dataset.state = state;
  connectionStatus.textContent = text;
}

// Errors that answer a message frame. The server answers a connection's frames in order, so the
// refused message is the oldest one still waiting; it is marked "not sent" with a Retry button.
const MESSAGE_ERRORS = new Set(["rate_limited", "empty_message", "message_too_long", "invalid_message", "unavailable"]);

function markFailed(item) {
  const status = item.querySelector(".ts");
  const retry = el("button", "retry", "Retry");
  retry.type = "button";
  retry.addEventListener("click", () => {
    retry.remove();
    composerError.hidden = true;
    item.classList.remove("failed");
    status.textContent = "sending…";
    list.append(item); // back to the end, so waiting messages stay in the order they were sent
    const frame = { type: "message", body: item.querySelector(".body").textContent, client_id: item.dataset.clientId };
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
    else unsent.push(frame);
  });
  item.classList.add("failed");
  status.textContent = "not sent";
  status.after(retry);
}

const handlers = {
  history(frame) {
    frame.messages.forEach(renderMessage);
    scrollToEnd();
  },
  message(frame) {
    renderMessage(frame);
    scrollToEnd();
  },
  system(frame) {
    renderSystem(frame);
    scrollToEnd();
  },
  presence(frame) {
    // On phones the member list sits above the messages: when it grows, keep the newest in view.
    const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 2;
    renderMembers(frame.members);
    if (atEnd) scrollToEnd();
  },
  error(frame) {
    showError(frame.detail);
    const refused = MESSAGE_ERRORS.has(frame.code) && list.querySelector("li.pending:not(.failed)");
    if (refused) markFailed(refused);
    if (FATAL_ERRORS.has(frame.code)) {
      stopped = true;
      setConnection("offline", "Disconnected");
    }
  },
};

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const resume = lastId ? `?after=${lastId}` : "";
  setConnection(reconnectAttempts ? "reconnecting" : "connecting", reconnectAttempts ? "Reconnecting…" : "Connecting…");
  socket = new WebSocket(`${scheme}://${location.host}/ws/rooms/${encodeURIComponent(config.code)}/${resume}`);
  socket.addEventListener("open", () => {
    reconnectAttempts = 0;
    setConnection("connected", "Connected");
    while (unsent.length) socket.send(JSON.stringify(unsent.shift()));
  });
  socket.addEventListener("message", (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    const handle = handlers[frame.type];
    if (handle) handle(frame);
  });
  socket.addEventListener("close", () => {
    socket = null;
    if (stopped) return;
    // Capped exponential backoff with full jitter, so a restarted server is not stampeded.
    const delay = Math.random() * Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** reconnectAttempts);
    reconnectAttempts += 1;
    setConnection(navigator.onLine === false ? "offline" : "reconnecting", navigator.onLine === false ? "Offline" : "Reconnecting…");
    reconnectTimer = setTimeout(connect, delay);
  });
}

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function sendMessage() {
  const body = input.value.trim();
  if (!body) return;
  composerError.hidden = true;
  const frame = { type: "message", body, client_id: newClientId() };
  renderPending(frame);
  scrollToEnd();
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  else unsent.push(frame);
  input.value = "";
  input.focus();
}

composer.addEventListener("submit", (event) => {
  event.preventDefault();
  sendMessage();
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendMessage();
  }
});

document.getElementById("copy-link").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  const link = new URL(button.dataset.invitePath, location.origin).href;
  try {
    await navigator.clipboard.writeText(link);
    button.textContent = "Link copied";
  } catch {
    window.prompt("Copy this invite link:", link);
  }
  setTimeout(() => (button.textContent = "Copy invite link"), 2000);
});

// Close the socket before leaving so the others see the leave notice at once.
document.querySelector(".leave-form").addEventListener("submit", () => {
  stopped = true;
  if (socket) socket.close(1000, "left");
});

window.addEventListener("online", () => {
  if (socket || stopped) return;
  clearTimeout(reconnectTimer);
  connect();
});

connect();
