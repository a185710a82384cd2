// "Copy invite link": the room's link on the clipboard, or in a prompt to copy by hand.

import { gettext } from "./i18n.js";

const COPIED_MS = 2000;

// link: the full invite link when it is not the room's path alone (an encrypted room's carries its key).
export function createInvite({ link: fullLink } = {}) {
  const copy = document.getElementById("copy-link");
  const label = copy.textContent; // as the page says it, in its language
  copy.addEventListener("click", async () => {
    const link = fullLink ?? new URL(copy.dataset.invitePath, location.origin).href;
    try {
      await navigator.clipboard.writeText(link);
      copy.textContent = gettext("Link copied");
    } catch {
      window.prompt(gettext("Copy this invite link:"), link);
    }
    setTimeout(() => {
      copy.textContent = label;
    }, COPIED_MS);
  });
}
