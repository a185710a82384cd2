// The composer: Enter (or Send) sends, Shift+Enter starts a new line; the box grows with its text
// (up to the CSS max-height) and tells the typing module about each change.

export function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// beforeSend: functions(frame) that may add to a message frame (a reply) or return false to keep
// it unsent, the text left in the box (an unknown command).
// hasAttachments: whether something besides text is ready to go (a message may be images alone).
export function createComposer({ pending, typing, scroll, status, beforeSend = [], hasAttachments = () => false }) {
  const form = document.getElementById("composer");
  const input = document.getElementById("message");

  function fit() {
    input.style.height = "auto";
    input.style.height = `${input.scrollHeight + 2}px`;
  }

  function send() {
    const body = input.value.trim();
    if (body || hasAttachments()) {
      status.hideError();
      const frame = { type: "message", body, client_id: newClientId() };
      if (beforeSend.some((hook) => hook(frame) === false)) return;
      pending.add(frame);
      scroll.toEnd();
      input.value = "";
      input.focus();
    }
    typing.sent();
    requestAnimationFrame(fit);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  input.addEventListener("keydown", (event) => {
    // While an input method is composing, Enter confirms the composition; it does not send.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    send();
  });
  input.addEventListener("input", () => {
    fit();
    typing.typed(input.value);
  });
}
