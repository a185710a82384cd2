// The room page: one websocket to the room, the message list, the member list and the composer.
// Every user-supplied string is put in the page with textContent, never as HTML.

import {
  TYPING_EXPIRY_MS,
  TYPING_SEND_INTERVAL_MS,
  avatarElement,
  continuesGroup,
  renderMarkdown,
  paintName,
  typingText,
  unreadTitle,
} from "./room_view.js";

const config = JSON.parse(document.getElementById("room-config").textContent);
const list = document.getElementById("messages");
const membersList = document.getElementById("members");
const memberCount = document.getElementById("member-count");
const input = document.getElementById("message");
const composer = document.getElementById("composer");
const composerError = document.getElementById("composer-error");
const connectionStatus = document.getElementById("connection");
// Through a watch link the page is read-only: no composer, rename or owner menu (they are not in
// the page, hence the `?.` on their listeners), and the socket is the watcher's.
const watching = Boolean(config.watch);

// Errors after which reconnecting cannot help.
const FATAL_ERRORS = new Set(["no_name", "room_not_found", "forbidden_origin", "room_removed", "watch_link_invalid", "watch_revoked"]);
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
let lastSeq = 0; // highest change seq seen (edits, deletions, reactions): replayed after it on resume
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

// Own messages are known by the author tag of this session (names are not unique); messages
// stored without one (before tags existed, or imported) fall back to the name.
function isOwn(message) {
  return message.author ? message.author === config.author : message.name === config.name;
}

function renderMessage(message) {
  const pending = message.client_id && list.querySelector(`li.pending[data-client-id="${CSS.escape(message.client_id)}"]`);
  if (pending) pending.remove();
  if (message.client_id) forgetUnconfirmed(message.client_id);
  if (shownIds.has(message.id)) return;
  shownIds.add(message.id);
  lastId = Math.max(lastId, message.id);
  const item = el("li", "message");
  if (isOwn(message)) item.classList.add("own");
  item.dataset.name = message.name;
  item.dataset.ts = message.ts;
  const header = el("div", "message-header");
  header.append(paintName(el("span", "author", message.name), message.name), timeElement(message.ts));
  const body = el("p", "body");
  body.append(renderMarkdown(message.body));
  item.append(avatarElement(message.name), header, body);
  if (message.client_id) item.dataset.clientId = message.client_id;
  showRichState(item, message);
  if (!isOwn(message)) highlightMentions(body);
  insertById(item, message.id);
  regroup(item);
  regroup(item.nextElementSibling);
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

const watcherCount = document.getElementById("watcher-count");

function renderMembers(members, watchers) {
  membersList.replaceChildren(...members.map(memberItem));
  memberCount.textContent = String(members.length);
  watcherCount.hidden = !watchers;
  watcherCount.textContent = watchers === 1 ? "1 person watching (read-only)" : `${watchers} people watching (read-only)`;
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
    if (frame.before !== undefined) return showEarlierPage(frame); // a page asked for by "load earlier"
    noteHistoryStart(frame);
    frame.messages.forEach(renderMessage);
    scrollToEnd();
    // The last page of a resume (or a fresh connect's only page) shows which ones were stored.
    if (resuming && frame.complete !== false) {
      resuming = false;
      resendUnconfirmed();
    }
  },
  message(frame) {
    const wasAtBottom = isAtBottom();
    const unseen = !shownIds.has(frame.id);
    renderMessage(frame);
    forgetTypist(frame.name);
    if (!unseen) return; // a resend's confirmation: nothing new to show
    if (!isOwn(frame)) countUnread();
    if (!isOwn(frame) && mentionsMe(frame.body)) notifyMention(frame);
    followNewContent(wasAtBottom);
  },
  system(frame) {
    const wasAtBottom = isAtBottom();
    if (frame.event === "rename") adoptRename(frame);
    renderSystem(frame);
    followNewContent(wasAtBottom);
  },
  presence(frame) {
    // On phones the member list sits above the messages: when it grows, keep the newest in view.
    const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 2;
    renderMembers(frame.members, frame.watchers || 0);
    if (atEnd) scrollToEnd();
  },
  error(frame) {
    if (showRenameError(frame)) return;
    if (earlierPageRefused(frame)) return;
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
  const resume = lastId ? `?after=${lastId}&seq=${lastSeq}` : "";
  setConnection(reconnectAttempts ? "reconnecting" : "connecting", reconnectAttempts ? "Reconnecting…" : "Connecting…");
  const path = watching ? `${encodeURIComponent(config.code)}/watch/${encodeURIComponent(config.watch)}` : encodeURIComponent(config.code);
  socket = new WebSocket(`${scheme}://${location.host}/ws/rooms/${path}/${resume}`);
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

composer?.addEventListener("submit", (event) => {
  event.preventDefault();
  sendMessage();
});

input?.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendMessage();
  }
});

