// The message list's scrolling: new content is followed only when the reader was already at the
// end; otherwise a "New messages ↓" pill offers the way down.

export const BOTTOM_SLACK_PX = 48; // this close to the end still counts as "reading the newest"

export function createScroll() {
  const list = document.getElementById("messages");
  const pill = document.getElementById("new-messages");

  const distanceFromEnd = () => list.scrollHeight - list.scrollTop - list.clientHeight;
  const isAtBottom = () => distanceFromEnd() <= BOTTOM_SLACK_PX;

  function toEnd() {
    list.scrollTop = list.scrollHeight;
  }

  pill.addEventListener("click", () => {
    toEnd();
    pill.hidden = true;
    document.getElementById("message")?.focus();
  });
  list.addEventListener("scroll", () => {
    if (isAtBottom()) pill.hidden = true;
  });

  return {
    distanceFromEnd,
    isAtBottom,
    toEnd,
    follow(wasAtBottom) {
      if (wasAtBottom) {
        toEnd();
        pill.hidden = true;
        return;
      }
      // Float just above the list's bottom edge, whatever the composer's height is now.
      const conversationBottom = list.parentElement.getBoundingClientRect().bottom;
      pill.style.bottom = `${conversationBottom - list.getBoundingClientRect().bottom + 12}px`;
      pill.hidden = false;
    },
    // Keep the reader's place while `addAbove()` puts older messages above what is on screen.
    keepPlace(addAbove) {
      const fromBottom = list.scrollHeight - list.scrollTop;
      addAbove();
      list.scrollTop = list.scrollHeight - fromBottom;
    },
  };
}
