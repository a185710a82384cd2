// The room's owner: the badge, the room menu (kick, mute, make owner, lock, passphrase, expiry,
// owner link, watch link) in a modal side sheet, and the moderation notices and errors every page
// must know of. Actions that cannot be taken back ask first.

import { button, el, nameInText } from "./dom.js";
import { expiryChoiceText } from "./expiry.js";
import { formatDateTime, formatTime, gettext, interpolate, interpolateParts, ngettext } from "./i18n.js";

// Errors after which reconnecting cannot help: the owner's sanctions and settings keep this page out.
export const FATAL_ERRORS = ["kicked", "locked", "passphrase_required", "room_expired"];

// The names in a notice (who, and by whom), each in its own <bdi>.
const names = (frame) => ({ name: nameInText(frame.name), by: nameInText(frame.by ?? "") });
const said = (text, frame) => interpolateParts(text, names(frame));

export const NOTICES = {
  kick: (frame) => said(gettext("%(name)s was removed by %(by)s"), frame),
  mute: (frame) =>
    interpolateParts(
      ngettext(
        "%(name)s was muted for %(count)s minute by %(by)s",
        "%(name)s was muted for %(count)s minutes by %(by)s",
        frame.minutes,
      ),
      { ...names(frame), count: frame.minutes },
    ),
  lock: (frame) => said(gettext("%(name)s locked the room: no new members can join"), frame),
  unlock: (frame) => said(gettext("%(name)s unlocked the room"), frame),
  owner: (frame) => said(gettext("%(by)s made %(name)s the owner"), frame),
  expiry: (frame) =>
    said(
      frame.expires_at ? gettext("%(name)s set the room to disappear") : gettext("%(name)s cancelled the expiry"),
      frame,
    ),
  passphrase_set: (frame) => said(gettext("%(name)s set a passphrase for new members"), frame),
  passphrase_removed: (frame) => said(gettext("%(name)s removed the passphrase"), frame),
  watch_on: (frame) => said(gettext("%(name)s shared a read-only watch link: people with it can read along"), frame),
  watch_off: (frame) => said(gettext("%(name)s ended the watch link"), frame),
};

// What the watch link part of the menu says. `known`: this page has the link itself (the session
// that made it); other owner sessions only learn that one is live.
export function watchLinkState(active, known) {
  if (!active) return gettext("No watch link: create one to let people read along without joining.");
  if (known) return gettext("Anyone with this link can read the room live, without joining or sending.");
  return gettext("A watch link made in another browser is live. Replace it to see a link here.");
}

