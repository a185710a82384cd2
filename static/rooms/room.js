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
// The database hiccuped: the message is sent again by itself (same client_id) after a delay.
// Any other refusal (rate_limited: the person is typing too fast; invalid input) marks it failed
// with a Retry button; it is never dropped.
const AUTO_RETRY_ERRORS = new Set(["unavailable"]);
const AUTO_RETRIES = 5; // then it is marked failed too
const RESEND_SPACING_MS = 250; // queued messages go out at 4/s, under the server's 5/s rate limit

let socket = null;
let lastId = 0; // highest message id seen: a reconnect asks for everything after it
let reconnectAttempts = 0;
let stopped = false;
let reconnectTimer = null;
let resuming = false; // between (re)connecting and the last page of its history
const shownIds = new Set();
// Messages not yet confirmed by their echo, by client_id, in the order typed: typed offline,
// sent but unanswered when the connection dropped, or refused for now. Resent (same client_id,
// so never stored twice) after each (re)connect's history, or after a delay when refused.
const unconfirmed = new Map();

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
  if (message.client_id) forgetUnconfirmed(message.client_id);
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

function pendingItem(clientId) {
  return list.querySelector(`li.pending[data-client-id="${CSS.escape(clientId)}"]`);
}

function setPendingState(clientId, text, failed) {
  const item = pendingItem(clientId);
  if (!item) return;
  item.classList.toggle("failed", Boolean(failed));
  item.querySelector(".ts").textContent = text;
  item.querySelector(".retry")?.remove();
  if (failed) {
    const retry = el("button", "retry", "Retry");
    retry.type = "button";
    retry.addEventListener("click", () => {
      const entry = unconfirmed.get(clientId);
      if (!entry) return;
      entry.attempts = 0;
      entry.failed = false;
      composerError.hidden = true;
      setPendingState(clientId, "sending…", false);
      list.append(item); // back to the end: waiting messages stay in the order they are sent
      sendFrame(entry.frame); // offline: resent after the next connect's history
    });
    item.querySelector(".message-header").append(retry);
  }
}

function forgetUnconfirmed(clientId) {
  const entry = unconfirmed.get(clientId);
  if (entry) clearTimeout(entry.timer);
  unconfirmed.delete(clientId);
}

function sendFrame(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

// After a (re)connect has delivered what was missed (which confirms whatever was stored before
// the drop), send what is still unconfirmed, paced under the rate limit.
function resendUnconfirmed() {
  let delay = 0;
  for (const entry of unconfirmed.values()) {
    if (entry.failed || entry.timer) continue;
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if (unconfirmed.has(entry.frame.client_id)) sendFrame(entry.frame);
    }, delay);
    delay += RESEND_SPACING_MS;
  }
}

// The server refused one of our messages (the error names its client_id): retry later if that
// can help, otherwise keep its text on screen, marked failed, with a Retry button.
// Returns "retrying", "failed", or null when the error is not about a waiting message.
function messageRefused(frame) {
  const entry = frame.client_id && unconfirmed.get(frame.client_id);
  if (!entry) return null;
  clearTimeout(entry.timer);
  entry.timer = null;
  if (AUTO_RETRY_ERRORS.has(frame.code) && entry.attempts < AUTO_RETRIES) {
    entry.attempts += 1;
    const delay = frame.retry_after ? frame.retry_after * 1000 : Math.min(30000, 1000 * 2 ** entry.attempts);
    setPendingState(frame.client_id, "retrying…", false);
    entry.timer = setTimeout(() => {
      entry.timer = null;
      sendFrame(entry.frame); // if offline by then, the next connect resends it
    }, delay + Math.random() * 250);
    return "retrying";
  }
  entry.failed = true;
  setPendingState(frame.client_id, "not sent", true);
  return "failed";
}

const SYSTEM_TEXT = {
  join: (frame) => `${frame.name} has entered the room`,
  leave: (frame) => `${frame.name} has left the room`,
  rename: (frame) => `${frame.old} is now ${frame.new}`,
};

function renderSystem(frame) {
  const describe = SYSTEM_TEXT[frame.event];
  if (!describe) return;
  const item = el("li", "system");
  item.append(el("span", "system-text", describe(frame)));
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

const handlers = {
  history(frame) {
    frame.messages.forEach(renderMessage);
    scrollToEnd();
    // The last page of a resume (or a fresh connect's only page) shows which ones were stored.
    if (resuming && frame.complete !== false) {
      resuming = false;
      resendUnconfirmed();
    }
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
    renderMembers(frame.members);
  },
  error(frame) {
    if (messageRefused(frame) === "retrying") return;
    showError(frame.detail);
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
  resuming = true;
  socket.addEventListener("open", () => {
    reconnectAttempts = 0;
    setConnection("connected", "Connected");
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
  unconfirmed.set(frame.client_id, { frame, attempts: 0, failed: false, timer: null });
  sendFrame(frame); // offline: sent when the connection is back
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

window.addEventListener("offline", () => {
  if (!stopped) setConnection("offline", "Offline");
});

connect();