document.getElementById("copy-link")?.addEventListener("click", async (event) => {
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
document.querySelector(".leave-form")?.addEventListener("submit", () => {
  stopped = true;
  if (socket) socket.close(1000, "left");
});

window.addEventListener("online", () => {
  if (socket || stopped) return;
  clearTimeout(reconnectTimer);
  connect();
});

// --- room experience: grouping, scrolling, unread, paging, typing, rename -------------------

const loadEarlierButton = document.getElementById("load-earlier");
const newMessagesPill = document.getElementById("new-messages");
const typingStatus = document.getElementById("typing");
const renameToggle = document.getElementById("rename-toggle");
const renameForm = document.getElementById("rename-form");
const renameInput = document.getElementById("rename-name");
const renameError = document.getElementById("rename-error");
const baseTitle = document.title;
const BOTTOM_SLACK_PX = 48; // this close to the end still counts as "reading the newest"

let unread = 0;
let loadingEarlier = false;
let typingSentAt = 0;
const typists = new Map(); // name -> timer that forgets them

function memberItem(name) {
  const item = el("li", name === config.name ? "member me" : "member");
  item.append(avatarElement(name, 24), paintName(el("span", "member-name", name), name));
  return item;
}

// A message continuing its author's run (same person, within 5 minutes) shows no second header.
function regroup(item) {
  if (!item || !item.dataset.ts) return;
  const previous = item.previousElementSibling;
  const continues = Boolean(previous && previous.dataset.ts && continuesGroup(previous.dataset, item.dataset));
  item.classList.toggle("grouped", continues);
}

function isAtBottom() {
  return list.scrollHeight - list.scrollTop - list.clientHeight <= BOTTOM_SLACK_PX;
}

// Follow new content only when the reader was already at the end; otherwise offer a way down.
function followNewContent(wasAtBottom) {
  if (wasAtBottom) {
    scrollToEnd();
    newMessagesPill.hidden = true;
  } else {
    // Float just above the list's bottom edge, whatever the composer's height is now.
    const conversationBottom = list.parentElement.getBoundingClientRect().bottom;
    newMessagesPill.style.bottom = `${conversationBottom - list.getBoundingClientRect().bottom + 12}px`;
    newMessagesPill.hidden = false;
  }
}

newMessagesPill.addEventListener("click", () => {
  scrollToEnd();
  newMessagesPill.hidden = true;
  input?.focus();
});

list.addEventListener("scroll", () => {
  if (isAtBottom()) newMessagesPill.hidden = true;
  if (list.scrollTop < 24 && list.scrollHeight > list.clientHeight && !loadEarlierButton.hidden) loadEarlier();
});

// Unread count in the tab title while the page is hidden; cleared when the reader is back.
function countUnread() {
  if (!document.hidden) return;
  unread += 1;
  document.title = unreadTitle(unread, baseTitle);
}

function clearUnread() {
  if (document.hidden) return;
  unread = 0;
  document.title = baseTitle;
}

document.addEventListener("visibilitychange", clearUnread);
window.addEventListener("focus", clearUnread);

// History paging: the on-connect frame says whether older messages exist ("after" frames are a
// reconnect's catch-up and say nothing about the start); "before" frames are pages we asked for.
function noteHistoryStart(frame) {
  loadingEarlier = false; // a page asked for on a dropped connection will not come
  if (frame.after === undefined) setHasEarlier(frame.has_more);
}

function setHasEarlier(hasMore) {
  loadEarlierButton.hidden = !hasMore;
  loadEarlierButton.disabled = false;
  loadEarlierButton.textContent = "Load earlier messages";
}

function oldestShownId() {
  let oldest = Infinity;
  for (const id of shownIds) oldest = Math.min(oldest, id);
  return oldest;
}

function loadEarlier() {
  const before = oldestShownId();
  if (loadingEarlier || !Number.isFinite(before) || !socket || socket.readyState !== WebSocket.OPEN) return;
  loadingEarlier = true;
  loadEarlierButton.disabled = true;
  loadEarlierButton.textContent = "Loading…";
  socket.send(JSON.stringify({ type: "history", before }));
}

// Paging too fast is refused with the request's `before`: ask again once it is allowed.
function earlierPageRefused(frame) {
  if (frame.code !== "rate_limited" || frame.before === undefined) return false;
  setTimeout(() => {
    loadingEarlier = false;
    loadEarlier();
  }, (frame.retry_after || 1) * 1000);
  return true;
}

function showEarlierPage(frame) {
  loadingEarlier = false;
  // Keep the reader's place: what was on screen stays put while older messages go above it.
  const fromBottom = list.scrollHeight - list.scrollTop;
  frame.messages.forEach(renderMessage);
  list.scrollTop = list.scrollHeight - fromBottom;
  setHasEarlier(frame.has_more);
}

loadEarlierButton.addEventListener("click", loadEarlier);

// Typing: tell the room at most once per interval while typing; show others for 5 s after their last.
function sendTyping() {
  const now = Date.now();
  if (!input.value.trim() || now - typingSentAt < TYPING_SEND_INTERVAL_MS) return;
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  typingSentAt = now;
  socket.send(JSON.stringify({ type: "typing" }));
}

function showTypists() {
  typingStatus.textContent = typingText([...typists.keys()]);
}

function forgetTypist(name) {
  clearTimeout(typists.get(name));
  if (typists.delete(name)) showTypists();
}

handlers.typing = (frame) => {
  clearTimeout(typists.get(frame.name));
  typists.set(
    frame.name,
    setTimeout(() => forgetTypist(frame.name), TYPING_EXPIRY_MS),
  );
  showTypists();
};

// The composer grows with its text (up to the CSS max-height) and announces typing.
function fitComposer() {
  input.style.height = "auto";
  input.style.height = `${input.scrollHeight + 2}px`;
}

input?.addEventListener("input", () => {
  fitComposer();
  sendTyping();
});
composer?.addEventListener("submit", () => {
  typingSentAt = 0; // the next message's typing is news again
  requestAnimationFrame(fitComposer);
});
input?.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || event.shiftKey) return;
  typingSentAt = 0; // the next message's typing is news again
  requestAnimationFrame(fitComposer);
});

