// The message list by keyboard: one Tab stop for the whole list (a roving tabindex), the arrow keys,
// Home and End move between its entries, and a focused message shows its actions, which Tab then
// reaches. Escape from an action goes back to its message. The Tab stop stays on the newest entry
// until the reader moves it.

const MOVES = {
  ArrowUp: (item, list) => item.previousElementSibling ?? list.firstElementChild,
  ArrowDown: (item, list) => item.nextElementSibling ?? list.lastElementChild,
  Home: (_item, list) => list.firstElementChild,
  End: (_item, list) => list.lastElementChild,
};

export function createMessageKeys() {
  const list = document.getElementById("messages");
  let current = null;

  function makeCurrent(item) {
    if (current === item) return;
    if (current) current.tabIndex = -1;
    current = item;
    if (item) item.tabIndex = 0;
  }

  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType === Node.ELEMENT_NODE && node !== current) node.tabIndex = -1;
      }
    }
    if (!current?.isConnected || !list.contains(document.activeElement)) makeCurrent(list.lastElementChild);
  }).observe(list, { childList: true });

  list.addEventListener("focusin", (event) => {
    const item = event.target.closest("#messages > li");
    if (item) makeCurrent(item);
  });
  list.addEventListener("keydown", (event) => {
    const item = event.target.closest("#messages > li");
    if (!item) return;
    if (event.target !== item) {
      if (event.key === "Escape" && !event.defaultPrevented) item.focus();
      return; // the keys belong to the control (an edit box, a button)
    }
    const move = MOVES[event.key];
    if (!move) return;
    event.preventDefault();
    const next = move(item, list);
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  });
}
