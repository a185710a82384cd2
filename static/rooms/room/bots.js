// The owner's bots and webhooks dialog (opened from the room menu): name a bot and create its token,
// which the server shows this once (with the webhook URL and a curl example to copy); the room's
// tokens, each with Revoke (asked first). Bot messages themselves are badged by messages.js.

import { button, el, nameInText } from "./dom.js";
import { CLAIMED } from "./frames.js";
import { formatDateTime, gettext, interpolate } from "./i18n.js";

// Refusals of the owner's bot requests, shown in the dialog (the composer's error line is under it).
const BOT_ERRORS = ["bot_name_taken", "too_many_bots", "bot_not_found", "invalid_name", "forbidden", "encrypted_room"];
const COPIED_MS = 2000;

// The shell command that posts a first message with a new token.
export function curlExample(apiUrl, token, webhookUrl) {
  return [
    `curl -X POST ${apiUrl} \\`,
    `  -H 'Authorization: Bearer ${token}' -H 'Content-Type: application/json' \\`,
    `  -d '{"body": "Hello from my bot"}'`,
    "",
    `curl -X POST ${webhookUrl} -H 'Content-Type: application/json' -d '{"text": "Hello from a webhook"}'`,
  ].join("\n");
}

export function createBots({ config, frames, socket, confirmAction }) {
  const byId = (id) => document.getElementById(id);
  const dialog = byId("bots-dialog");
  const nameField = byId("bot-name");
  const error = byId("bot-error");
  const list = byId("bot-list");
  let waiting = false; // a request of this dialog is on its way: its refusal is shown here

  function send(frame) {
    error.textContent = "";
    if (!socket.send(frame)) {
      error.textContent = gettext("Not connected right now; try again in a moment.");
      return;
    }
    waiting = true;
  }

  function showTokens(tokens) {
    byId("bot-none").hidden = tokens.length > 0;
    list.replaceChildren(
      ...tokens.map((token) => {
        const item = el("li");
        const label = el("span");
        const created = formatDateTime(new Date(token.created));
        label.append(nameInText(token.name), interpolate(gettext(" · created %(when)s"), { when: created }));
        const revoke = button("danger", gettext("Revoke"), async () => {
          const question = interpolate(gettext("Revoke the token of %(name)s? Scripts using it can no longer post."), {
            name: token.name,
          });
          if (await confirmAction(question, gettext("Revoke"))) send({ type: "bot_token_revoke", name: token.name });
        });
        revoke.setAttribute("aria-label", interpolate(gettext("Revoke %(name)s"), { name: token.name }));
        item.append(label, revoke);
        return item;
      }),
    );
  }

  function showMade(frame) {
    const apiUrl = new URL(`/api/v1/rooms/${config.code}/messages`, location.origin).href;
    byId("bot-made-heading").textContent = interpolate(gettext("Token of %(name)s"), { name: frame.name });
    byId("bot-token-value").value = frame.token;
    byId("bot-webhook-url").value = frame.webhook_url;
    byId("bot-curl").value = curlExample(apiUrl, frame.token, frame.webhook_url);
    byId("bot-made").hidden = false;
    byId("bot-token-value").focus();
    byId("bot-token-value").select();
  }

  function copyButton(buttonId, fieldId) {
    const copy = byId(buttonId);
    const label = copy.textContent;
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(byId(fieldId).value);
        copy.textContent = gettext("Copied");
      } catch {
        byId(fieldId).select(); // the browser refused: selected, for Ctrl+C
      }
      setTimeout(() => {
        copy.textContent = label;
      }, COPIED_MS);
    });
  }

  frames.on("bot_tokens", (frame) => showTokens(frame.tokens));
  frames.on("bot_token", (frame) => {
    waiting = false;
    nameField.value = "";
    showMade(frame);
  });
  frames.on("error", (frame) => {
    if (!waiting || !BOT_ERRORS.includes(frame.code)) return undefined;
    waiting = false;
    error.textContent = frame.detail;
    return CLAIMED;
  });

  byId("bots-open").addEventListener("click", () => dialog.showModal());
  byId("bots-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  // The token is shown once: closing the dialog forgets it.
  dialog.addEventListener("close", () => {
    byId("bot-made").hidden = true;
    byId("bot-token-value").value = "";
    byId("bot-curl").value = "";
    error.textContent = "";
  });
  byId("bot-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = nameField.value.trim();
    if (!name) {
      error.textContent = gettext("Name the bot first.");
      nameField.focus();
      return;
    }
    send({ type: "bot_token", name });
  });
  copyButton("copy-bot-token", "bot-token-value");
  copyButton("copy-bot-webhook", "bot-webhook-url");
  copyButton("copy-bot-curl", "bot-curl");
  showTokens([]);
}