// Rename: a small form under the member list; the server confirms with a rename notice that
// carries "you":true, and only then does this page take the new name.
function openRename(open) {
  renameForm.hidden = !open;
  renameToggle.setAttribute("aria-expanded", String(open));
  renameError.hidden = true;
  if (open) {
    renameInput.value = config.name;
    renameInput.focus();
    renameInput.select();
  } else {
    input.focus();
  }
}

function adoptRename(frame) {
  forgetTypist(frame.old);
  if (!frame.you) return;
  config.name = frame.new;
  input.placeholder = `Message as ${frame.new}`;
  if (!renameForm.hidden) openRename(false);
}

function showRenameError(frame) {
  // A refused rename: a bad name, or the rate limit (which names no message's client_id).
  const aboutRename = frame.code === "invalid_name" || (frame.code === "rate_limited" && !frame.client_id);
  if (!aboutRename || renameForm.hidden) return false;
  renameError.textContent = frame.detail;
  renameError.hidden = false;
  renameInput.focus();
  return true;
}

renameToggle?.addEventListener("click", () => openRename(renameForm.hidden));
document.getElementById("rename-cancel")?.addEventListener("click", () => openRename(false));
renameForm?.addEventListener("keydown", (event) => {
  if (event.key === "Escape") openRename(false);
});
renameForm?.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = renameInput.value.trim();
  if (name === config.name) return openRename(false);
  if (!socket || socket.readyState !== WebSocket.OPEN) {
    renameError.textContent = "Not connected right now; try again in a moment.";
    renameError.hidden = false;
    return;
  }
  renameError.hidden = true;
  socket.send(JSON.stringify({ type: "rename", name }));
});

// --- owner controls (issue 9): badge, room menu, moderation notices -------------------------

const ownerBadge = document.getElementById("owner-badge");
const roomMenu = document.getElementById("room-menu");
const lockToggle = document.getElementById("lock-toggle");
const lockState = document.getElementById("lock-state");
const memberTarget = document.getElementById("member-target");
const muteMinutes = document.getElementById("mute-minutes");
let roomLocked = false;

FATAL_ERRORS.add("kicked");
FATAL_ERRORS.add("locked");
FATAL_ERRORS.add("passphrase_required");
FATAL_ERRORS.add("room_expired");

