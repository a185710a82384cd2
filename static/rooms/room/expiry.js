// "This room disappears in …": the room's expiry, as its owner set it, counted down.

export const REFRESH_MS = 30000;

// The note for `msLeft` milliseconds to go, in whole minutes (never below zero).
export function expiryText(msLeft) {
  const minutes = Math.max(0, Math.round(msLeft / 60000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const left = days ? `${days} d ${hours} h` : hours ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
  return `This room disappears in ${left}.`;
}

// "in 1 day" for the expiry menu's choices (hours), as its confirmation question says it.
export function expiryChoiceText(hours) {
  if (hours % 24) return hours === 1 ? "in 1 hour" : `in ${hours} hours`;
  const days = hours / 24;
  return days === 1 ? "in 1 day" : `in ${days} days`;
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
