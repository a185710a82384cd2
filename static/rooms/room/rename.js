// Rename: a small form under the member list. The server confirms with a rename notice carrying
// "you": true, and only then does this page take the new name (config.name).

import { nameInText } from "./dom.js";
import { CLAIMED } from "./frames.js";
import { gettext, interpolate, interpolateParts } from "./i18n.js";

export const NOTICES = {
  rename: (frame) =>
    interpolateParts(gettext("%(old_name)s is now %(new_name)s"), {
      old_name: nameInText(frame.old),
      new_name: nameInText(frame.new),
    }),
};

// A refused rename: a bad or taken name, or the rate limit on an error that names no other request (a
// message's client_id, a history page's `before`, a sync's `after_seq`).
export function isRenameRefusal(error) {
  if (error.code === "invalid_name" || error.code === "name_taken") return true;
  return (
    error.code === "rate_limited" && !error.client_id && error.before === undefined && error.after_seq === undefined
  );
}

export function createRename({ config, frames, socket }) {
  const toggle = document.getElementById("rename-toggle");
  const form = document.getElementById("rename-form");
  const field = document.getElementById("rename-name");
  const error = document.getElementById("rename-error");
  const composerInput = document.getElementById("message");

  function open(opening) {
    form.hidden = !opening;
    toggle.setAttribute("aria-expanded", String(opening));
    error.hidden = true;
    if (opening) {
      field.value = config.name;
      field.focus();
      field.select();
    } else {
      composerInput.focus();
    }
  }

  function showError(detail) {
    error.textContent = detail;
    error.hidden = false;
  }

  frames.on("system", (frame) => {
    if (frame.event !== "rename" || !frame.you) return;
    config.name = frame.new;
    composerInput.placeholder = interpolate(gettext("Message as %(name)s"), { name: frame.new });
    if (!form.hidden) open(false);
  });
  frames.on("error", (frame) => {
    if (!isRenameRefusal(frame) || form.hidden) return;
    showError(frame.detail);
    field.focus();
    return CLAIMED;
  });

  toggle.addEventListener("click", () => open(form.hidden));
  document.getElementById("rename-cancel").addEventListener("click", () => open(false));
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") open(false);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = field.value.trim();
    if (name === config.name) return open(false);
    error.hidden = true;
    if (!socket.send({ type: "rename", name })) {
      showError(gettext("Not connected right now; try again in a moment."));
    }
  });
}
