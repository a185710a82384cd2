// A small modal question before an action that cannot be taken back (kick, make owner, expiry,
// delete): the browser's <dialog> traps focus, closes on Escape and gives focus back to the control
// that asked.

export function createConfirm() {
  const dialog = document.getElementById("confirm-dialog");
  const text = document.getElementById("confirm-text");
  const confirmButton = document.getElementById("confirm-ok");
  let answer = null;

  dialog.addEventListener("close", () => {
    answer?.(dialog.returnValue === "confirm");
    answer = null;
  });

  // Resolves to true when the person confirms; Cancel and Escape resolve to false.
  return function confirmAction(question, actionLabel) {
    if (dialog.open) return Promise.resolve(false); // one question at a time
    text.textContent = question;
    confirmButton.textContent = actionLabel;
    dialog.returnValue = "";
    dialog.showModal();
    document.getElementById("confirm-cancel").focus();
    return new Promise((resolve) => {
      answer = resolve;
    });
  };
}
