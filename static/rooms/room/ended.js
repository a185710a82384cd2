// When the server ends this page's place in the room for good (kicked, locked out, a passphrase now
// needed, the room expired or removed, a watch link ended), the room gives way to a full-page
// state saying what happened, with the way home: no live composer over an empty room.

import { gettext, interpolate } from "./i18n.js";

// Functions, so each heading is read from the catalog when it is shown.
const HEADINGS = {
  kicked: () => gettext("You were removed from this room"),
  locked: () => gettext("This room is locked"),
  passphrase_required: () => gettext("This room needs a passphrase"),
  room_expired: () => gettext("This room has expired"),
  room_removed: () => gettext("This room was removed"),
  room_not_found: () => gettext("This room does not exist"),
  watch_revoked: () => gettext("This watch link has ended"),
  watch_link_invalid: () => gettext("This watch link has ended"),
  no_name: () => gettext("Your name was forgotten"),
};

export function endedHeading(code) {
  return HEADINGS[code]?.() ?? gettext("You are no longer in this room");
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
      document.title = interpolate(gettext("%(heading)s – roomchat"), { heading: heading.textContent });
      heading.focus();
    },
  };
}
