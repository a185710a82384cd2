// Slash commands in the composer: after "/" a list of the server's commands to complete (arrows
// choose, Tab or Enter completes, Escape closes); an unknown "/word" is caught before sending,
// with the text kept; a command that stores no message (/nick) is confirmed by `command_done`.

import { el } from "./dom.js";
import { gettext, interpolate } from "./i18n.js";

const WORD_AFTER_SLASH = /^\/(\w*)$/;
const COMMAND_LIKE = /^\/(\w+)(\s|$)/;

// The commands whose names start with what follows the "/" typed so far (nothing once a space follows).
export function completions(text, commands) {
  const match = WORD_AFTER_SLASH.exec(text);
  if (!match) return [];
  const typed = match[1].toLowerCase();
  return commands.filter((command) => command.name.startsWith(typed));
}

// The unknown command a body starts with, or null ("//text" and "/ text" are plain text).
export function unknownCommand(body, commands) {
  const match = COMMAND_LIKE.exec(body);
  if (!match) return null;
  const name = match[1].toLowerCase();
  return commands.some((command) => command.name === name) ? null : match[1];
}

export function createCommands({ config, frames, pending, status }) {
  const commands = config.commands;
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  const listbox = el("ul", "command-list");
  listbox.id = "command-list";
  listbox.setAttribute("role", "listbox");
  listbox.setAttribute("aria-label", gettext("Commands"));
  listbox.hidden = true;
  form.before(listbox);
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", listbox.id);
  // No aria-expanded: a textarea cannot be a combobox; the listbox's presence says it is open.
  let shown = [];
  let chosen = 0;

  function close() {
    shown = [];
    listbox.hidden = true;
    listbox.replaceChildren();
    input.removeAttribute("aria-activedescendant");
  }

  function choose(index) {
    chosen = (index + shown.length) % shown.length;
    listbox.querySelectorAll("li").forEach((option, each) => {
      option.setAttribute("aria-selected", String(each === chosen));
    });
    input.setAttribute("aria-activedescendant", `command-${shown[chosen].name}`);
  }

  function complete(command) {
    input.value = `/${command.name} `;
    close();
    input.focus();
    input.dispatchEvent(new Event("input"));
  }

  function offer() {
    shown = completions(input.value, commands);
    if (!shown.length) return close();
    listbox.replaceChildren(
      ...shown.map((command) => {
        const option = el("li", "command-option");
        option.id = `command-${command.name}`;
        option.setAttribute("role", "option");
        option.append(
          el("span", "command-name", `/${command.name} ${command.args}`),
          el("span", "command-help", command.help),
        );
        // mousedown, not click: the box keeps its focus.
        option.addEventListener("mousedown", (event) => {
          event.preventDefault();
          complete(command);
        });
        return option;
      }),
    );
    listbox.hidden = false;
    choose(0);
  }

  input.addEventListener("input", offer);
  input.addEventListener("blur", close);
  // Captured on the form, before the composer's own Enter-sends handler sees the key.
  form.addEventListener(
    "keydown",
    (event) => {
      if (listbox.hidden || event.target !== input) return;
      const moves = { ArrowDown: 1, ArrowUp: -1 };
      if (event.key in moves) choose(chosen + moves[event.key]);
      else if (event.key === "Tab" || (event.key === "Enter" && !event.shiftKey && !event.isComposing)) {
        complete(shown[chosen]);
      } else if (event.key === "Escape") close();
      else return;
      event.preventDefault();
      event.stopPropagation();
    },
    true,
  );

  frames.on("command_done", (frame) => {
    if (frame.client_id) pending.done(frame.client_id);
  });

  return {
    // The composer's hook: an unknown command is not sent; the text stays to be corrected.
    beforeSend(frame) {
      const unknown = unknownCommand(frame.body, commands);
      if (unknown === null) return;
      const known = commands.map((command) => `/${command.name}`).join(", ");
      status.showError(
        interpolate(
          gettext("Unknown command /%(command)s. Commands: %(commands)s; //text sends text starting with /."),
          {
            command: unknown,
            commands: known,
          },
        ),
      );
      return false;
    },
  };
}
