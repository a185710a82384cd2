// The invite popover: the room's invite link as a QR code (GET /rooms/CODE/qr.svg), so a phone can
// scan the screen, with the link written out under it. The image is fetched the first time it opens.

import { button, el } from "./dom.js";
import { gettext, interpolate } from "./i18n.js";

export function createInviteQr({ config }) {
  const copy = document.getElementById("copy-link");
  const link = new URL(copy.dataset.invitePath, location.origin).href;
  const popover = el("div", "invite-qr");
  popover.id = "invite-qr";
  popover.popover = "auto";
  popover.setAttribute("role", "dialog");
  popover.setAttribute("aria-labelledby", "invite-qr-heading");
  const heading = el(
    "h2",
    "invite-qr-heading",
    interpolate(gettext("Scan to join room %(code)s"), { code: config.code }),
  );
  heading.id = heading.className;
  const image = el("img", "invite-qr-image");
  image.alt = interpolate(gettext("QR code of the invite link %(link)s"), { link });
  image.width = 240;
  image.height = 240;
  const written = el("p", "invite-qr-link", link);
  const close = button("invite-qr-close", gettext("Close"), () => popover.hidePopover());
  popover.append(heading, image, written, close);
  const open = button("show-qr", gettext("QR code"));
  open.id = "show-qr";
  open.setAttribute("popovertarget", popover.id);
  open.setAttribute("aria-haspopup", "dialog");
  copy.after(open);
  document.body.append(popover);
  popover.addEventListener("toggle", (event) => {
    if (event.newState === "open" && !image.src) image.src = `/rooms/${encodeURIComponent(config.code)}/qr.svg`;
  });
}
