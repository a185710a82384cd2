// Search in the room: a search box above the list, the matching messages newest first with the
// searched words highlighted (marks built as elements around text nodes, never HTML), "More
// results" for older matches, and each result goes to its message in the list when clicked.

import { button, el, nameInText, timeElement } from "./dom.js";
import { CLAIMED } from "./frames.js";
import { gettext, interpolate, ngettext } from "./i18n.js";

const WORD = /[\p{L}\p{N}_]+/gu;

// The query's words, lower-cased, as the server reads them.
export function searchWords(q) {
  return [...new Set((q.toLowerCase().match(WORD) || []).filter(Boolean))];
}

// The text cut into parts {text, match}: a match is the start of a word that begins with one of `words`.
export function highlightParts(text, words) {
  if (!words.length) return [{ text, match: false }];
  const escaped = words.map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${escaped.join("|")})`, "giu");
  const parts = [];
  let start = 0;
  for (const found of text.matchAll(pattern)) {
    if (found.index > start) parts.push({ text: text.slice(start, found.index), match: false });
    parts.push({ text: found[0], match: true });
    start = found.index + found[0].length;
  }
  if (start < text.length) parts.push({ text: text.slice(start), match: false });
  return parts;
}

export function createSearch({ frames, socket, jump }) {
  const form = el("form", "search-form");
  form.id = "search-form";
  form.setAttribute("role", "search");
  const label = el("label", "visually-hidden", gettext("Search messages"));
  label.htmlFor = "search";
  const input = el("input", "search-input");
  input.id = "search";
  input.type = "search";
  input.placeholder = gettext("Search messages");
  input.maxLength = 100;
  const submit = el("button", "search-submit", gettext("Search"));
  submit.type = "submit";
  form.append(label, input, submit);
  const panel = el("section", "search-results");
  panel.id = "search-results";
  panel.hidden = true;
  panel.setAttribute("aria-label", gettext("Search results"));
  const summary = el("p", "search-summary");
  summary.setAttribute("role", "status");
  const results = el("ol", "search-list");
  const more = button("search-more", gettext("More results"), () => ask(current, oldestShown));
  const close = button("search-close", gettext("Close search"), () => {
    panel.hidden = true;
    input.value = "";
  });
  panel.append(summary, close, results, more);
  const conversation = document.querySelector(".conversation");
  conversation.prepend(form, panel);
  let current = "";
  let oldestShown = null;

  function ask(q, before) {
    const frame = { type: "search", q };
    if (before) frame.before = before;
    if (socket.send(frame)) summary.textContent = gettext("Searching…");
    else summary.textContent = gettext("Not connected; search again once the room is back.");
    panel.hidden = false;
  }

  function result(message, words) {
    const item = el("li", "search-result");
    item.dataset.id = String(message.id);
    const open = button("search-open", "", () => jump.to(message.id));
    const header = el("span", "search-result-header");
    header.append(nameInText(message.name), " ", timeElement(message.ts));
    const body = el("span", "search-result-body");
    body.dir = "auto";
    const text = message.action ? `* ${message.name} ${message.body}` : message.body;
    for (const part of highlightParts(text, words)) {
      body.append(part.match ? el("mark", "search-hit", part.text) : document.createTextNode(part.text));
    }
    open.append(header, body);
    item.append(open);
    return item;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = input.value.trim();
    if (!searchWords(q).length) return;
    current = q;
    oldestShown = null;
    results.replaceChildren();
    ask(q);
  });

  frames.on("search_results", (frame) => {
    if (frame.q !== current) return; // an answer to an earlier search
    const words = searchWords(frame.q);
    results.append(...frame.messages.map((message) => result(message, words)));
    if (frame.messages.length) oldestShown = frame.messages.at(-1).id;
    const count = results.childElementCount;
    // "20+ results": more may follow; the plural follows the number shown.
    const shown = frame.has_more ? `${count}+` : String(count);
    const found = ngettext("%(count)s result for “%(query)s”", "%(count)s results for “%(query)s”", count);
    summary.textContent = count
      ? interpolate(found, { count: shown, query: frame.q })
      : interpolate(gettext("No messages match “%(query)s”."), { query: frame.q });
    more.hidden = !frame.has_more;
  });
  // A refused search is this box's to explain (a bad query, searching too fast).
  frames.on("error", (frame) => {
    if (frame.q === undefined) return;
    summary.textContent = frame.detail;
    panel.hidden = false;
    return CLAIMED;
  });
}
