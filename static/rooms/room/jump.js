// Going to a message in the list (a reply's quote, a search result): scrolled to the middle and
// flashed. One not shown yet is older than what is loaded: earlier pages are loaded (through
// "Load earlier messages") until it is, or until the room's first message shows it is gone.

const FLASH_MS = 2000;

export function createJump({ frames, status }) {
  const list = document.getElementById("messages");
  const loadButton = document.getElementById("load-earlier");
  let wanted = null; // the id being looked for while earlier pages load

  const itemOf = (id) => list.querySelector(`li.message[data-id="${Number(id)}"]`);

  function reveal(item) {
    item.scrollIntoView({ block: "center" });
    item.classList.add("flash");
    item.tabIndex = -1;
    item.focus({ preventScroll: true });
    setTimeout(() => item.classList.remove("flash"), FLASH_MS);
  }

  function lookFurther() {
    const item = itemOf(wanted);
    if (item) {
      wanted = null;
      reveal(item);
    } else if (loadButton.hidden) {
      wanted = null;
      status.showError("That message is no longer in the room.");
    } else if (!loadButton.disabled) {
      loadButton.click();
    }
  }

  // Each earlier page either shows the message or leads to the next one.
  frames.on("history", (frame) => {
    if (wanted !== null && frame.before !== undefined) setTimeout(lookFurther);
  });

  return {
    to(id) {
      wanted = id;
      lookFurther();
    },
  };
}
