// History pages: the latest page on connecting, a reconnect's catch-up ("after" pages), and the
// older pages "Load earlier messages" asks for ("before" pages, also fetched by scrolling to the top).

import { CLAIMED } from "./frames.js";
import { gettext } from "./i18n.js";

const TOP_SLACK_PX = 24; // scrolled this close to the top loads the earlier page by itself

export function createHistory({ frames, socket, messages, scroll }) {
  const list = document.getElementById("messages");
  const loadButton = document.getElementById("load-earlier");
  const loadLabel = loadButton.textContent; // as the page says it, in its language
  let loading = false;

  function setHasEarlier(hasMore) {
    loadButton.hidden = !hasMore;
    loadButton.disabled = false;
    loadButton.textContent = loadLabel;
  }

  function loadEarlier() {
    const before = messages.ids.oldest();
    if (loading || before === null || !socket.isOpen()) return;
    loading = true;
    loadButton.disabled = true;
    loadButton.textContent = gettext("Loading…");
    socket.send({ type: "history", before });
  }

  frames.on("history", (frame) => {
    loading = false; // also: a page asked for on a dropped connection will not come
    if (frame.before !== undefined) {
      // A page we asked for: what was on screen stays put while older messages go above it.
      scroll.keepPlace(() => frame.messages.forEach(messages.show));
      setHasEarlier(frame.has_more);
      return;
    }
    // Only the on-connect page says whether older messages exist; a reconnect's catch-up says
    // nothing about the start of the room.
    if (frame.after === undefined && frame.after_seq === undefined) setHasEarlier(frame.has_more);
    frame.messages.forEach(messages.show);
    scroll.toEnd();
  });
  // Paging too fast is refused with the request's `before`: ask again once it is allowed.
  frames.on("error", (frame) => {
    if (frame.code !== "rate_limited" || frame.before === undefined) return;
    setTimeout(
      () => {
        loading = false;
        loadEarlier();
      },
      (frame.retry_after || 1) * 1000,
    );
    return CLAIMED;
  });

  loadButton.addEventListener("click", loadEarlier);
  list.addEventListener("scroll", () => {
    if (list.scrollTop < TOP_SLACK_PX && list.scrollHeight > list.clientHeight && !loadButton.hidden) loadEarlier();
  });
}
