// The name and passphrase prompts of a room: an encrypted room's link carries its key in the
// fragment (#k=…, docs/e2ee.md), which a form's action would drop; the redirect after the post
// keeps the fragment of the URL it was posted to, so the room page still finds its key.

for (const form of document.querySelectorAll("form[data-keep-fragment]")) {
  form.addEventListener("submit", () => {
    if (location.hash) form.action = form.action.split("#")[0] + location.hash;
  });
}
