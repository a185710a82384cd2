// Messages sent but not yet confirmed by their echo. Each is kept, by client_id in the order typed,
// until the server's echo (live or in a resumed history) shows it stored: typed offline, unanswered
// when the connection dropped, or refused for now. It is resent with the same client_id, so the
// server never stores it twice, and a message is never dropped: a refusal that retrying cannot fix
// leaves it on screen, marked "not sent", with a Retry button.

import { button, el } from "./dom.js";
import { CLAIMED } from "./frames.js";
import { gettext } from "./i18n.js";

// The database hiccuped: the message is sent again by itself after a delay. Any other refusal
// (rate_limited: the person is typing too fast; invalid input) marks it failed.
export const AUTO_RETRY_ERRORS = new Set(["unavailable"]);
export const AUTO_RETRIES = 5; // then it is marked failed too
export const RESEND_SPACING_MS = 250; // queued messages go out at 4/s, under the server's 5/s rate limit
const RETRY_MAX_MS = 30000;
const RETRY_JITTER_MS = 250;

// How long to wait before resending a refused message (before jitter), or null when retrying
// cannot help. `attempt` counts from 1; the server's retry_after (seconds) wins when it names one.
export function retryDelay(code, attempt, retryAfterSeconds) {
  if (!AUTO_RETRY_ERRORS.has(code) || attempt > AUTO_RETRIES) return null;
  return retryAfterSeconds ? retryAfterSeconds * 1000 : Math.min(RETRY_MAX_MS, 1000 * 2 ** attempt);
}

// The queue itself, free of the DOM: `send(frame)` goes to the socket (and does nothing offline);
// timers and randomness are passed in so a test can drive them.
export class PendingSends {
  #entries = new Map(); // client_id -> {frame, attempts, failed, timer}

  constructor(send, { timers = globalThis, random = Math.random } = {}) {
    this.send = send;
    this.timers = timers;
    this.random = random;
  }

  has(clientId) {
    return this.#entries.has(clientId);
  }

  isFailed(clientId) {
    return Boolean(this.#entries.get(clientId)?.failed);
  }

  get size() {
    return this.#entries.size;
  }

  // Kept until confirmed, and sent now; offline, the resend after the next connect sends it.
  add(frame) {
    this.#entries.set(frame.client_id, { frame, attempts: 0, failed: false, timer: null });
    this.send(frame);
  }

  // Its echo came: it is stored. Returns whether it was waiting here.
  confirm(clientId) {
    const entry = this.#entries.get(clientId);
    if (!entry) return false;
    this.timers.clearTimeout(entry.timer);
    this.#entries.delete(clientId);
    return true;
  }

  // After a (re)connect has delivered what was missed (which confirms whatever was stored before
  // the drop): send what is still waiting, in order, paced under the rate limit. Failed ones wait
  // for their Retry button; ones already timed are left to their timer.
  resendAll() {
    let delay = 0;
    for (const entry of this.#entries.values()) {
      if (entry.failed || entry.timer) continue;
      entry.timer = this.timers.setTimeout(() => {
        entry.timer = null;
        if (this.#entries.has(entry.frame.client_id)) this.send(entry.frame);
      }, delay);
      delay += RESEND_SPACING_MS;
    }
  }

  // The server refused one of ours (the error names its client_id). Returns "retrying" (resent
  // later by itself), "failed", or null when the error is about no waiting message.
  refused(error) {
    const entry = error.client_id ? this.#entries.get(error.client_id) : undefined;
    if (!entry) return null;
    this.timers.clearTimeout(entry.timer);
    entry.timer = null;
    const delay = retryDelay(error.code, entry.attempts + 1, error.retry_after);
    if (delay === null) {
      entry.failed = true;
      return "failed";
    }
    entry.attempts += 1;
    entry.timer = this.timers.setTimeout(
      () => {
        entry.timer = null;
        this.send(entry.frame); // if offline by then, the next connect resends it
      },
      delay + this.random() * RETRY_JITTER_MS,
    );
    return "retrying";
  }

  // The person pressed Retry on a failed one: a fresh round of attempts, starting now.
  retry(clientId) {
    const entry = this.#entries.get(clientId);
    if (!entry) return false;
    entry.attempts = 0;
    entry.failed = false;
    this.send(entry.frame);
    return true;
  }
}

// --- on the page: the waiting messages at the end of #messages, "sending…", "not sent", Retry ---

export function createPending({ config, frames, socket, status }) {
  const list = document.getElementById("messages");
  const queue = new PendingSends((frame) => socket.send(frame));
  let resuming = false; // between (re)connecting and the last page of its history

  const itemOf = (clientId) => list.querySelector(`li.pending[data-client-id="${CSS.escape(clientId)}"]`);

  function setState(clientId, text, failed) {
    const item = itemOf(clientId);
    if (!item) return;
    item.classList.toggle("failed", failed);
    item.querySelector(".ts").textContent = text;
    item.querySelector(".retry")?.remove();
    if (!failed) return;
    const retry = button("retry", gettext("Retry"), () => {
      if (!queue.has(clientId)) return;
      status.hideError();
      setState(clientId, gettext("sending…"), false);
      list.append(item); // back to the end: waiting messages stay in the order they are sent
      queue.retry(clientId); // offline: resent after the next connect's history
    });
    item.querySelector(".message-header").append(retry);
  }

  // The echo of one of ours: its confirmed copy replaces the waiting one (before it is shown, so
  // the confirmed copy groups with the message above it).
  function confirm(message) {
    if (!message.client_id) return;
    itemOf(message.client_id)?.remove();
    queue.confirm(message.client_id);
  }

  socket.onConnect(() => {
    resuming = true;
  });
  frames.on("message", confirm);
  frames.on("history", (frame) => {
    frame.messages.forEach(confirm);
    // The last page of a resume (or a fresh connect's only page) shows which ones were stored.
    if (frame.before === undefined && resuming && frame.complete !== false) {
      resuming = false;
      queue.resendAll();
    }
  });
  frames.on("error", (frame) => {
    const outcome = queue.refused(frame);
    if (outcome === "retrying") {
      setState(frame.client_id, gettext("retrying…"), false);
      return CLAIMED;
    }
    // A failed one is marked here; the error's text is still shown under the composer.
    if (outcome === "failed") setState(frame.client_id, gettext("not sent"), true);
  });

  return {
    // Sent and carried out without a message to echo it (a /nick command): no longer waiting.
    done(clientId) {
      itemOf(clientId)?.remove();
      queue.confirm(clientId);
    },
    // A message just typed: shown at the end as "sending…" and sent (or queued while offline).
    add(frame) {
      const item = el("li", "message own pending");
      item.dataset.clientId = frame.client_id;
      const header = el("div", "message-header");
      header.append(el("span", "author", config.name), el("span", "ts", gettext("sending…")));
      const body = el("p", "body", frame.body);
      body.dir = "auto";
      item.append(header, body);
      list.append(item);
      queue.add(frame);
    },
  };
}
