// Who is here: the member list with avatars and a count, the watchers (counted, not listed), and
// the join and leave notices.

import { avatarElement, paintName } from "../room_view.js";
import { el, nameInText } from "./dom.js";
import { gettext, interpolate, interpolateParts, ngettext } from "./i18n.js";

export const NOTICES = {
  join: (frame) => interpolateParts(gettext("%(name)s has entered the room"), { name: nameInText(frame.name) }),
  leave: (frame) => interpolateParts(gettext("%(name)s has left the room"), { name: nameInText(frame.name) }),
};

export function watcherText(watchers) {
  const text = ngettext("%(count)s person watching (read-only)", "%(count)s people watching (read-only)", watchers);
  return interpolate(text, { count: watchers });
}

// The member list's name for screen readers: "3 people here".
export function memberCountText(count) {
  return interpolate(ngettext("%(count)s person here", "%(count)s people here", count), { count });
}

export function createMembers({ config, frames, scroll }) {
  const members = document.getElementById("members");
  const memberCount = document.getElementById("member-count");
  const watcherCount = document.getElementById("watcher-count");

  function memberItem(name) {
    const item = el("li", name === config.name ? "member me" : "member");
    item.append(avatarElement(name, 24), paintName(el("span", "member-name", name), name));
    return item;
  }

  // The names shown, in the server's order (case-insensitive). A full `presence` list replaces
  // them; join, leave and rename notices change them at once (the server sends full lists at most
  // a couple of times a second, so a busy room's list would otherwise lag behind its notices).
  let names = [];
  let watchers = 0;
  const byName = (a, b) => {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  };

  function render() {
    // On phones the member list sits above the messages: when it grows, keep the newest in view.
    const atEnd = scroll.distanceFromEnd() < 2;
    members.replaceChildren(...names.map(memberItem));
    memberCount.textContent = String(names.length);
    members.setAttribute("aria-label", memberCountText(names.length));
    watcherCount.hidden = !watchers;
    watcherCount.textContent = watcherText(watchers);
    if (atEnd) scroll.toEnd();
  }

  function add(name) {
    if (names.includes(name)) return;
    names.push(name);
    names.sort(byName);
  }

  frames.on("presence", (frame) => {
    names = [...frame.members];
    watchers = frame.watchers || 0;
    render();
  });

  frames.on("system", (frame) => {
    if (frame.event === "join") add(frame.name);
    else if (frame.event === "leave") names = names.filter((name) => name !== frame.name);
    else if (frame.event === "rename" && frame.old !== frame.new) {
      names = names.filter((name) => name !== frame.old);
      add(frame.new);
    } else return;
    render();
  });
}
