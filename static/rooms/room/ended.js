// When the server ends this page's place in the room for good (kicked, locked out, a passphrase now
// needed, the room expired or removed, a watch link ended), the room gives way to a full-page
// state saying what happened, with the way home: no live composer over an empty room.

const HEADINGS = {
  kicked: "You were removed from this room",
  locked: "This room is locked",
  passphrase_required: "This room needs a passphrase",
  room_expired: "This room has expired",
  room_removed: "This room was removed",
  room_not_found: "This room does not exist",
  watch_revoked: "This watch link has ended",
  watch_link_invalid: "This watch link has ended",
  no_name: "Your name was forgotten",
};

export function endedHeading(code) {
  return HEADINGS[code] ?? "You are no longer in this room";
}

export function createEnded() {
  return {
    show(error) {
      document.querySelector(".room").hidden = true;
      for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
      const heading = document.getElementById("room-ended-heading");
      heading.textContent = endedHeading(error.code);
      document.getElementById("room-ended-detail").textContent = error.detail;
      // A new passphrase, or a forgotten name, is asked for by the room page itself on a reload.
      document.getElementById("room-ended-retry").hidden = error.code !== "passphrase_required";
      document.getElementById("room-ended").hidden = false;
      document.title = `${heading.textContent} – roomchat`;
      heading.focus();
    },
  };
}
