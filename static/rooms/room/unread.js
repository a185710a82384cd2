// The unread count in the tab title while the page is hidden; cleared when the reader is back.

import { unreadTitle } from "../room_view.js";

export function createUnread() {
  const baseTitle = document.title;
  let unread = 0;

  function clear() {
    if (document.hidden) return;
    unread = 0;
    document.title = baseTitle;
  }

  document.addEventListener("visibilitychange", clear);
  window.addEventListener("focus", clear);

  return {
    // A new message from someone else arrived.
    count() {
      if (!document.hidden) return;
      unread += 1;
      document.title = unreadTitle(unread, baseTitle);
    },
  };
}
