// On a phone the member list would crowd out the messages: it is a "Here now: N" button in the
// header that opens the list as a sheet over the bottom of the screen (style.css, max-width 600px).
// On wider screens the button is hidden and the list is the sidebar.

export function createMemberSheet({ frames }) {
  const room = document.querySelector(".room");
  const toggle = document.getElementById("members-toggle");
  const panel = document.getElementById("members-panel");
  const count = document.getElementById("member-count-short");

  function setOpen(open) {
    room.classList.toggle("members-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    if (open) document.getElementById("members-close").focus();
  }

  // The count members.js has just shown (it subscribed first), whatever shape presence frames take.
  frames.on("presence", () => {
    count.textContent = document.getElementById("member-count").textContent;
  });
  toggle.addEventListener("click", () => setOpen(!room.classList.contains("members-open")));
  document.getElementById("members-close").addEventListener("click", () => {
    setOpen(false);
    toggle.focus();
  });
  panel.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !room.classList.contains("members-open")) return;
    setOpen(false);
    toggle.focus();
  });
}