Object.assign(SYSTEM_TEXT, {
  kick: (frame) => [nameInText(frame.name), " was removed by ", nameInText(frame.by)],
  mute: (frame) => [nameInText(frame.name), ` was muted for ${frame.minutes} min by `, nameInText(frame.by)],
  lock: (frame) => [nameInText(frame.name), " locked the room: no new members can join"],
  unlock: (frame) => [nameInText(frame.name), " unlocked the room"],
  owner: (frame) => [nameInText(frame.by), " made ", nameInText(frame.name), " the owner"],
  expiry: (frame) => [nameInText(frame.name), frame.expires_at ? " set the room to disappear" : " cancelled the expiry"],
  passphrase_set: (frame) => [nameInText(frame.name), " set a passphrase for new members"],
  passphrase_removed: (frame) => [nameInText(frame.name), " removed the passphrase"],
  watch_on: (frame) => [nameInText(frame.name), " shared a read-only watch link: people with it can read along"],
  watch_off: (frame) => [nameInText(frame.name), " ended the watch link"],
});

function showOwner(owner) {
  config.owner = owner;
  ownerBadge.hidden = !owner;
  roomMenu.hidden = !owner;
  if (!owner) roomMenu.open = false;
}

function showLocked(locked) {
  roomLocked = locked;
  lockState.textContent = locked ? "The room is locked: no new members can join." : "The room is open to new members.";
  lockToggle.textContent = locked ? "Unlock room" : "Lock room";
}

const expiryNote = document.getElementById("expiry");
let expiresAt = null;

