// The room's websocket: connect, reconnect with backoff after any drop, and resume after the room's
// log position the page is up to date with (?after_seq=), so the server sends exactly what was
// missed. Every frame received goes to the frame registry.

import { gettext } from "./i18n.js";
import { LogPosition } from "./log.js";

// Errors after which reconnecting cannot help.
export const FATAL_ERRORS = [
  "no_name",
  "room_not_found",
  "forbidden_origin",
  "room_removed",
  "watch_link_invalid",
  "watch_revoked",
];
export const RECONNECT_BASE_MS = 500;
export const RECONNECT_MAX_MS = 10000;

// Capped exponential backoff with full jitter, so a restarted server is not stampeded.
export function reconnectDelay(failedAttempts, random = Math.random) {
  return random() * Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** failedAttempts);
}

// Where a reconnect resumes: after the highest position of the room's log up to which this page has
// seen every event (LogPosition's lastSeq, moved on by live frames, histories and sync answers).
export class ResumePoint extends LogPosition {
  // Nothing seen yet (nothing shown): a fresh connect, which sends the latest page of history.
  query() {
    return this.lastSeq ? `?after_seq=${this.lastSeq}` : "";
  }
}

// A watcher connects through the watch link's own path.
export function socketUrl(location, config, query) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const room = encodeURIComponent(config.code);
  const path = config.watch ? `${room}/watch/${encodeURIComponent(config.watch)}` : room;
  return `${scheme}://${location.host}/ws/rooms/${path}/${query}`;
}

// An uncaught error in a frame's handlers is reported as the browser reports any other, not lost
// in the promise chain that keeps frames in order.
function reportLater(error) {
  setTimeout(() => {
    throw error;
  });
}

// inbound(frame) and outbound(frame), when given (an encrypted room, room/encrypted.js), are async
// transforms of every frame received and sent; frames keep their order through them, and an
// outbound result of null is not sent.
export function createSocket({ config, frames, status, inbound = null, outbound = null }) {
  const resume = new ResumePoint();
  let received = Promise.resolve();
  let sent = Promise.resolve();
  const connectListeners = [];
  let socket = null;
  let failedAttempts = 0;
  let stopped = false;
  let reconnectTimer = null;

  function connect() {
    const again = failedAttempts > 0;
    status.setConnection(
      again ? "reconnecting" : "connecting",
      again ? gettext("Reconnecting…") : gettext("Connecting…"),
    );
    socket = new WebSocket(socketUrl(location, config, resume.query()));
    for (const listener of connectListeners) listener();
    socket.addEventListener("open", () => {
      failedAttempts = 0;
      status.setConnection("connected", gettext("Connected"));
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!inbound) return frames.dispatch(frame);
      received = received
        .then(() => inbound(frame))
        .then((changed) => frames.dispatch(changed))
        .catch(reportLater);
    });
    socket.addEventListener("close", () => {
      socket = null;
      if (stopped) return;
      const delay = reconnectDelay(failedAttempts);
      failedAttempts += 1;
      const offline = navigator.onLine === false;
      status.setConnection(
        offline ? "offline" : "reconnecting",
        offline ? gettext("Offline") : gettext("Reconnecting…"),
      );
      reconnectTimer = setTimeout(connect, delay);
    });
  }

  window.addEventListener("online", () => {
    if (socket || stopped) return;
    clearTimeout(reconnectTimer);
    connect();
  });
  window.addEventListener("offline", () => {
    if (!stopped) status.setConnection("offline", gettext("Offline"));
  });

  function isOpen() {
    return socket !== null && socket.readyState === WebSocket.OPEN;
  }

  return {
    resume,
    connect,
    isOpen,
    // Sends now if connected; returns whether it did.
    send(frame) {
      if (!isOpen()) return false;
      if (!outbound) {
        socket.send(JSON.stringify(frame));
        return true;
      }
      const target = socket;
      sent = sent
        .then(() => outbound(frame))
        .then((changed) => {
          if (changed && target.readyState === WebSocket.OPEN) target.send(JSON.stringify(changed));
        })
        .catch(reportLater);
      return true;
    },
    // listener() runs as each (re)connect begins, before any of its frames arrive.
    onConnect(listener) {
      connectListeners.push(listener);
    },
    // The server ended this page's place in the room (a fatal error): never reconnect.
    end() {
      stopped = true;
      status.setConnection("offline", gettext("Disconnected"));
    },
    // Leaving: close at once so the others see the leave notice now.
    leave() {
      stopped = true;
      if (socket) socket.close(1000, "left");
    },
  };
}
