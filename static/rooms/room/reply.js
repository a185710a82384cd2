// Replies: a Reply action on each message, the quoted message above the composer while writing
// (Escape or × cancels), and above each reply a quote of its parent that goes to it when clicked.
// Also shows "/me" actions as "* Ann waves" (docs/protocol.md, "Conversation features").

import { button, el, nameInText } from "./dom.js";
import { gettext, interpolate, interpolateParts } from "./i18n.js";

export const EXCERPT_CHARS = 100; // as the server quotes a parent (REPLY_EXCERPT_CHARS)

// The start of a body on one line, as the server's excerpt reads.
export function excerpt(body) {
  const text = body.split(/\s+/).filter(Boolean).join(" ");
  return text.length <= EXCERPT_CHARS ? text : `${text.slice(0, EXCERPT_CHARS - 1).trimEnd()}…`;
}

export function quoteText(parent) {
  if (parent.deleted) return gettext("message deleted");
  return parent.action ? `* ${parent.name} ${parent.excerpt}` : parent.excerpt;
}

export function createReply({ frames, rich, jump, watching }) {
  const list = document.getElementById("messages");
  const input = document.getElementById("message");
  let replyingTo = null; // {id, name, excerpt} of the message being answered
  let preview = null;

  function cancel() {
    replyingTo = null;
    preview?.remove();
    preview = null;
  }

  function start(message) {
    cancel();
    replyingTo = { id: message.id, name: message.name, excerpt: excerpt(message.body), action: message.action };
    preview = el("div", "reply-preview");
    preview.id = "reply-preview";
    const label = el("span", "reply-preview-text");
    const quote = el("q", "reply-excerpt", quoteText(replyingTo));
    label.append(
      ...interpolateParts(gettext("Replying to %(name)s: %(quote)s"), { name: nameInText(message.name), quote }),
    );
    const close = button("cancel-reply", "×", () => {
      cancel();
      input.focus();
    });
    close.setAttribute("aria-label", gettext("Cancel reply"));
    preview.append(label, close);
    document.getElementById("composer").before(preview);
    input.focus();
  }

  function quoteOf(parent) {
    const quote = button("reply-quote", "", () => jump.to(parent.id));
    quote.dataset.replyTo = String(parent.id);
    const label = gettext("Reply to %(name)s: %(quote)s. Go to that message.");
    quote.setAttribute("aria-label", interpolate(label, { name: parent.name, quote: quoteText(parent) }));
    quote.append(nameInText(parent.name), " ", el("span", "reply-excerpt", quoteText(parent)));
    quote.classList.toggle("deleted", Boolean(parent.deleted));
    return quote;
  }

  rich.decorate((item, message, actions) => {
    for (const node of item.querySelectorAll(".reply-quote, .action-name")) node.remove();
    item.classList.toggle("action", Boolean(message.action) && !message.deleted);
    if (message.deleted) return;
    if (message.reply_to) item.querySelector(".body").before(quoteOf(message.reply_to));
    if (message.action) item.querySelector(".body").prepend(el("span", "action-name", `* ${message.name} `));
    if (actions && !watching) {
      const reply = button("reply-message", gettext("Reply"), () => start(message));
      reply.title = gettext("Reply to this message");
      // After the reactions (the first Tab stop of a message's actions), before Edit and Delete.
      actions.insertBefore(reply, actions.querySelector(".edit-message, .delete-message"));
    }
  });

  // A parent changed (edited or deleted): the replies shown quote its new state.
  frames.on("message_changed", (frame) => {
    for (const quote of list.querySelectorAll(`.reply-quote[data-reply-to="${frame.id}"]`)) {
      const parent = { id: frame.id, name: frame.name, excerpt: excerpt(frame.body), action: frame.action };
      quote.replaceWith(quoteOf({ ...parent, deleted: frame.deleted }));
    }
  });

  if (!watching) {
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && replyingTo && !event.defaultPrevented) {
        event.preventDefault();
        cancel();
      }
    });
  }

  return {
    // The composer's hook: a message sent while replying answers that message.
    beforeSend(frame) {
      if (!replyingTo) return;
      frame.reply_to = replyingTo.id;
      cancel();
    },
  };
}
