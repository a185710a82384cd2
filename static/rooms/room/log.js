// The room's event log as this page has seen it. Every event the page must not miss (a message
// stored, an edit, deletion or reaction) has a position `seq` in the room's log, 1, 2, 3, … with no
// hole; live `message` and `message_changed` frames carry theirs. The page keeps the position up to
// which it has seen every event, resumes after it on a reconnect (socket.js), and when a live frame
// shows a hole (a frame lost between the server and the page) asks the server for what it missed
// with a `sync` frame (docs/protocol.md, "What a client does").

import { CLAIMED } from "./frames.js";

export const SYNC_WAIT_MS = 300; // a hole is asked about after this, so a burst leads to one sync
export const SYNC_ANSWER_MS = 10000; // a sync unanswered this long (an error, say) may be sent again

// Where a live frame at `seq` stands after `position` (every event up to it seen): "next" (the one
// after it), "old" (at or before it: applying it again is harmless), or "hole" (one or more events
// between were missed). A frame without a position is not in the log: "old", nothing to track.
export function gapAfter(position, seq) {
  if (!Number.isSafeInteger(seq) || seq <= position) return "old";
  return seq === position + 1 ? "next" : "hole";
}

// The highest contiguous position seen (`lastSeq`), and the positions seen past a hole, which count
// once the hole is filled.
export class LogPosition {
  lastSeq = 0;
  #ahead = new Set();

  // A live frame's position: returns what gapAfter says of it, and moves on where it can.
  see(seq) {
    const where = gapAfter(this.lastSeq, seq);
    if (where === "next") this.#moveTo(seq);
    if (where === "hole") this.#ahead.add(seq);
    return where;
  }

  // Every event up to `seq` is known: a fresh or resumed history (the newest position in it), or
  // the end of a sync's answer. Never moves back.
  caughtUp(seq) {
    if (Number.isSafeInteger(seq) && seq > this.lastSeq) this.#moveTo(seq);
  }

  // Whether a position past a hole was seen (the hole is not filled yet).
  get hasHole() {
    return this.#ahead.size > 0;
  }

  // A new connection resumes after lastSeq and so brings everything after it again.
  forgetAhead() {
    this.#ahead.clear();
  }

  #moveTo(seq) {
    this.lastSeq = seq;
    while (this.#ahead.has(this.lastSeq + 1)) this.lastSeq += 1;
    for (const ahead of this.#ahead) if (ahead <= this.lastSeq) this.#ahead.delete(ahead);
  }
}

// The newest position in a history page: each message's `seq` is that of its latest event.
export function newestSeq(messages) {
  let newest = 0;
  for (const message of messages) if (Number.isSafeInteger(message.seq)) newest = Math.max(newest, message.seq);
  return newest;
}

// Asking for missed events, free of the DOM: `send(frame)` goes to the socket and returns whether
// it was sent (offline, the next connect's resume brings what was missed). One sync at a time;
// its answer arrives as ordinary frames (through see()) and then a `synced` frame.
export class LogSync {
  #timer = null; // the next sync, when one is due
  #answerTimer = null; // while a sync is in flight
  #more = false; // the last answer said more events follow

  constructor(send, log = new LogPosition(), { timers = globalThis } = {}) {
    this.send = send;
    this.log = log;
    this.timers = timers;
  }

  get inFlight() {
    return this.#answerTimer !== null;
  }

  // A live `message` or `message_changed` frame's position; a hole is asked about shortly.
  saw(seq) {
    const where = this.log.see(seq);
    if (where === "hole") this.#later(SYNC_WAIT_MS);
    return where;
  }

  // A fresh or resumed history: the page is up to date as of its newest position.
  sawHistory(messages) {
    this.log.caughtUp(newestSeq(messages));
  }

  // The end of a sync's answer: everything up to frame.seq was sent. Ask again at once if the
  // server has more (each answer moving on), or if a hole is still open.
  synced(frame) {
    this.#answered();
    this.log.caughtUp(frame.seq);
    this.#more = frame.complete === false && frame.seq > frame.after_seq;
    if (this.#more || this.log.hasHole) this.#later(0);
  }

  // An error frame; returns whether it refused a sync (rate_limited with the sync's after_seq):
  // then the sync is asked again once the server allows it.
  refused(error) {
    if (error.code !== "rate_limited" || error.after_seq === undefined) return false;
    this.#answered();
    this.#later((error.retry_after || 1) * 1000);
    return true;
  }

  // A new connection begins: whatever was in flight is lost, and its resume brings what was missed.
  reset() {
    this.timers.clearTimeout(this.#timer);
    this.#timer = null;
    this.#answered();
    this.#more = false;
    this.log.forgetAhead();
  }

  #answered() {
    this.timers.clearTimeout(this.#answerTimer);
    this.#answerTimer = null;
  }

  #later(ms) {
    if (this.#timer !== null || this.inFlight) return; // that one asks from the newest position
    this.#timer = this.timers.setTimeout(() => {
      this.#timer = null;
      this.#sync();
    }, ms);
  }

  #sync() {
    if (this.inFlight || !(this.#more || this.log.hasHole)) return;
    if (!this.send({ type: "sync", after_seq: this.log.lastSeq })) return;
    this.#answerTimer = this.timers.setTimeout(() => {
      this.#answerTimer = null;
      this.#sync();
    }, SYNC_ANSWER_MS);
  }
}

// --- on the page: live frames, history and sync answers move the position -------------------------

export function createLog({ frames, socket }) {
  const sync = new LogSync((frame) => socket.send(frame), socket.resume);

  socket.onConnect(() => sync.reset());
  frames.on("message", (frame) => {
    sync.saw(frame.seq);
  });
  frames.on("message_changed", (frame) => {
    sync.saw(frame.seq);
  });
  frames.on("history", (frame) => {
    // "Load earlier" pages say nothing about what happened since the newest position.
    if (frame.before === undefined) sync.sawHistory(frame.messages);
  });
  frames.on("synced", (frame) => {
    sync.synced(frame);
  });
  frames.on("error", (frame) => (sync.refused(frame) ? CLAIMED : undefined));

  return sync;
}