function showExpiry() {
  if (!expiresAt) {
    expiryNote.hidden = true;
    return;
  }
  const minutes = Math.max(0, Math.round((expiresAt - Date.now()) / 60000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const left = days ? `${days} d ${hours} h` : hours ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
  expiryNote.textContent = `This room disappears in ${left}.`;
  expiryNote.hidden = false;
}

function setExpiry(iso) {
  expiresAt = iso ? Date.parse(iso) : null;
  showExpiry();
}

setExpiry(config.expires_at);
setInterval(showExpiry, 30000);

document.getElementById("expiry-form")?.addEventListener("submit", (event) => {
  event.preventDefault();
  ownerAction({ type: "expiry", hours: Number.parseInt(document.getElementById("expiry-hours").value, 10) });
});

handlers.room_state = (frame) => {
  if ("expires_at" in frame) setExpiry(frame.expires_at);
  if (watching) return; // the rest is about members and owners
  if (typeof frame.owner === "boolean") showOwner(frame.owner);
  if (frame.owner_link) showOwnerLink(frame.owner_link);
  if (typeof frame.locked === "boolean") showLocked(frame.locked);
  if (frame.muted_until) showError(`You are muted until ${new Date(frame.muted_until).toLocaleTimeString()}.`);
  if ("watch_link" in frame) showWatchLink(frame.watch_link);
  if (typeof frame.watch_active === "boolean") showWatchActive(frame.watch_active);
};

// A new owner learns its owner link live (the link holds the new key; only its sessions get it).
function showOwnerLink(path) {
  document.getElementById("owner-link").value = new URL(path, location.origin).href;
  document.getElementById("owner-link-row").hidden = false;
}

// The watch link: the session that made it sees it (and after a reload); other owner sessions
// learn only that one is live, so they can revoke or replace it.
const watchLinkField = document.getElementById("watch-link");

function showWatchLink(path) {
  watchLinkField.value = path ? new URL(path, location.origin).href : "";
}

function showWatchActive(active) {
  if (!watchLinkField) return;
  if (!active) watchLinkField.value = "";
  const known = active && Boolean(watchLinkField.value);
  watchLinkField.hidden = !known;
  document.getElementById("watch-link-label").hidden = !known;
  document.getElementById("revoke-watch-link").hidden = !active;
  document.getElementById("create-watch-link").textContent = active ? "Replace watch link" : "Create watch link";
  document.getElementById("watch-link-state").textContent = !active
    ? "No watch link: create one to let people read along without joining."
    : known
      ? "Anyone with this link can read the room live, without joining or sending."
      : "A watch link made in another browser is live. Replace it to see a link here.";
}

if (!watching) showWatchActive(Boolean(config.watch_active));
document.getElementById("create-watch-link")?.addEventListener("click", () => ownerAction({ type: "watch_link", active: true }));
document.getElementById("revoke-watch-link")?.addEventListener("click", () => ownerAction({ type: "watch_link", active: false }));

const showPresence = handlers.presence;
handlers.presence = (frame) => {
  showPresence(frame);
  if (watching) return;
  const chosen = memberTarget.value;
  memberTarget.replaceChildren(
    ...frame.members.filter((name) => name !== config.name).map((name) => {
      const option = el("option", "", name);
      option.value = name;
      return option;
    }),
  );
  if (frame.members.includes(chosen)) memberTarget.value = chosen;
};

function ownerAction(frame) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return showError("Not connected right now; try again in a moment.");
  socket.send(JSON.stringify(frame));
}

function chosenMember() {
  if (!memberTarget.value) showError("Nobody else is here to choose.");
  return memberTarget.value;
}

document.getElementById("passphrase-form")?.addEventListener("submit", (event) => {
  event.preventDefault();
  const field = document.getElementById("new-passphrase");
  ownerAction({ type: "passphrase", passphrase: field.value });
  field.value = "";
});

lockToggle?.addEventListener("click", () => ownerAction({ type: "lock", locked: !roomLocked }));
document.getElementById("kick-member")?.addEventListener("click", () => {
  const name = chosenMember();
  if (name) ownerAction({ type: "kick", name });
});
document.getElementById("mute-member")?.addEventListener("click", () => {
  const name = chosenMember();
  if (name) ownerAction({ type: "mute", name, minutes: Number.parseInt(muteMinutes.value, 10) });
});
document.getElementById("transfer-owner")?.addEventListener("click", () => {
  const name = chosenMember();
  if (name) ownerAction({ type: "transfer", to: name });
});

window.addEventListener("offline", () => {
  if (!stopped) setConnection("offline", "Offline");
});

connect();

// --- rich messages: edit, delete, reactions (docs/protocol.md, "Edits, deletions, reactions") ---

const REACTION_EMOJI = ["👍", "❤️", "😂", "😮", "😢", "🎉"];
const EDIT_WINDOW_MS = 15 * 60 * 1000;

// Show a message's edited mark, deleted placeholder, reactions and actions. The server decides who
// may edit (the author's session); buttons appear on messages shown as one's own.
function showRichState(item, message) {
  lastSeq = Math.max(lastSeq, message.seq || 0);
  item.querySelectorAll(".edited, .reactions, .message-actions, .edit-form").forEach((node) => node.remove());
  const body = item.querySelector(".body");
  body.hidden = false;
  item.classList.toggle("deleted", Boolean(message.deleted));
  if (message.deleted) {
    body.replaceChildren(el("em", "deleted-note", "message deleted"));
    return;
  }
  if (message.edited) {
    const mark = el("span", "edited", "(edited)");
    mark.title = `Edited ${new Date(message.edited).toLocaleString()}`;
    item.querySelector(".message-header").append(mark);
  }
  // Chosen reactions as chips (click toggles yours); the picker and actions float over the
  // message on hover, so showing them never moves what the reader is looking at.
  const bar = el("div", "reactions");
  for (const reaction of message.reactions || []) {
    const chip = el("button", "reaction", `${reaction.emoji} ${reaction.count}`);
    chip.type = "button";
    chip.dataset.emoji = reaction.emoji;
    chip.title = reaction.names.join(", ");
    if (reaction.authors ? reaction.authors.includes(config.author) : reaction.names.includes(config.name)) {
      chip.classList.add("mine");
    }
    chip.disabled = watching;
    chip.addEventListener("click", () => sendFrame({ type: "react", id: message.id, emoji: reaction.emoji }));
    bar.append(chip);
  }
  if (bar.childElementCount) item.append(bar);
  if (watching) return; // read-only: no reacting, editing or deleting
  const actions = el("div", "message-actions");
  for (const emoji of REACTION_EMOJI) {
    const add = el("button", "add-reaction", emoji);
    add.type = "button";
    add.dataset.emoji = emoji;
    add.title = `React with ${emoji}`;
    add.addEventListener("click", () => sendFrame({ type: "react", id: message.id, emoji }));
    actions.append(add);
  }
  item.append(actions);
  if (!item.classList.contains("own")) return;
  if (Date.now() - Date.parse(message.ts) < EDIT_WINDOW_MS) {
    const edit = el("button", "edit-message", "Edit");
    edit.type = "button";
    edit.addEventListener("click", () => openEditor(item, message));
    actions.append(edit);
  }
  const remove = el("button", "delete-message", "Delete");
  remove.type = "button";
  remove.addEventListener("click", () => sendFrame({ type: "delete", id: message.id }));
  actions.append(remove);
}

function openEditor(item, message) {
  if (item.querySelector(".edit-form")) return;
  const body = item.querySelector(".body");
  const form = el("form", "edit-form");
  const field = el("textarea", "edit-body");
  field.value = message.body;
  field.setAttribute("aria-label", "Edit message");
  const save = el("button", "save-edit", "Save");
  save.type = "submit";
  const cancel = el("button", "cancel-edit", "Cancel");
  cancel.type = "button";
  const close = () => {
    form.remove();
    body.hidden = false;
  };
  cancel.addEventListener("click", close);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = field.value.trim();
    if (text && text !== message.body) sendFrame({ type: "edit", id: message.id, body: text });
    close();
  });
  form.append(field, save, cancel);
  body.hidden = true;
  body.after(form);
  field.focus();
}

