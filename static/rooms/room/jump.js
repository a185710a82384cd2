// Going to a message in the list (a reply's quote, a search result): scrolled to the middle,
// focused and flashed. One not shown yet is fetched with the page of history around it
// (`history_around`); when that page does not reach what was shown after it, a "Load messages in
// between" item marks the gap and fills it a page at a time (the page around the gap's end).

import { button, el } from "./dom.js";
import { CLAIMED } from "./frames.js";
import { gettext } from "./i18n.js";

const FLASH_MS = 2000;

export function createJump({ frames, socket, messages, status }) {
  const list = document.getElementById("messages");
  let wanted = null; // the id asked for with `around`
  let gap = null; // {item, nextId: the first message after the page, end: the first shown after the gap, asked}

  const itemOf = (id) => list.querySelector(`li.message[data-id="${Number(id)}"]`);

  function reveal(item) {
    item.scrollIntoView({ block: "center" });
    item.classList.add("flash");
    item.tabIndex = -1;
    item.focus({ preventScroll: true });
    setTimeout(() => item.classList.remove("flash"), FLASH_MS);
  }

  // The first message shown after id `after`, or null.
  function shownAfter(after) {
    for (const item of list.querySelectorAll("li.message[data-id]")) {
      if (Number(item.dataset.id) > after) return item;
    }
    return null;
  }

  function closeGap() {
    gap?.item.remove();
    gap = null;
  }

  function fillGap() {
    if (!gap || !socket.send({ type: "history", around: gap.end })) return;
    gap.asked = gap.end;
    gap.item.querySelector("button").disabled = true;
  }

  function openGap(pageNewest, nextId) {
    closeGap();
    const end = shownAfter(pageNewest);
    if (nextId === null || messages.ids.has(nextId) || !end) return;
    const item = el("li", "gap");
    item.append(button("fill-gap", gettext("Load messages in between"), fillGap));
    end.before(item);
    gap = { item, nextId, end: Number(end.dataset.id), asked: null };
  }

  frames.on("history_around", (frame) => {
    if (gap && frame.around === gap.asked) return filled(frame);
    if (frame.around !== wanted) return;
    wanted = null;
    frame.messages.forEach(messages.show);
    if (frame.messages.length) openGap(frame.messages.at(-1).id, frame.next_id);
    const item = itemOf(frame.around);
    if (item) reveal(item);
  });

  // A page around the gap's end: the gap closes once the message right after the jumped-to page shows.
  function filled(frame) {
    frame.messages.forEach(messages.show);
    if (messages.ids.has(gap.nextId) || !frame.messages.length) return closeGap();
    gap.end = frame.messages[0].id;
    gap.asked = null;
    gap.item.querySelector("button").disabled = false;
  }

  frames.on("error", (frame) => {
    if (frame.around === undefined) return;
    if (gap && frame.around === gap.asked) {
      if (frame.code === "rate_limited") setTimeout(fillGap, (frame.retry_after || 1) * 1000);
      else closeGap();
      return CLAIMED;
    }
    if (frame.around !== wanted) return;
    wanted = null;
    status.showError(
      frame.code === "message_not_found" ? gettext("That message is no longer in the room.") : frame.detail,
    );
    return CLAIMED;
  });

  return {
    to(id) {
      const item = itemOf(id);
      if (item) return reveal(item);
      wanted = id;
      if (!socket.send({ type: "history", around: id }))
        status.showError(gettext("Not connected; try again in a moment."));
    },
  };
}
