// "This room disappears in …": the room's expiry, as its owner set it, counted down.

import { formatDuration, formatRelative, gettext, interpolate } from "./i18n.js";

export const REFRESH_MS = 30000;

// The note for `msLeft` milliseconds to go, in whole minutes (never below zero).
export function expiryText(msLeft) {
  const minutes = Math.max(0, Math.round(msLeft / 60000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const parts = days ? { day: days, hour: hours } : hours ? { hour: hours, minute: minutes % 60 } : { minute: minutes };
  return interpolate(gettext("This room disappears in %(time)s."), { time: formatDuration(parts) });
}

// "in 1 day" for the expiry menu's choices (hours), as its confirmation question says it.
export function expiryChoiceText(hours) {
  return hours % 24 ? formatRelative(hours, "hour") : formatRelative(hours / 24, "day");
}

export function createExpiry({ config, frames }) {
  const note = document.getElementById("expiry");
  let expiresAt = null;

  // The note keeps its line in the header while empty, so the header does not jump when it appears.
  function show() {
    note.textContent = expiresAt ? expiryText(expiresAt - Date.now()) : "";
  }

  function set(iso) {
    expiresAt = iso ? Date.parse(iso) : null;
    show();
  }

  frames.on("room_state", (frame) => {
    if ("expires_at" in frame) set(frame.expires_at);
  });
  set(config.expires_at);
  setInterval(show, REFRESH_MS);
}
