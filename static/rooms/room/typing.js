// Typing: this page tells the room at most once per interval while its person types; the others'
// typing shows under the messages until TYPING_EXPIRY_MS after their last typing frame, or until
// their message (or a rename) arrives.

import { TYPING_EXPIRY_MS, TYPING_SEND_INTERVAL_MS, typingText } from "../room_view.js";

// Whether typing is news worth a frame: there is text, and the last frame is an interval old.
export function typingDue(text, now, lastSentAt) {
  return Boolean(text.trim()) && now - lastSentAt >= TYPING_SEND_INTERVAL_MS;
}

export function createTyping({ frames, socket }) {
  const status = document.getElementById("typing");
  const typists = new Map(); // name -> the timer that forgets them
  let sentAt = 0;

  const show = () => {
    status.textContent = typingText([...typists.keys()]);
  };

  function forget(name) {
    clearTimeout(typists.get(name));
    if (typists.delete(name)) show();
  }

  frames.on("typing", (frame) => {
    clearTimeout(typists.get(frame.name));
    typists.set(
      frame.name,
      setTimeout(() => forget(frame.name), TYPING_EXPIRY_MS),
    );
    show();
  });
  frames.on("message", (frame) => forget(frame.name));
  frames.on("system", (frame) => {
    if (frame.event === "rename") forget(frame.old);
  });

  return {
    // The composer's text changed.
    typed(text) {
      const now = Date.now();
      if (!typingDue(text, now, sentAt) || !socket.isOpen()) return;
      sentAt = now;
      socket.send({ type: "typing" });
    },
    // A message was sent: typing the next one is news again.
    sent() {
      sentAt = 0;
    },
  };
}
