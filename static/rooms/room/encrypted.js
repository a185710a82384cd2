// An end-to-end encrypted room on the page (docs/e2ee.md). The key comes from the link's fragment
// (#k=…), from this tab's sessionStorage when the person chose "remember", or from the home page
// that just made the room; a key that does not open the room's key check is no key. The socket
// passes every frame through `inbound` (message bodies decrypted, replies quoted from decrypted
// parents, a tampered or foreign ciphertext shown as a placeholder) and every frame it sends
// through `outbound` (bodies and edits encrypted; searches answered here from the decrypted
// messages, since the server cannot read them). Commands are the page's too: /shrug and /nick
// are carried out before encrypting, "/me" and "//" are read after decrypting.

import {
  decryptText,
  encryptText,
  importKey,
  keyInFragment,
  linkWithKey,
  messageContext,
  opensKeyCheck,
  readDecrypted,
} from "./crypto.js";
import { gettext, interpolate } from "./i18n.js";
import { excerpt } from "./reply.js";
import { searchWords } from "./search.js";

export const NEW_KEY_STORAGE = "roomchat-new-room-key"; // static/rooms/home.js leaves it there
export const UNREADABLE = gettext(
  "🔒 This message could not be decrypted: it was altered, or it was not encrypted with this room's key.",
);
const SHRUG = "¯\\_(ツ)_/¯";
const MESSAGE_LISTS = new Set(["history", "history_around", "pins", "search_results"]);

const rememberedKeyName = (code) => `roomchat-room-key:${code}`;

// The first of the candidate keys (base64url texts) that opens the room's key check, or null.
export async function findRoomKey(candidates, check) {
  for (const text of candidates) {
    if (!text) continue;
    try {
      const key = await importKey(text);
      if (await opensKeyCheck(key, check)) return { key, text };
    } catch {
      // not a key at all: try the next
    }
  }
  return null;
}

// Every word of the query starts some word of the body (the server's own search rule).
export function matchesWords(body, words) {
  const bodyWords = body.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];
  return words.every((word) => bodyWords.some((each) => each.startsWith(word.toLowerCase())));
}

// A decrypted transcript, as the server's text transcript reads (times in UTC).
export function transcriptText(code, messages) {
  const lines = [interpolate(gettext("# Room %(code)s (end-to-end encrypted; decrypted in the browser)"), { code })];
  for (const message of messages) {
    const time = `${message.ts.slice(0, 16).replace("T", " ")} UTC`;
    const body = message.body.split("\n").join("\n  ");
    lines.push(`[${time}] ${message.action ? `* ${message.name} ${body}` : `${message.name}: ${body}`}`);
  }
  return `${lines.join("\n")}\n`;
}

// The room's key, or null when this page has none that opens the room (it then shows why).
export async function openRoomKey(config) {
  const check = { ciphertext: config.encryption.key_check, iv: config.encryption.key_check_iv };
  const remembered = sessionStorage.getItem(rememberedKeyName(config.code));
  const made = sessionStorage.getItem(NEW_KEY_STORAGE);
  const found = await findRoomKey([keyInFragment(location.hash), remembered, made], check);
  if (found && found.text === made) sessionStorage.removeItem(NEW_KEY_STORAGE);
  if (found) history.replaceState(history.state, "", linkWithKey(location.href, found.text));
  return found;
}

// Without a key nothing of the room is shown or connected: only the notice saying what to open.
export function showLocked(status) {
  for (const part of document.querySelectorAll(".conversation, .members-panel")) part.hidden = true;
  document.getElementById("e2ee-locked").hidden = false;
  status.setConnection("offline", gettext("Not connected"));
}

