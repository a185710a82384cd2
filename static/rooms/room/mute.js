// Muted by the owner: the composer is disabled, saying until when, and enabled again when the mute
// lifts. The server tells the muted session (room_state muted_until, also on connecting while muted),
// and refuses its messages with `muted` and `until` as well.

import { CLAIMED } from "./frames.js";
import { formatTime, gettext, interpolate } from "./i18n.js";

export function muteText(until) {
  return interpolate(gettext("Muted by the owner until %(time)s."), { time: formatTime(new Date(until)) });
}

export function createMute({ frames }) {
  const note = document.getElementById("mute-note");
  const input = document.getElementById("message");
  const send = document.getElementById("send");
  let liftTimer = null;

  function setMuted(until) {
    clearTimeout(liftTimer);
    const msLeft = until ? Date.parse(until) - Date.now() : 0;
    const muted = msLeft > 0;
    note.hidden = !muted;
    note.textContent = muted ? muteText(until) : "";
    input.disabled = muted;
    send.disabled = muted;
    // A message refused for the mute keeps its Retry hidden until the mute lifts (style.css).
    document.querySelector(".room").classList.toggle("is-muted", muted);
    if (muted) liftTimer = setTimeout(() => setMuted(null), msLeft);
    else if (document.activeElement === document.body) input.focus();
  }

  frames.on("room_state", (frame) => {
    if ("muted_until" in frame) setMuted(frame.muted_until);
  });
  frames.on("error", (frame) => {
    if (frame.code !== "muted" || !frame.until) return;
    setMuted(frame.until);
    // A message refused for the mute is left to the pending list ("not sent"); the note says why.
    return frame.client_id ? undefined : CLAIMED;
  });
}
