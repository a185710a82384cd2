// The room's owner: the badge, the room menu (kick, mute, make owner, lock, passphrase, expiry,
// owner link, watch link), and the moderation notices and errors every page must know of.

import { button, el, nameInText } from "./dom.js";

// Errors after which reconnecting cannot help: the owner's sanctions and settings keep this page out.
export const FATAL_ERRORS = ["kicked", "locked", "passphrase_required", "room_expired"];

export const NOTICES = {
  kick: (frame) => [nameInText(frame.name), " was removed by ", nameInText(frame.by)],
  mute: (frame) => [nameInText(frame.name), ` was muted for ${frame.minutes} min by `, nameInText(frame.by)],
  lock: (frame) => [nameInText(frame.name), " locked the room: no new members can join"],
  unlock: (frame) => [nameInText(frame.name), " unlocked the room"],
  owner: (frame) => [nameInText(frame.by), " made ", nameInText(frame.name), " the owner"],
  expiry: (frame) => [
    nameInText(frame.name),
    frame.expires_at ? " set the room to disappear" : " cancelled the expiry",
  ],
  passphrase_set: (frame) => [nameInText(frame.name), " set a passphrase for new members"],
  passphrase_removed: (frame) => [nameInText(frame.name), " removed the passphrase"],
  watch_on: (frame) => [nameInText(frame.name), " shared a read-only watch link: people with it can read along"],
  watch_off: (frame) => [nameInText(frame.name), " ended the watch link"],
};

// What the watch link part of the menu says. `known`: this page has the link itself (the session
// that made it); other owner sessions only learn that one is live.
export function watchLinkState(active, known) {
  if (!active) return "No watch link: create one to let people read along without joining.";
  if (known) return "Anyone with this link can read the room live, without joining or sending.";
  return "A watch link made in another browser is live. Replace it to see a link here.";
}

export function createOwner({ config, frames, socket, status }) {
  const byId = (id) => document.getElementById(id);
  const badge = byId("owner-badge");
  const menu = byId("room-menu");
  const lockToggle = byId("lock-toggle");
  const memberTarget = byId("member-target");
  const watchLink = byId("watch-link");
  let locked = false;

  function showOwner(owner) {
    config.owner = owner;
    badge.hidden = !owner;
    menu.hidden = !owner;
    if (!owner) menu.open = false;
  }

  function showLocked(isLocked) {
    locked = isLocked;
    byId("lock-state").textContent = isLocked
      ? "The room is locked: no new members can join."
      : "The room is open to new members.";
    lockToggle.textContent = isLocked ? "Unlock room" : "Lock room";
  }

  // A new owner learns its owner link live (the link holds the new key; only its sessions get it).
  function showOwnerLink(path) {
    byId("owner-link").value = new URL(path, location.origin).href;
    byId("owner-link-row").hidden = false;
  }

  function showWatchLink(path) {
    watchLink.value = path ? new URL(path, location.origin).href : "";
  }

  function showWatchActive(active) {
    if (!active) watchLink.value = "";
    const known = active && Boolean(watchLink.value);
    watchLink.hidden = !known;
    byId("watch-link-label").hidden = !known;
    byId("revoke-watch-link").hidden = !active;
    byId("create-watch-link").textContent = active ? "Replace watch link" : "Create watch link";
    byId("watch-link-state").textContent = watchLinkState(active, known);
  }

  // Addresses of kicked members, barred from joining with a fresh session until the ban ends: the
  // owner sees them by the kicked name and can lift each one. Built here, at the end of the menu.
  const bans = el("ul", "room-bans");
  bans.id = "room-bans";
  bans.hidden = true;
  menu.querySelector(".room-menu-body")?.append(bans);

  function showBans(list) {
    bans.hidden = list.length === 0;
    bans.replaceChildren(
      ...list.map((ban) => {
        const lift = button("", "Let in again", () => act({ type: "unban", id: ban.id }));
        const item = el("li");
        item.append(
          nameInText(ban.name),
          `'s address is barred until ${new Date(ban.until).toLocaleTimeString()} `,
          lift,
        );
        return item;
      }),
    );
  }

  function act(frame) {
    if (!socket.send(frame)) status.showError("Not connected right now; try again in a moment.");
  }

  // The member chosen in the menu, or "" when nobody else is here (which the person is told).
  function chosenMember() {
    if (!memberTarget.value) status.showError("Nobody else is here to choose.");
    return memberTarget.value;
  }

  frames.on("room_state", (frame) => {
    if (typeof frame.owner === "boolean") showOwner(frame.owner);
    if (frame.owner_link) showOwnerLink(frame.owner_link);
    if (typeof frame.locked === "boolean") showLocked(frame.locked);
    if (frame.muted_until) status.showError(`You are muted until ${new Date(frame.muted_until).toLocaleTimeString()}.`);
    if ("watch_link" in frame) showWatchLink(frame.watch_link);
    if (typeof frame.watch_active === "boolean") showWatchActive(frame.watch_active);
    if (Array.isArray(frame.bans)) showBans(frame.bans);
  });
  // The members the owner can act on: everyone here but themself; the choice survives updates.
  frames.on("presence", (frame) => {
    const chosen = memberTarget.value;
    const others = frame.members.filter((name) => name !== config.name);
    memberTarget.replaceChildren(
      ...others.map((name) => {
        const option = el("option", "", name);
        option.value = name;
        return option;
      }),
    );
    if (frame.members.includes(chosen)) memberTarget.value = chosen;
  });

  showWatchActive(Boolean(config.watch_active));
  lockToggle.addEventListener("click", () => act({ type: "lock", locked: !locked }));
  byId("kick-member").addEventListener("click", () => {
    const name = chosenMember();
    if (name) act({ type: "kick", name });
  });
  byId("mute-member").addEventListener("click", () => {
    const name = chosenMember();
    if (name) act({ type: "mute", name, minutes: Number.parseInt(byId("mute-minutes").value, 10) });
  });
  byId("transfer-owner").addEventListener("click", () => {
    const name = chosenMember();
    if (name) act({ type: "transfer", to: name });
  });
  byId("expiry-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act({ type: "expiry", hours: Number.parseInt(byId("expiry-hours").value, 10) });
  });
  byId("passphrase-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const field = byId("new-passphrase");
    act({ type: "passphrase", passphrase: field.value });
    field.value = "";
  });
  byId("create-watch-link").addEventListener("click", () => act({ type: "watch_link", active: true }));
  byId("revoke-watch-link").addEventListener("click", () => act({ type: "watch_link", active: false }));
}
