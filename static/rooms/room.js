// The room page: one websocket to the room, the message list, the member list and the composer.
// This entry module only wires the modules in room/ to the socket; each holds one concern.
// Through a watch link the page is read-only: no composer, rename or owner menu (they are not in
// the page), and the socket is the watcher's.

import { createBots } from "./room/bots.js";
import { createCommands } from "./room/commands.js";
import { createComposer } from "./room/composer.js";
import { createConfirm } from "./room/confirm.js";
import { createDays } from "./room/days.js";
import { createEncryptedRoom, openRoomKey, showLocked } from "./room/encrypted.js";
import { createEnded } from "./room/ended.js";
import { createExpiry } from "./room/expiry.js";
import { createFrameRegistry } from "./room/frames.js";
import { createHistory } from "./room/history.js";
import { createImageUploads, createImageViewer } from "./room/images.js";
import { createInvite } from "./room/invite.js";
import { createJump } from "./room/jump.js";
import { createMessageKeys } from "./room/keyboard.js";
import { createLog } from "./room/log.js";
import { createMemberSheet } from "./room/member_sheet.js";
import { createMembers, NOTICES as MEMBER_NOTICES } from "./room/members.js";
import { createMentions } from "./room/mentions.js";
import { createMessages } from "./room/messages.js";
import { createMute } from "./room/mute.js";
import { createOwner, FATAL_ERRORS as OWNER_FATAL_ERRORS, NOTICES as OWNER_NOTICES } from "./room/owner.js";
import { createPending } from "./room/pending.js";
import { createPins } from "./room/pins.js";
import { createInviteQr } from "./room/qr.js";
import { createRename, NOTICES as RENAME_NOTICES } from "./room/rename.js";
import { createReply } from "./room/reply.js";
import { createRich } from "./room/rich.js";
import { createScroll } from "./room/scroll.js";
import { createSearch } from "./room/search.js";
import { FATAL_ERRORS as CONNECTION_FATAL_ERRORS, createSocket } from "./room/socket.js";
import { createStatus } from "./room/status.js";
import { createTyping } from "./room/typing.js";
import { createUnread } from "./room/unread.js";

const config = JSON.parse(document.getElementById("room-config").textContent);
const watching = Boolean(config.watch);

// Every page, watchers' too, knows every notice and fatal error, each declared by its module.
const frames = createFrameRegistry([
  { fatalErrors: CONNECTION_FATAL_ERRORS },
  { notices: MEMBER_NOTICES },
  { notices: RENAME_NOTICES },
  { fatalErrors: OWNER_FATAL_ERRORS, notices: OWNER_NOTICES },
]);

// A frame's handlers run in the order the modules are made here, which matters in three places:
// pending sends see an echo before messages shows it (the waiting copy makes way); rename adopts a
// new name before its notice is shown; and log, rename, history and pending claim their own
// refusals before the catch-all at the end shows an error.
const status = createStatus();
const ended = createEnded();
const confirmAction = createConfirm();
// An end-to-end encrypted room opens only with its key (room/encrypted.js); without one the page
// says how to get it and does not connect.
const roomKey = config.encryption ? await openRoomKey(config) : null;
const encryption = roomKey && createEncryptedRoom({ config, key: roomKey.key, keyText: roomKey.text, frames, status });
const socket = createSocket({ config, frames, status, inbound: encryption?.inbound, outbound: encryption?.outbound });
createLog({ frames, socket });
const pending = createPending({ config, frames, socket, status });
const typing = createTyping({ frames, socket });
if (!watching) createRename({ config, frames, socket });
const scroll = createScroll();
const unread = createUnread();
const mentions = createMentions({ config, watching });
const rich = createRich({ config, frames, socket, mentions, watching, confirmAction });
const messages = createMessages({
  config,
  frames,
  rich,
  mentions,
  scroll,
  onNewFromOthers: [unread.count, mentions.notify],
});
createHistory({ frames, socket, messages, scroll });
createDays({ config, frames });
const jump = createJump({ frames, socket, messages, status });
const reply = createReply({ frames, rich, jump, watching });
createSearch({ frames, socket, jump });
createImageViewer({ rich });
createMembers({ config, frames, scroll });
createMemberSheet({ frames });
createMessageKeys();
createExpiry({ config, frames });
if (!watching) {
  createOwner({ config, frames, socket, status, confirmAction });
  createBots({ config, frames, socket, confirmAction });
  createMute({ frames });
  const commands = createCommands({ config, frames, pending, status });
  // Images are not encrypted: an encrypted room offers none (nor the server-drawn QR code, which
  // cannot hold the key).
  const images = encryption ? null : createImageUploads({ config, status });
  const encryptedCommands = encryption ? [(frame) => encryption.beforeSend(frame, socket)] : [];
  createComposer({
    pending,
    typing,
    scroll,
    status,
    beforeSend: [commands.beforeSend, ...encryptedCommands, images?.beforeSend, reply.beforeSend].filter(Boolean),
    hasAttachments: images ? images.hasImages : () => false,
  });
  createInvite({ link: encryption?.inviteLink });
  createInviteQr({ config, link: encryption?.inviteLink });
  // Close the socket before leaving so the others see the leave notice at once.
  document.querySelector(".leave-form").addEventListener("submit", () => socket.leave());
}

// After the owner module: the Pin actions follow the ownership it records.
createPins({ config, frames, socket, rich, jump, watching });

// What no module claimed is shown under the composer; after a fatal error reconnecting cannot help,
// and the page says so in full instead of showing a room it is no longer in.
frames.on("error", (frame) => {
  status.showError(frame.detail);
  if (!frames.isFatal(frame.code)) return;
  socket.end();
  ended.show(frame);
});

if (config.encryption && !encryption) showLocked(status);
else socket.connect();
