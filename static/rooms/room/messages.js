// The message list (#messages): messages in id order, each shown once, grouped by author, and the
// system notices (join, leave, rename, moderation) as the frame registry describes them.

import { avatarElement, continuesGroup, paintName, renderMarkdown } from "../room_view.js";
import { el, timeElement } from "./dom.js";
import { gettext, interpolate } from "./i18n.js";

// Own messages are known by the author tag of this session (names are not unique); messages
// stored without one (before tags existed, or imported) fall back to the name.
export function isOwn(message, config) {
  if (message.bot) return false; // a bot may go by this person's name: it is never them
  return message.author ? message.author === config.author : message.name === config.name;
}

// The ids of the messages shown: a live copy of a message already in a history page, or a
// resend's echo, is shown once.
export class MessageIds {
  #ids = new Set();

  // Returns whether the id is new (and remembers it).
  add(id) {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    return true;
  }

  has(id) {
    return this.#ids.has(id);
  }

  // The oldest shown, where "load earlier" continues from; null before any.
  oldest() {
    let oldest = null;
    for (const id of this.#ids) if (oldest === null || id < oldest) oldest = id;
    return oldest;
  }
}

// The label of a bot's message: any name can be a bot's, so the badge is what tells.
export function botBadge() {
  const badge = el("span", "bot-badge", gettext("bot"));
  badge.title = gettext("Posted by a bot, through the room's API or a webhook");
  return badge;
}

const ANNOUNCED_KEPT = 5; // older announcements are removed; they have been read out

// onNewFromOthers: functions told of each new live message someone else sent (unread count, mentions).
export function createMessages({ config, frames, rich, mentions, scroll, onNewFromOthers }) {
  const list = document.getElementById("messages");
  const announcer = document.getElementById("announcer");
  const ids = new MessageIds();

  // Screen readers hear each new live message once, here; history and earlier pages stay quiet.
  function announce(message) {
    const name = message.bot ? interpolate(gettext("%(name)s (bot)"), { name: message.name }) : message.name;
    const line = el("p", "", interpolate(gettext("%(name)s: %(body)s"), { name, body: message.body }));
    line.dataset.id = String(message.id);
    announcer.append(line);
    while (announcer.childElementCount > ANNOUNCED_KEPT) announcer.firstElementChild.remove();
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

  // A message continuing its author's run (same person, within 5 minutes) shows no second header.
  function regroup(item) {
    if (!item?.dataset.ts) return;
    const previous = item.previousElementSibling;
    // A bot's message never continues a person's run (nor the reverse): its header shows the badge.
    const sameKind = previous?.dataset.bot === item.dataset.bot;
    const continues = Boolean(previous?.dataset.ts && sameKind && continuesGroup(previous.dataset, item.dataset));
    item.classList.toggle("grouped", continues);
  }

  // Shows a message where its id belongs; returns false when it was already shown.
  function show(message) {
    if (!ids.add(message.id)) return false;
    const own = isOwn(message, config);
    const item = el("li", own ? "message own" : "message");
    // An encrypted room's message this page could not decrypt (room/encrypted.js) shows its placeholder.
    if (message.undecryptable) item.classList.add("undecryptable");
    item.dataset.name = message.name;
    item.dataset.ts = message.ts;
    const header = el("div", "message-header");
    header.append(paintName(el("span", "author", message.name), message.name));
    if (message.bot) {
      item.dataset.bot = "1";
      header.append(botBadge());
    }
    header.append(timeElement(message.ts));
    const body = el("p", "body");
    body.dir = "auto"; // a right-to-left body (Arabic, Hebrew …) reads and aligns from the right
    body.append(renderMarkdown(message.body));
    item.append(avatarElement(message.name), header, body);
    if (message.client_id) item.dataset.clientId = message.client_id;
    rich.show(item, message);
    if (!own) mentions.highlight(body);
    insertById(item, message.id);
    regroup(item);
    regroup(item.nextElementSibling);
    return true;
  }

  function showNotice(frame) {
    const parts = frames.describeNotice(frame);
    if (!parts) return;
    const item = el("li", "system");
    const text = el("span", "system-text");
    text.append(...parts);
    item.append(text);
    if (frame.ts) {
      item.dataset.ts = frame.ts; // for the day separators
      item.append(timeElement(frame.ts));
    }
    list.append(item);
  }

  frames.on("message", (frame) => {
    const wasAtBottom = scroll.isAtBottom();
    if (!show(frame)) return; // a resend's confirmation: nothing new to show
    if (!isOwn(frame, config)) {
      announce(frame);
      for (const listener of onNewFromOthers) listener(frame);
    }
    scroll.follow(wasAtBottom);
  });
  // A deleted message leaves no copy behind, not even the hidden one read out.
  frames.on("message_changed", (frame) => {
    if (frame.deleted) announcer.querySelector(`[data-id="${frame.id}"]`)?.remove();
  });
  frames.on("system", (frame) => {
    const wasAtBottom = scroll.isAtBottom();
    showNotice(frame);
    scroll.follow(wasAtBottom);
  });

  return { show, ids };
}
