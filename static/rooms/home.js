// The home form's end-to-end encrypted rooms (docs/e2ee.md): when "End-to-end encrypted" is ticked,
// creating a room first makes its key here, in the browser, and a key check (a ciphertext of a
// known text) that the server stores so pages can tell a wrong key. The key goes to sessionStorage
// for the room page the server redirects to, which moves it into the link's fragment; the server
// never receives it. Without this script the hidden key-check fields stay empty and the server
// refuses to make the room (a room nobody holds a key for).

import { exportKey, generateKey, makeKeyCheck } from "./room/crypto.js";

export const NEW_KEY_STORAGE = "roomchat-new-room-key";

const form = document.querySelector(".home-form");
const encrypted = form?.querySelector("input[name=encrypted]");
form?.addEventListener("submit", async (event) => {
  // Join, or a submit without a button while a code is typed, joins: no key to make.
  const joining = event.submitter?.name === "join" || (!event.submitter?.name && form.elements.code.value.trim());
  if (!encrypted?.checked || joining) return;
  event.preventDefault();
  const key = await generateKey();
  const check = await makeKeyCheck(key);
  form.elements.key_check.value = check.ciphertext;
  form.elements.key_check_iv.value = check.iv;
  sessionStorage.setItem(NEW_KEY_STORAGE, await exportKey(key));
  // submit() sends the form as it is, without this handler again, but not the button pressed.
  if (event.submitter?.name) {
    const pressed = Object.assign(document.createElement("input"), { type: "hidden" });
    pressed.name = event.submitter.name;
    pressed.value = event.submitter.value;
    form.append(pressed);
  }
  form.submit();
});
