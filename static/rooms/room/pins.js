// Pins: the bar of pinned messages above the list (each goes to its message when clicked), and
// for the owner a Pin / Unpin action on messages. The bar is asked for on each connect (`pins`)
// and follows `message_changed`, whose `pinned` says whether a message is pinned now.

import { button, el, nameInText } from "./dom.js";
import { gettext, interpolate } from "./i18n.js";
import { excerpt, quoteText } from "./reply.js";

export function createPins({ config, frames, socket, rich, jump, watching }) {
  const bar = el("section", "pinned-bar");
  bar.id = "pinned";
  bar.hidden = true;
  const heading = el("h2", "pinned-heading");
  heading.id = "pinned-heading";
  bar.setAttribute("aria-labelledby", heading.id);
  const items = el("ul", "pinned-list");
  bar.append(heading, items);
  document.getElementById("load-earlier").before(bar);
  const pins = new Map(); // id → the pinned message as last heard of, with its log position
  let askOnHistory = false;

  function render() {
    const shown = [...pins.values()].sort((a, b) => a.id - b.id);
    heading.textContent = interpolate(gettext("Pinned (%(count)s)"), { count: shown.length });
    items.replaceChildren(
      ...shown.map((message) => {
        const item = el("li", "pinned-item");
        item.dataset.id = String(message.id);
        const parent = { name: message.name, excerpt: excerpt(message.body), action: message.action };
        const open = button("pinned-open", "", () => jump.to(message.id));
        open.append(nameInText(message.name), ": ", el("span", "pinned-excerpt", quoteText(parent)));
        item.append(open);
        if (config.owner && !watching) {
          const unpin = button("unpin", gettext("Unpin"), () => send(message.id, false));
          unpin.setAttribute("aria-label", interpolate(gettext("Unpin %(name)s's message"), { name: message.name }));
          item.append(unpin);
        }
        return item;
      }),
    );
    bar.hidden = shown.length === 0;
  }

  const send = (id, pinned) => socket.send({ type: "pin", id, pinned });

  // A state is applied only if it is not older than the one shown (an answer to `pins` read
  // before a change can arrive after it).
  function apply(message) {
    const known = pins.get(message.id);
    if (known && known.seq > message.seq) return;
    if (message.pinned && !message.deleted) pins.set(message.id, message);
    else pins.delete(message.id);
  }

  rich.decorate((item, message, actions) => {
    item.classList.toggle("pinned", Boolean(message.pinned) && !message.deleted);
    if (!actions || !config.owner || watching) return;
    const pinned = Boolean(message.pinned);
    actions.append(button("pin-message", pinned ? gettext("Unpin") : gettext("Pin"), () => send(message.id, !pinned)));
  });

  socket.onConnect(() => {
    askOnHistory = true;
  });
  // Asked once the connection's opening history came: the socket is open and the room joined.
  frames.on("history", (frame) => {
    if (!askOnHistory || frame.before !== undefined) return;
    askOnHistory = false;
    socket.send({ type: "pins" });
  });
  frames.on("pins", (frame) => {
    pins.clear();
    for (const message of frame.messages) pins.set(message.id, message);
    render();
  });
  frames.on("message_changed", (frame) => {
    apply(frame);
    render();
  });
  frames.on("room_state", (frame) => {
    if (typeof frame.owner === "boolean") render(); // Unpin buttons follow ownership
  });
}
