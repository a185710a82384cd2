// Landmarks in the message list: a separator where a new day starts ("Today", "Yesterday", a date),
// a marker at the start of the room once its first message is loaded, and, while nobody has
// written yet, a hint with the invite link.

import { el } from "./dom.js";
import { formatDay, gettext, interpolate } from "./i18n.js";

const DAY_MS = 24 * 60 * 60 * 1000;

// The local calendar day of a time, as a comparable key.
export function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

// "Today", "Yesterday", or the date (with the year only when it is not this year's).
export function dayLabel(date, now = new Date()) {
  if (dayKey(date) === dayKey(now)) return gettext("Today");
  if (dayKey(date) === dayKey(new Date(now.getTime() - DAY_MS))) return gettext("Yesterday");
  return formatDay(date, date.getFullYear() !== now.getFullYear());
}

export function createDays({ config, frames }) {
  const list = document.getElementById("messages");
  const hint = document.getElementById("empty-hint");
  let startReached = false;

  function separator(className, text) {
    const item = el("li", className);
    item.append(el("span", "landmark-text", text));
    return item;
  }

  // Checked after each change, whatever order entries arrived in; separators already right are
  // kept (one may have keyboard focus), the others replaced.
  function refresh() {
    const kept = new Set();
    let previousDay = null;
    for (const item of list.querySelectorAll(":scope > li[data-ts]")) {
      const when = new Date(item.dataset.ts);
      if (dayKey(when) === previousDay) continue;
      previousDay = dayKey(when);
      const label = dayLabel(when);
      let mark = item.previousElementSibling;
      if (!mark?.classList.contains("day-separator") || mark.textContent !== label) {
        mark = separator("day-separator", label);
        item.before(mark);
      }
      kept.add(mark);
    }
    for (const old of list.querySelectorAll(":scope > .day-separator")) if (!kept.has(old)) old.remove();
    const start = list.querySelector(":scope > .room-start");
    if (startReached && list.firstElementChild !== start) {
      start?.remove();
      list.prepend(
        separator("room-start", interpolate(gettext("This is the start of room %(code)s."), { code: config.code })),
      );
    }
    if (hint) hint.hidden = list.querySelector(":scope > li.message") !== null;
  }

  const inviteLink = document.getElementById("invite-link-text");
  if (inviteLink) inviteLink.textContent = inviteLink.href; // the whole address, as people share it
  frames.on("history", (frame) => {
    // The first message is loaded when a page that reaches back (on connect, or asked for) says so.
    const reachesBack = frame.after === undefined && frame.after_seq === undefined;
    if (reachesBack && frame.has_more === false) startReached = true;
    refresh();
  });
  frames.on("message", refresh);
  frames.on("system", refresh);
}
