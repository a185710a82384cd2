// Who is here: the member list with avatars and a count, the watchers (counted, not listed), and
// the join and leave notices.

import { avatarElement, paintName } from "../room_view.js";
import { el, nameInText } from "./dom.js";

export const NOTICES = {
  join: (frame) => [nameInText(frame.name), " has entered the room"],
  leave: (frame) => [nameInText(frame.name), " has left the room"],
};

export function watcherText(watchers) {
  return watchers === 1 ? "1 person watching (read-only)" : `${watchers} people watching (read-only)`;
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

  frames.on("presence", (frame) => {
    // On phones the member list sits above the messages: when it grows, keep the newest in view.
    const atEnd = scroll.distanceFromEnd() < 2;
    const watchers = frame.watchers || 0;
    members.replaceChildren(...frame.members.map(memberItem));
    memberCount.textContent = String(frame.members.length);
    watcherCount.hidden = !watchers;
    watcherCount.textContent = watcherText(watchers);
    if (atEnd) scroll.toEnd();
  });
}
