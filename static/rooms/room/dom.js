// Small DOM builders shared by the room page's modules. Text goes in with textContent, never as HTML.

import { formatFullDateTime, formatTime } from "./i18n.js";

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function button(className, text, onClick) {
  const node = el("button", className, text);
  node.type = "button";
  if (onClick) node.addEventListener("click", onClick);
  return node;
}

// A server timestamp in the reader's local time, written the page's language's way; the full date on hover.
export function timeElement(ts) {
  const when = new Date(ts);
  const node = el("time", "ts", formatTime(when));
  node.dateTime = ts;
  node.title = formatFullDateTime(when);
  return node;
}

// A name inside a sentence is its own <bdi>, so a right-to-left override in the name cannot
// reverse the words around it.
export function nameInText(name) {
  return el("bdi", "name", name);
}
