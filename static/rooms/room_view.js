// How the room page looks and reads: avatars, name colours, links in messages, typing summaries,
// message grouping and the unread title. Pure functions first (tests/browser/test_room_view_js.py runs
// them in Chromium), then small DOM builders. Text is only ever set with textContent / text nodes.

import { gettext, interpolate } from "./room/i18n.js";

// One colour per hue: [light theme, dark theme]. Each keeps WCAG AA contrast (≥ 4.5:1) for a name
// on the message and "own message" backgrounds of its theme, and for the avatar's initials
// (white on the light-theme colour, the dark background colour on the dark-theme one);
// tests/test_room_view_contrast.py checks that against the values in style.css.
export const PALETTE = [
  ["#cc2424", "#ea6e6e"],
  ["#a3541d", "#e1782d"],
  ["#806617", "#b7901a"],
  ["#3e7715", "#59b319"],
  ["#157937", "#19b34d"],
  ["#15756d", "#19b3a6"],
  ["#1c719c", "#209edd"],
  ["#355fdb", "#7291eb"],
  ["#7b49df", "#a480ed"],
  ["#a725d2", "#cb6eea"],
  ["#ba21a1", "#e85ed1"],
  ["#c72368", "#e9679d"],
];

export const GROUP_WINDOW_MS = 5 * 60 * 1000; // consecutive messages this close share one header
export const TYPING_EXPIRY_MS = 5000; // a typist is forgotten this long after their last typing frame
export const TYPING_SEND_INTERVAL_MS = 2000; // the server relays at most one typing frame per 2 s

// FNV-1a over the UTF-16 code units: stable across page loads and browsers, cheap, well spread.
export function nameHash(name) {
  let hash = 0x811c9dc5;
  for (let index = 0; index < name.length; index += 1) {
    hash ^= name.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function colourFor(name) {
  return PALETTE[nameHash(name) % PALETTE.length];
}

// Up to two initials: the first character of the first two words (whole characters, so an emoji
// or an accented letter is not cut in half).
export function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.slice(0, 2).map((word) => Array.from(word)[0]);
  return letters.join("").toLocaleUpperCase() || "?";
}

export function typingText(names) {
  if (names.length === 0) return "";
  if (names.length === 1) return interpolate(gettext("%(name)s is typing…"), { name: names[0] });
  if (names.length === 2) {
    return interpolate(gettext("%(first)s and %(second)s are typing…"), { first: names[0], second: names[1] });
  }
  return gettext("Several people are typing…");
}

export function unreadTitle(count, baseTitle) {
  return count > 0 ? `(${count}) ${baseTitle}` : baseTitle;
}

// Whether `next` continues `previous`'s group: same author, in order, within GROUP_WINDOW_MS.
export function continuesGroup(previous, next) {
  if (!previous || !next || previous.name !== next.name) return false;
  const gap = Date.parse(next.ts) - Date.parse(previous.ts);
  return gap >= 0 && gap <= GROUP_WINDOW_MS;
}

// A short message of emoji alone ("🎉", "👍👍") is shown large, as chat apps do.
const EMOJI_ONLY = /^(?:\p{Extended_Pictographic}|\p{Emoji_Modifier}|\p{Regional_Indicator}|\u200d|\ufe0f|\s)+$/u;
export const EMOJI_ONLY_MAX = 6;

export function isEmojiOnly(text) {
  const trimmed = text.trim();
  if (!trimmed || !EMOJI_ONLY.test(trimmed)) return false;
  // A flag is two regional indicators; every other emoji has one pictograph.
  const pictographs = (trimmed.match(/\p{Extended_Pictographic}/gu) ?? []).length;
  const flags = Math.ceil((trimmed.match(/\p{Regional_Indicator}/gu) ?? []).length / 2);
  return pictographs + flags > 0 && pictographs + flags <= EMOJI_ONLY_MAX;
}

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?'"]+$/;

// Trailing punctuation ends a sentence, not a link; a closing bracket stays only if it is matched.
function trimLink(candidate) {
  let link = candidate.replace(TRAILING_PUNCTUATION, "");
  while (/[)\]}]$/.test(link)) {
    const close = link.at(-1);
    const open = { ")": "(", "]": "[", "}": "{" }[close];
    if (link.split(open).length >= link.split(close).length) break;
    link = link.slice(0, -1).replace(TRAILING_PUNCTUATION, "");
  }
  return link;
}