handlers.message_changed = (frame) => {
  lastSeq = Math.max(lastSeq, frame.seq || 0);
  const item = list.querySelector(`li.message[data-id="${frame.id}"]`);
  if (!item) return; // not loaded here; "load earlier" brings its current state
  const body = item.querySelector(".body");
  if (!frame.deleted) body.replaceChildren(renderMarkdown(frame.body));
  if (!frame.deleted && !isOwn(frame)) highlightMentions(body);
  showRichState(item, frame);
};

// --- mentions: "@name" of the reader is highlighted; a hidden tab notifies (and beeps) ---------

const MENTION_SETTINGS = { notify: "roomchat.mentionNotify", sound: "roomchat.mentionSound" };

function mentionPattern() {
  const escaped = config.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // The name must end there: "@Al" does not mention "Alice", "@Alice," does.
  return new RegExp(`@${escaped}(?![\\p{L}\\p{N}_])`, "giu");
}

function mentionsMe(text) {
  if (!config.name) return false; // a watcher has no name to be mentioned by
  return mentionPattern().test(text || "");
}

// Wrap "@me" in <mark class="mention"> in the body's plain text (not in code or links).
function highlightMentions(body) {
  if (!config.name) return;
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) {
    if (!walker.currentNode.parentElement.closest("code, pre, a")) nodes.push(walker.currentNode);
  }
  let found = false;
  for (const node of nodes) {
    const text = node.textContent;
    const parts = [];
    let start = 0;
    for (const match of text.matchAll(mentionPattern())) {
      parts.push(document.createTextNode(text.slice(start, match.index)), el("mark", "mention", match[0]));
      start = match.index + match[0].length;
    }
    if (!parts.length) continue;
    found = true;
    parts.push(document.createTextNode(text.slice(start)));
    node.replaceWith(...parts);
  }
  body.closest("li")?.classList.toggle("mentions-me", found);
}

function mentionSetting(key) {
  return localStorage.getItem(MENTION_SETTINGS[key]) !== "off";
}

function beep() {
  const AudioContextClass = window.AudioContext || window.webkitAudioContext;
  if (!AudioContextClass) return;
  const audio = new AudioContextClass();
  const tone = audio.createOscillator();
  const volume = audio.createGain();
  tone.frequency.value = 880;
  volume.gain.setValueAtTime(0.15, audio.currentTime);
  volume.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
  tone.connect(volume).connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + 0.25);
  tone.addEventListener("ended", () => audio.close());
}

function notifyMention(frame) {
  if (!document.hidden) return; // the highlight is enough while the reader is looking
  if (mentionSetting("notify") && "Notification" in window && Notification.permission === "granted") {
    const note = new Notification(`${frame.name} mentioned you`, { body: frame.body.slice(0, 200), tag: `roomchat-${frame.id}` });
    note.addEventListener("click", () => window.focus());
  }
  if (mentionSetting("sound")) beep();
}

// Two checkboxes after the composer; the browser is asked for notification permission only when
// the person ticks "Notify" (a user gesture), never on page load.
function mentionControls() {
  const box = el("div", "mention-settings");
  for (const [key, label] of [
    ["notify", "Notify me of @mentions"],
    ["sound", "Sound"],
  ]) {
    const wrapper = el("label", `mention-${key}`);
    const check = document.createElement("input");
    check.type = "checkbox";
    check.name = `mention-${key}`;
    check.checked = mentionSetting(key);
    check.addEventListener("change", () => {
      localStorage.setItem(MENTION_SETTINGS[key], check.checked ? "on" : "off");
      if (key === "notify" && check.checked && "Notification" in window && Notification.permission === "default") {
        Notification.requestPermission();
      }
    });
    wrapper.append(check, document.createTextNode(` ${label}`));
    box.append(wrapper);
  }
  composer.after(box);
}

if (!watching) mentionControls();