export function createEncryptedRoom({ config, key, keyText, frames, status }) {
  const decrypted = new Map(); // message id -> its latest frame, decrypted
  // Local answers (searches) go to the frame registry as if the server had sent them.
  const deliverLocally = (frame) => queueMicrotask(() => frames.dispatch(frame));

  async function open(message) {
    if (!message.ciphertext) {
      if (message.deleted) decrypted.delete(message.id);
      return;
    }
    try {
      const text = await decryptText(key, message, messageContext(config.code, message.client_id));
      Object.assign(message, readDecrypted(text));
    } catch {
      Object.assign(message, { body: UNREADABLE, undecryptable: true, action: false });
    }
    if (message.reply_to?.encrypted) {
      const parent = decrypted.get(message.reply_to.id);
      message.reply_to.excerpt = parent ? excerpt(parent.body) : "(an earlier message)";
      if (parent?.action) message.reply_to.action = true;
    }
    decrypted.set(message.id, message);
  }

  async function inbound(frame) {
    if (frame.type === "message" || frame.type === "message_changed") await open(frame);
    else if (MESSAGE_LISTS.has(frame.type)) for (const message of frame.messages ?? []) await open(message);
    return frame;
  }

  async function seal(text, clientId) {
    return encryptText(key, text, messageContext(config.code, clientId));
  }

  // The server cannot search here: the decrypted messages this page holds are searched instead.
  function searchHere(frame) {
    const words = searchWords(frame.q);
    const found = [...decrypted.values()]
      .filter((message) => !message.undecryptable && !message.deleted)
      .filter((message) => (frame.before ? message.id < frame.before : true))
      .filter((message) => matchesWords(message.body, words))
      .sort((a, b) => b.id - a.id);
    const answer = { type: "search_results", q: frame.q, messages: found, has_more: false };
    if (frame.before) answer.before = frame.before;
    deliverLocally(answer);
  }

  async function outbound(frame) {
    if (frame.type === "search") {
      searchHere(frame);
      return null;
    }
    if (frame.type === "message") {
      const { body, ...rest } = frame;
      return { ...rest, ...(await seal(body, frame.client_id)) };
    }
    if (frame.type === "edit") {
      const original = decrypted.get(frame.id);
      const text = original?.action ? `/me ${frame.body}` : frame.body;
      const { body, ...rest } = frame;
      return { ...rest, ...(await seal(text, original?.client_id)) };
    }
    return frame;
  }

  // The composer's hook, after the unknown-command check: what the server would do with a command
  // is done here, before the body is encrypted.
  function beforeSend(frame, socket) {
    const command = /^\/(\w+)(?:\s+([\s\S]*))?$/.exec(frame.body.trim());
    if (!command || frame.body.startsWith("//")) return;
    const [, name, argument = ""] = command;
    if (name.toLowerCase() === "shrug") frame.body = argument.trim() ? `${argument.trim()} ${SHRUG}` : SHRUG;
    if (name.toLowerCase() === "me" && !argument.trim()) {
      status.showError(gettext("Say what you do after /me, e.g. /me waves."));
      return false;
    }
    if (name.toLowerCase() === "nick") {
      socket.send({ type: "rename", name: argument.trim() });
      document.getElementById("message").value = "";
      return false;
    }
  }

  function wirePage() {
    const link = linkWithKey(new URL(`/rooms/${encodeURIComponent(config.code)}/`, location.origin).href, keyText);
    const hint = document.getElementById("invite-link-text");
    if (hint) hint.href = link;
    const remember = document.getElementById("e2ee-remember");
    if (remember) {
      remember.checked = sessionStorage.getItem(rememberedKeyName(config.code)) === keyText;
      remember.addEventListener("change", () => {
        if (remember.checked) sessionStorage.setItem(rememberedKeyName(config.code), keyText);
        else sessionStorage.removeItem(rememberedKeyName(config.code));
      });
    }
    document.getElementById("e2ee-transcript")?.addEventListener("click", () => {
      const shown = [...decrypted.values()].filter((m) => !m.deleted).sort((a, b) => a.id - b.id);
      const blob = new Blob([transcriptText(config.code, shown)], { type: "text/plain;charset=utf-8" });
      const anchor = document.createElement("a");
      anchor.href = URL.createObjectURL(blob);
      anchor.download = `roomchat-${config.code}-decrypted.txt`;
      anchor.click();
      setTimeout(() => URL.revokeObjectURL(anchor.href), 1000);
    });
    return link;
  }

  return {
    inbound,
    outbound,
    beforeSend,
    inviteLink: wirePage(),
    decrypted,
  };
}
