// "Copy invite link": the room's link on the clipboard, or in a prompt to copy by hand.

const COPIED_MS = 2000;

// link: the full invite link when it is not the room's path alone (an encrypted room's carries its key).
export function createInvite({ link: fullLink } = {}) {
  const copy = document.getElementById("copy-link");
  copy.addEventListener("click", async () => {
    const link = fullLink ?? new URL(copy.dataset.invitePath, location.origin).href;
    try {
      await navigator.clipboard.writeText(link);
      copy.textContent = "Link copied";
    } catch {
      window.prompt("Copy this invite link:", link);
    }
    setTimeout(() => {
      copy.textContent = "Copy invite link";
    }, COPIED_MS);
  });
}
