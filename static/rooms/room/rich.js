// Rich messages: the edited mark, the deleted placeholder, reaction chips, and the actions that
// float over a message on hover or when it has keyboard focus (react; on one's own messages edit
// within the edit window and delete; the owner deletes any message). The server decides who may
// edit or delete; the buttons only appear where it would agree (docs/protocol.md, "Edits,
// deletions, reactions"). Deleting asks first.

import { isEmojiOnly, renderMarkdown } from "../room_view.js";
import { button, el } from "./dom.js";
import { formatFullDateTime, gettext, interpolate } from "./i18n.js";
import { isOwn } from "./messages.js";

// Whether this page's person is among a reaction's: by author tag, or by name for reactions
// stored before tags existed.
export function reactedByMe(reaction, config) {
  return reaction.authors ? reaction.authors.includes(config.author) : reaction.names.includes(config.name);
}

// What a screen reader says for each reaction emoji (functions: read from the catalog when said).
const EMOJI_NAMES = {
  "👍": () => gettext("thumbs up"),
  "❤️": () => gettext("red heart"),
  "😂": () => gettext("face with tears of joy"),
  "😮": () => gettext("face with open mouth"),
  "😢": () => gettext("crying face"),
  "🎉": () => gettext("party popper"),
};

export function emojiName(emoji) {
  return EMOJI_NAMES[emoji]?.() ?? emoji;
}

// "thumbs up, 2: Ann, Bob"
export function reactionLabel(reaction) {
  return interpolate(gettext("%(emoji)s, %(count)s: %(names)s"), {
    emoji: emojiName(reaction.emoji),
    count: reaction.count,
    names: reaction.names.join(", "),
  });
}

export function canStillEdit(ts, now, editWindowSeconds) {
  return now - Date.parse(ts) < editWindowSeconds * 1000;
}

// Remembers which control of a message has focus before it is rebuilt; the returned function focuses
// its new twin (the same kind of button, for the same emoji), or the message itself.
function focusRestorer(item) {
  const focused = document.activeElement;
  if (focused === item || !item.contains(focused) || focused.closest(".edit-form")) return () => {};
  const key = (node) => `${node.classList[0]}|${node.dataset.emoji ?? ""}`;
  const wanted = key(focused);
  return () => {
    // The message first: its actions are only shown (so focusable) while focus is within it.
    item.focus();
    [...item.querySelectorAll("button")].find((node) => key(node) === wanted)?.focus();
  };
}

export function createRich({ config, frames, socket, mentions, watching, confirmAction }) {
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
    field.setAttribute("aria-label", gettext("Edit message"));
    const save = el("button", "save-edit", gettext("Save"));
    save.type = "submit";
    const close = () => {
      form.remove();
      body.hidden = false;
      item.classList.remove("editing");
      item.focus(); // back where the keyboard was, not lost on <body>
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = field.value.trim();
      if (text && text !== message.body) send({ type: "edit", id: message.id, body: text });
      close();
    });
    // As in the composer: Enter saves, Shift+Enter starts a new line; Escape cancels.
    field.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.stopPropagation();
        close();
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.append(field, el("div", "edit-actions"));
    form.lastChild.append(save, button("cancel-edit", gettext("Cancel"), close));
    body.hidden = true;
    item.classList.add("editing");
    body.after(form);
    field.focus();
  }

  async function deleteMessage(item, message) {
    const own = item.classList.contains("own");
    const question = own
      ? gettext("Delete your message for everyone? This cannot be undone.")
      : interpolate(gettext("Remove %(name)s's message for everyone? It will show as removed by the owner."), {
          name: message.name,
        });
    const confirmed = await confirmAction(question, own ? gettext("Delete") : gettext("Remove"));
    // The dialog hands focus back to Delete, hidden with the actions while focus was away: take it
    // to the message (whose actions then show again), and to Delete again if nothing was deleted.
    item.focus();
    if (!confirmed) return item.querySelector(".delete-message")?.focus();
    send({ type: "delete", id: message.id });
  }

  // Other features' parts of a message (a reply's quote, pin and reply buttons), rebuilt with the
  // rest on every change: decorator(item, message, actions), actions null where none are offered.
  const decorators = [];

  function show(item, message) {
    // A control of this message that had focus is rebuilt below: focus goes back to the message.
    const restoreFocus = focusRestorer(item);
    const actions = showRich(item, message);
    for (const decorate of decorators) decorate(item, message, actions ?? null);
    restoreFocus();
  }

  // Chosen reactions as chips (click toggles yours); the picker and actions float over the
  // message on hover, so showing them never moves what the reader is looking at.
  function showRich(item, message) {
    // An edit in progress survives others' reactions; a deletion ends it.
    const stale = message.deleted
      ? ".edited, .reactions, .message-actions, .edit-form"
      : ".edited, .reactions, .message-actions";
    for (const node of item.querySelectorAll(stale)) node.remove();
    if (message.deleted) item.classList.remove("editing");
    const body = item.querySelector(".body");
    body.hidden = item.classList.contains("editing");
    item.classList.toggle("deleted", Boolean(message.deleted));
    body.classList.toggle("emoji-only", !message.deleted && isEmojiOnly(message.body));
    if (message.deleted) {
      const note = message.deleted_by === "owner" ? gettext("removed by the owner") : gettext("message deleted");
      body.replaceChildren(el("em", "deleted-note", note));
      return;
    }
    if (message.edited) {
      const mark = el("span", "edited", gettext("(edited)"));
      mark.title = interpolate(gettext("Edited %(when)s"), { when: formatFullDateTime(new Date(message.edited)) });
      item.querySelector(".message-header").append(mark);
    }
    const chips = el("div", "reactions");
    for (const reaction of message.reactions || []) {
      const react = () => send({ type: "react", id: message.id, emoji: reaction.emoji });
      const chip = button("reaction", `${reaction.emoji} ${reaction.count}`, react);
      chip.dataset.emoji = reaction.emoji;
      chip.title = reaction.names.join(", ");
      chip.setAttribute("aria-label", reactionLabel(reaction));
      const mine = reactedByMe(reaction, config);
      chip.classList.toggle("mine", mine);
      chip.setAttribute("aria-pressed", String(mine));
      chip.disabled = watching;
      chips.append(chip);
    }
    if (chips.childElementCount) item.append(chips);
    if (watching) return; // read-only: no reacting, editing or deleting
    const actions = el("div", "message-actions");
    actions.setAttribute("role", "group");
    actions.setAttribute("aria-label", interpolate(gettext("Actions for %(name)s's message"), { name: message.name }));
    for (const emoji of reactionEmoji) {
      const add = button("add-reaction", emoji, () => send({ type: "react", id: message.id, emoji }));
      add.dataset.emoji = emoji;
      add.title = interpolate(gettext("React with %(emoji)s"), { emoji: emojiName(emoji) });
      add.setAttribute("aria-label", add.title);
      actions.append(add);
    }
    item.append(actions);
    const own = item.classList.contains("own");
    if (own && canStillEdit(message.ts, Date.now(), editWindowSeconds)) {
      actions.append(button("edit-message", gettext("Edit"), () => openEditor(item, message)));
    }
    // Others' messages get the owner's Delete too; style.css shows it only while this page owns the room.
    const remove = button(own ? "delete-message" : "delete-message moderation", gettext("Delete"), () =>
      deleteMessage(item, message),
    );
    actions.append(remove);
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