export function createOwner({ config, frames, socket, status, confirmAction }) {
  const byId = (id) => document.getElementById(id);
  const badge = byId("owner-badge");
  const menu = byId("room-menu");
  const menuButton = byId("room-menu-button");
  const lockToggle = byId("lock-toggle");
  const memberTarget = byId("member-target");
  const watchLink = byId("watch-link");
  const expiryHours = byId("expiry-hours");
  const memberButtons = ["kick-member", "mute-member", "transfer-owner"].map(byId);
  let locked = false;

  function showOwner(owner) {
    config.owner = owner;
    badge.hidden = !owner;
    menuButton.hidden = !owner;
    // Owners see Delete on everyone's messages (style.css shows those buttons under .is-owner).
    document.querySelector(".room").classList.toggle("is-owner", owner);
    if (!owner && menu.open) menu.close();
  }

  function showLocked(isLocked) {
    locked = isLocked;
    byId("lock-state").textContent = isLocked
      ? gettext("The room is locked: no new members can join.")
      : gettext("The room is open to new members.");
    lockToggle.textContent = isLocked ? gettext("Unlock room") : gettext("Lock room");
  }

  function showExpiry(expiresAt) {
    byId("cancel-expiry").hidden = !expiresAt;
    byId("expiry-state").textContent = expiresAt
      ? interpolate(gettext("The room will be deleted on %(when)s."), { when: formatDateTime(new Date(expiresAt)) })
      : gettext("No expiry: the room stays until it has been idle for a long time.");
  }

  // An encrypted room's links carry its key in the fragment as the page's own does (docs/e2ee.md).
  const keyFragment = /^#k=/.test(location.hash) ? location.hash : "";
  const ownerLink = byId("owner-link");
  if (ownerLink?.value && keyFragment) ownerLink.value += keyFragment;

  // A new owner learns its owner link live (the link holds the new key; only its sessions get it).
  function showOwnerLink(path) {
    byId("owner-link").value = new URL(path, location.origin).href + keyFragment;
    byId("owner-link-row").hidden = false;
  }

  function showWatchLink(path) {
    watchLink.value = path ? new URL(path, location.origin).href + keyFragment : "";
  }

  function showWatchActive(active) {
    if (!active) watchLink.value = "";
    const known = active && Boolean(watchLink.value);
    watchLink.hidden = !known;
    byId("watch-link-label").hidden = !known;
    byId("revoke-watch-link").hidden = !active;
    byId("create-watch-link").textContent = active ? gettext("Replace watch link") : gettext("Create watch link");
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
        const lift = button("", gettext("Let in again"), () => act({ type: "unban", id: ban.id }));
        const item = el("li");
        const barred = gettext("%(name)s's address is barred until %(time)s");
        item.append(
          ...interpolateParts(barred, { name: nameInText(ban.name), time: formatTime(new Date(ban.until)) }),
          " ",
          lift,
        );
        return item;
      }),
    );
  }

  function act(frame) {
    if (!socket.send(frame)) status.showError(gettext("Not connected right now; try again in a moment."));
  }

  // Asks first, then acts on the member chosen in the menu.
  async function actOnMember(question, actionLabel, frameFor) {
    const name = memberTarget.value;
    if (name && (await confirmAction(question(name), actionLabel))) act(frameFor(name));
  }

  frames.on("room_state", (frame) => {
    if (typeof frame.owner === "boolean") showOwner(frame.owner);
    if (frame.owner_link) showOwnerLink(frame.owner_link);
    if (typeof frame.locked === "boolean") showLocked(frame.locked);
    if ("expires_at" in frame) showExpiry(frame.expires_at);
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
    if (others.includes(chosen)) memberTarget.value = chosen;
    byId("no-member-note").hidden = others.length > 0;
    memberTarget.disabled = !others.length;
    for (const control of memberButtons) control.disabled = !others.length;
  });

  showOwner(Boolean(config.owner));
  showExpiry(config.expires_at);
  showWatchActive(Boolean(config.watch_active));
  menuButton.addEventListener("click", () => menu.showModal());
  byId("room-menu-close").addEventListener("click", () => menu.close());
  // A click on the backdrop (outside the sheet) closes it, as Escape does.
  menu.addEventListener("click", (event) => {
    if (event.target === menu) menu.close();
  });
  lockToggle.addEventListener("click", () => act({ type: "lock", locked: !locked }));
  byId("kick-member").addEventListener("click", () =>
    actOnMember(
      (name) => interpolate(gettext("Remove %(name)s from the room? They cannot come back for 10 minutes."), { name }),
      gettext("Kick"),
      (name) => ({ type: "kick", name }),
    ),
  );
  byId("mute-member").addEventListener("click", () => {
    const minutes = Number.parseInt(byId("mute-minutes").value, 10);
    if (memberTarget.value) act({ type: "mute", name: memberTarget.value, minutes });
  });
  byId("transfer-owner").addEventListener("click", () =>
    actOnMember(
      (name) => interpolate(gettext("Make %(name)s the owner? You will no longer own this room."), { name }),
      gettext("Make owner"),
      (name) => ({ type: "transfer", to: name }),
    ),
  );
  expiryHours.addEventListener("change", () => {
    byId("set-expiry").disabled = !expiryHours.value;
  });
  byId("expiry-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const hours = Number.parseInt(expiryHours.value, 10);
    if (!hours) return;
    const question = interpolate(gettext("Delete this room and all its messages %(when)s?"), {
      when: expiryChoiceText(hours),
    });
    if (await confirmAction(question, gettext("Set expiry"))) act({ type: "expiry", hours });
  });
  byId("cancel-expiry").addEventListener("click", () => act({ type: "expiry", hours: null }));
  byId("passphrase-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const field = byId("new-passphrase");
    act({ type: "passphrase", passphrase: field.value });
    field.value = "";
  });
  byId("create-watch-link").addEventListener("click", () => act({ type: "watch_link", active: true }));
  byId("revoke-watch-link").addEventListener("click", () => act({ type: "watch_link", active: false }));
}