function safeHref(link) {
  try {
    const url = new URL(link);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

// The text cut into plain parts {text} and link parts {text, href}; only http(s) URLs are links.
export function splitLinks(text) {
  const parts = [];
  let plainStart = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const link = trimLink(match[0]);
    const href = safeHref(link);
    if (!href) continue;
    if (match.index > plainStart) parts.push({ text: text.slice(plainStart, match.index) });
    parts.push({ text: link, href });
    plainStart = match.index + link.length;
  }
  if (plainStart < text.length) parts.push({ text: text.slice(plainStart) });
  return parts;
}

// --- DOM builders ---------------------------------------------------------------------------

const SVG_NS = "http://www.w3.org/2000/svg";

// The name's colours as custom properties; style.css picks the one for the current theme.
export function paintName(node, name) {
  const [light, dark] = colourFor(name);
  node.style.setProperty("--name-light", light);
  node.style.setProperty("--name-dark", dark);
  return node;
}

export function avatarElement(name, size = 32) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", "avatar");
  svg.setAttribute("viewBox", "0 0 32 32");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const circle = document.createElementNS(SVG_NS, "circle");
  circle.setAttribute("cx", "16");
  circle.setAttribute("cy", "16");
  circle.setAttribute("r", "16");
  const letters = document.createElementNS(SVG_NS, "text");
  letters.setAttribute("x", "16");
  letters.setAttribute("y", "16");
  letters.setAttribute("dy", "0.35em");
  letters.setAttribute("text-anchor", "middle");
  letters.textContent = initials(name);
  svg.append(circle, letters);
  return paintName(svg, name);
}

export function linkedText(text) {
  const fragment = document.createDocumentFragment();
  for (const part of splitLinks(text)) {
    if (!part.href) {
      fragment.append(document.createTextNode(part.text));
      continue;
    }
    const link = document.createElement("a");
    link.href = part.href;
    link.rel = "noopener noreferrer nofollow";
    link.target = "_blank";
    link.textContent = part.text;
    fragment.append(link);
  }
  return fragment;
}

// --- light markdown (docs/protocol.md: bodies are plain text; the page renders a safe subset) ---
// *italic*, **bold**, `code`, ```fenced blocks``` and http(s) links become tokens; everything
// else is literal text. DOM nodes are built from the tokens, never from HTML.

const FENCE = /```\n?([\s\S]*?)```/g; // a language name after ``` stays as the first line
const INLINE = /`([^`\n]+)`|\*\*([^*\n]+)\*\*|\*([^*\s](?:[^*\n]*[^*\s])?)\*/g;

function plainTokens(text, tokens) {
  for (const part of splitLinks(text)) {
    if (part.href) {
      tokens.push({ type: "link", text: part.text, href: part.href });
      continue;
    }
    // Line breaks stay in the text: .body is white-space: pre-wrap.
    tokens.push({ type: "text", text: part.text });
  }
}

function inlineTokens(text, tokens) {
  let start = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > start) plainTokens(text.slice(start, match.index), tokens);
    if (match[1] !== undefined) tokens.push({ type: "code", text: match[1] });
    else if (match[2] !== undefined) tokens.push({ type: "strong", text: match[2] });
    else tokens.push({ type: "em", text: match[3] });
    start = match.index + match[0].length;
  }
  if (start < text.length) plainTokens(text.slice(start), tokens);
}

// The body as tokens: {type: text|em|strong|code|pre|link, text, href?}.
export function markdownTokens(text) {
  const tokens = [];
  let start = 0;
  for (const match of text.matchAll(FENCE)) {
    if (match.index > start) inlineTokens(text.slice(start, match.index), tokens);
    tokens.push({ type: "pre", text: match[1].replace(/\n$/, "") });
    start = match.index + match[0].length;
  }
  if (start < text.length) inlineTokens(text.slice(start), tokens);
  return tokens;
}

export const MARKDOWN_ELEMENTS = new Set(["EM", "STRONG", "CODE", "PRE", "A", "BR"]);

// The DOM of a body: only text nodes and the elements of MARKDOWN_ELEMENTS.
export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  for (const token of markdownTokens(text)) {
    if (token.type === "text") {
      fragment.append(document.createTextNode(token.text));
    } else if (token.type === "br") {
      fragment.append(document.createElement("br"));
    } else if (token.type === "link") {
      const link = document.createElement("a");
      link.href = token.href;
      link.rel = "noopener noreferrer nofollow";
      link.target = "_blank";
      link.textContent = token.text;
      fragment.append(link);
    } else if (token.type === "pre") {
      const block = document.createElement("pre");
      const code = document.createElement("code");
      code.textContent = token.text;
      block.append(code);
      fragment.append(block);
    } else {
      const node = document.createElement(token.type); // em, strong, code
      node.textContent = token.text;
      fragment.append(node);
    }
  }
  return fragment;
}
