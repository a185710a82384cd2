// The invite popover: the room's invite link as a QR code (GET /rooms/CODE/qr.svg), so a phone can
// scan the screen, with the link written out under it. The image is fetched the first time it opens.
// An end-to-end encrypted room's link carries its key (#k=…), which the server must never see: its
// code is drawn here, in the browser, with the vendored qrcode-generator.

import { button, el } from "./dom.js";
import { gettext, interpolate } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const QUIET_MODULES = 4; // the white margin a scanner needs around the code

// The QR code of `text` as an SVG element: one path of its dark modules on a white square.
export async function qrCodeSvg(text, label) {
  const { qrcode } = await import("../../vendor/qrcode-generator/qrcode.mjs");
  const code = qrcode(0, "M");
  code.addData(text);
  code.make();
  const count = code.getModuleCount();
  const side = count + 2 * QUIET_MODULES;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${side} ${side}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const background = document.createElementNS(SVG, "rect");
  background.setAttribute("width", String(side));
  background.setAttribute("height", String(side));
  background.setAttribute("fill", "#fff");
  const modules = [];
  for (let row = 0; row < count; row += 1) {
    for (let column = 0; column < count; column += 1) {
      if (code.isDark(row, column)) modules.push(`M${column + QUIET_MODULES} ${row + QUIET_MODULES}h1v1h-1z`);
    }
  }
  const dark = document.createElementNS(SVG, "path");
  dark.setAttribute("d", modules.join(""));
  dark.setAttribute("fill", "#000");
  svg.append(background, dark);
  return svg;
}

export function createInviteQr({ config, link: keyedLink = null }) {
  const copy = document.getElementById("copy-link");
  const link = keyedLink || new URL(copy.dataset.invitePath, location.origin).href;
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
  popover.addEventListener("toggle", async (event) => {
    if (event.newState !== "open") return;
    if (!keyedLink) {
      if (!image.src) image.src = `/rooms/${encodeURIComponent(config.code)}/qr.svg`;
    } else if (image.isConnected) {
      const drawn = await qrCodeSvg(link, image.alt);
      drawn.classList.add("invite-qr-image");
      drawn.setAttribute("width", "240");
      drawn.setAttribute("height", "240");
      image.replaceWith(drawn);
    }
  });
}
