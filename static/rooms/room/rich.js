// Rich messages: the edited mark, the deleted placeholder, reaction chips, and the hover actions
// (react, and on one's own messages edit within the edit window, delete). The server decides who
// may edit (the author's session); the buttons only appear where it would agree
// (docs/protocol.md, "Edits, deletions, reactions").

import { renderMarkdown } from "../room_view.js";
import { button, el } from "./dom.js";
import { isOwn } from "./messages.js";

// Whether this page's person is among a reaction's: by author tag, or by name for reactions
// stored before tags existed.
export function reactedByMe(reaction, config) {
  return reaction.authors ? reaction.authors.includes(config.author) : reaction.names.includes(config.name);
}

export function canStillEdit(ts, now, editWindowSeconds) {
  return now - Date.parse(ts) < editWindowSeconds * 1000;
}

export function createRich({ config, frames, socket, mentions, watching }) {
  const list = document.getElementById("messages");
  const { reaction_emoji: reactionEmoji, edit_window_seconds: editWindowSeconds } = config.limits;
  const send = (frame) => socket.send(frame);

  function openEditor(item, message) {
    if (item.querySelector(".edit-form")) return;
    const body = item.querySelector(".body");
    const form = el("form", "edit-form");
    const field = el("textarea", "edit-body");
    field.dir = "auto";
    field.value = message.body;
    field.setAttribute("aria-label", "Edit message");
    const save = el("button", "save-edit", "Save");
    save.type = "submit";
    const close = () => {
      form.remove();
      body.hidden = false;
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = field.value.trim();
      if (text && text !== message.body) send({ type: "edit", id: message.id, body: text });
      close();
    });
    form.append(field, save, button("cancel-edit", "Cancel", close));
    body.hidden = true;
    body.after(form);
    field.focus();
  }

  // Other features' parts of a message (a reply's quote, pin and reply buttons), rebuilt with the
  // rest on every change: decorator(item, message, actions), actions null where none are offered.
  const decorators = [];

  function show(item, message) {
    const actions = showRich(item, message);
    for (const decorate of decorators) decorate(item, message, actions ?? null);
  }

  // Chosen reactions as chips (click toggles yours); the picker and actions float over the
  // message on hover, so showing them never moves what the reader is looking at.
  function showRich(item, message) {
    for (const node of item.querySelectorAll(".edited, .reactions, .message-actions, .edit-form")) node.remove();
    const body = item.querySelector(".body");
    body.hidden = false;
    item.classList.toggle("deleted", Boolean(message.deleted));
    if (message.deleted) {
      const note = message.deleted_by === "owner" ? "removed by the owner" : "message deleted";
      body.replaceChildren(el("em", "deleted-note", note));
      return;
    }
    if (message.edited) {
      const mark = el("span", "edited", "(edited)");
      mark.title = `Edited ${new Date(message.edited).toLocaleString()}`;
      item.querySelector(".message-header").append(mark);
    }
    const chips = el("div", "reactions");
    for (const reaction of message.reactions || []) {
      const react = () => send({ type: "react", id: message.id, emoji: reaction.emoji });
      const chip = button("reaction", `${reaction.emoji} ${reaction.count}`, react);
      chip.dataset.emoji = reaction.emoji;
      chip.title = reaction.names.join(", ");
      if (reactedByMe(reaction, config)) chip.classList.add("mine");
      chip.disabled = watching;
      chips.append(chip);
    }
    if (chips.childElementCount) item.append(chips);
    if (watching) return; // read-only: no reacting, editing or deleting
    const actions = el("div", "message-actions");
    for (const emoji of reactionEmoji) {
      const add = button("add-reaction", emoji, () => send({ type: "react", id: message.id, emoji }));
      add.dataset.emoji = emoji;
      add.title = `React with ${emoji}`;
      actions.append(add);
    }
    item.append(actions);
    if (!item.classList.contains("own")) return actions;
    if (canStillEdit(message.ts, Date.now(), editWindowSeconds)) {
      actions.append(button("edit-message", "Edit", () => openEditor(item, message)));
    }
    actions.append(button("delete-message", "Delete", () => send({ type: "delete", id: message.id })));
    return actions;
  }

  frames.on("message_changed", (frame) => {
    const item = list.querySelector(`li.message[data-id="${frame.id}"]`);
    if (!item) return; // not loaded here; "load earlier" brings its current state
    const body = item.querySelector(".body");
    if (!frame.deleted) body.replaceChildren(renderMarkdown(frame.body));
    if (!frame.deleted && !isOwn(frame, config)) mentions.highlight(body);
    show(item, frame);
  });

  return {
    show,
    decorate(decorator) {
      decorators.push(decorator);
    },
  };
}
