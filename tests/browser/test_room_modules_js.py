"""The pure logic of the room page's modules (static/rooms/room/*.js), run in Chromium.

Each module is imported from the live server as the room page imports it; importing one touches no
page element, so a bare page will do. Scenarios are JavaScript run in the page; the pending-send
queue runs on fake timers, so its pacing and retry delays are checked exactly and at once.
"""

import json

from playwright.sync_api import expect

MODULES = "/static/rooms/room/"

# Timers a test advances by hand: setTimeout/clearTimeout as the queue calls them, and advance(ms),
# which runs what falls due in time order (a timer set while running runs too if it is due).
FAKE_TIMERS = """
function fakeTimers() {
  let now = 0;
  let nextId = 1;
  const waiting = new Map();
  return {
    get now() { return now; },
    setTimeout(callback, ms) { waiting.set(nextId, { callback, at: now + ms }); return nextId++; },
    clearTimeout(id) { waiting.delete(id); },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = [...waiting].filter(([, timer]) => timer.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        waiting.delete(due[0]);
        now = due[1].at;
        due[1].callback();
      }
      now = until;
    },
  };
}
"""


def run(page, module, body, arg=None):
    """Runs `body` as an async function with `m` (the module's exports) and `arg`; returns its result."""
    script = f"async ([url, arg]) => {{ {FAKE_TIMERS}\n const m = await import(url);\n {body} }}"
    return page.evaluate(script, [MODULES + module, arg])


# --- frames.js: the one registry of frame handlers, fatal errors and notices -----------------------


def test_frame_handlers_run_in_subscription_order_until_one_claims_the_frame(page):
    seen = run(
        page,
        "frames.js",
        """
        const frames = m.createFrameRegistry();
        const seen = [];
        frames.on("error", (frame) => { seen.push(`rename ${frame.code}`); });
        frames.on("error", (frame) => { seen.push(`history ${frame.code}`); if (frame.before) return m.CLAIMED; });
        frames.on("error", (frame) => { seen.push(`shown ${frame.code}`); });
        frames.on("presence", () => { seen.push("members"); });
        frames.on("presence", () => { seen.push("owner menu"); });
        const claimed = [
          frames.dispatch({ type: "error", code: "rate_limited", before: 40 }),
          frames.dispatch({ type: "error", code: "kicked" }),
          frames.dispatch({ type: "presence", members: [] }),
          frames.dispatch({ type: "no_such_type" }),
          frames.dispatch({ type: "constructor" }),
        ];
        return { seen, claimed };
        """,
    )
    assert seen["seen"] == [
        "rename rate_limited",
        "history rate_limited",
        "rename kicked",
        "history kicked",
        "shown kicked",
        "members",
        "owner menu",
    ]
    assert seen["claimed"] == [True, False, False, False, False]


def test_fatal_errors_and_notices_are_declared_once_each(page):
    result = run(
        page,
        "frames.js",
        """
        const frames = m.createFrameRegistry([
          { fatalErrors: ["room_removed"] },
          { notices: { join: (frame) => [frame.name, " has entered"] } },
          { fatalErrors: ["kicked"], notices: { kick: (frame) => [frame.name, " was removed"] } },
        ]);
        const duplicate = (declarations) => {
          try { m.createFrameRegistry(declarations); return null; } catch (error) { return error.message; }
        };
        return {
          fatal: ["room_removed", "kicked", "rate_limited", "toString"].map((code) => frames.isFatal(code)),
          notices: ["join", "kick", "lock", "constructor"].map(
            (event) => frames.describeNotice({ event, name: "Ann" })),
          twiceFatal: duplicate([{ fatalErrors: ["kicked"] }, { fatalErrors: ["kicked"] }]),
          twiceNotice: duplicate([{ notices: { join: () => [] } }, { notices: { join: () => [] } }]),
        };
        """,
    )
    assert result["fatal"] == [True, True, False, False]
    assert result["notices"] == [["Ann", " has entered"], ["Ann", " was removed"], None, None]
    assert "kicked" in result["twiceFatal"]
    assert "join" in result["twiceNotice"]


def test_every_module_declares_distinct_fatal_errors_and_notices(page):
    """The declarations the room page gathers fit together: no code or event is claimed twice."""
    declared = page.evaluate(
        """async (base) => {
            const [socket, members, rename, owner, frames] = await Promise.all(
                ["socket", "members", "rename", "owner", "frames"].map((name) => import(`${base}${name}.js`)));
            frames.createFrameRegistry([
                { fatalErrors: socket.FATAL_ERRORS }, { notices: members.NOTICES }, { notices: rename.NOTICES },
                { fatalErrors: owner.FATAL_ERRORS, notices: owner.NOTICES },
            ]);
            return {
                fatal: [...socket.FATAL_ERRORS, ...owner.FATAL_ERRORS],
                notices: [members.NOTICES, rename.NOTICES, owner.NOTICES].flatMap(Object.keys),
            };
        }""",
        MODULES,
    )
    assert {"room_removed", "watch_revoked", "kicked", "room_expired"} <= set(declared["fatal"])
    assert {"join", "leave", "rename", "kick", "watch_off"} <= set(declared["notices"])


# --- socket.js: backoff and where a reconnect resumes ----------------------------------------------


def test_reconnect_delay_doubles_from_half_a_second_up_to_ten_with_full_jitter(page):
    delays = run(
        page,
        "socket.js",
        """
        const attempts = [0, 1, 2, 3, 4, 5, 6, 12];
        return {
          longest: attempts.map((attempt) => m.reconnectDelay(attempt, () => 1)),
          shortest: attempts.map((attempt) => m.reconnectDelay(attempt, () => 0)),
          halfway: m.reconnectDelay(3, () => 0.5),
        };
        """,
    )
    assert delays["longest"] == [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]
    assert delays["shortest"] == [0] * 8
    assert delays["halfway"] == 2000


def test_a_reconnect_resumes_after_the_log_position_seen_without_a_hole(page):
    queries = run(
        page,
        "socket.js",
        """
        const resume = new m.ResumePoint();
        const queries = [resume.query()]; // nothing shown: a fresh connect
        resume.caughtUp(0); // the history of an empty room
        queries.push(resume.query());
        resume.caughtUp(12); // a history whose newest event is at 12
        resume.see(13);
        resume.see(15); // 14 was missed: the resume must bring it
        queries.push(resume.query());
        resume.see(14);
        queries.push(resume.query());
        resume.caughtUp(9); // an older position never moves the point back
        queries.push(resume.query());
        return queries;
        """,
    )
    assert queries == ["", "", "?after_seq=13", "?after_seq=15", "?after_seq=15"]


def test_socket_url_for_members_and_watchers(page):
    urls = run(
        page,
        "socket.js",
        """
        return [
          m.socketUrl({ protocol: "http:", host: "127.0.0.1:8000" }, { code: "ABC234" }, ""),
          m.socketUrl({ protocol: "https:", host: "chat.example" }, { code: "ABC234" }, "?after_seq=5"),
          m.socketUrl({ protocol: "https:", host: "chat.example" }, { code: "ABC234", watch: "t/k n" }, ""),
        ];
        """,
    )
    assert urls == [
        "ws://127.0.0.1:8000/ws/rooms/ABC234/",
        "wss://chat.example/ws/rooms/ABC234/?after_seq=5",
        "wss://chat.example/ws/rooms/ABC234/watch/t%2Fk%20n/",
    ]


# --- log.js: the room's log position, holes, and asking for what was missed -----------------------


def test_a_live_frame_is_the_next_position_an_old_one_or_one_past_a_hole(page):
    cases = [
        [0, 1, "next"],
        [0, 2, "hole"],
        [5, 6, "next"],
        [5, 9, "hole"],
        [5, 5, "old"],
        [5, 3, "old"],
        [5, None, "old"],  # not in the log (no seq)
        [5, "6", "old"],
        [5, 6.5, "old"],
    ]
    found = run(page, "log.js", "return arg.map(([position, seq]) => m.gapAfter(position, seq));", cases)
    assert found == [expected for _, _, expected in cases]


def test_the_position_moves_only_without_a_hole_and_takes_in_what_was_seen_past_it(page):
    result = run(
        page,
        "log.js",
        """
        const log = new m.LogPosition();
        const steps = [];
        const step = (what) => steps.push([what, log.lastSeq, log.hasHole]);
        log.caughtUp(m.newestSeq([{ seq: 4 }, { seq: 2 }, { seq: 3 }])); // a history: newest event at 4
        step("history");
        step(log.see(5));
        step(log.see(7));
        step(log.see(8));
        step(log.see(5)); // a repeat: harmless
        step(log.see(6)); // the missed one: 7 and 8 count now
        step(log.see(10));
        log.caughtUp(7); // a position already passed
        step("caught up to 7");
        log.caughtUp(9); // a sync's answer ended at 9: 10 follows on
        step("caught up to 9");
        step(log.see(12));
        log.forgetAhead(); // a reconnect resumes after 10 and brings 11 and 12 again
        step("reconnect");
        return { steps, newest: [m.newestSeq([]), m.newestSeq([{ id: 3 }, { seq: 7 }])] };
        """,
    )
    assert result["steps"] == [
        ["history", 4, False],
        ["next", 5, False],
        ["hole", 5, True],
        ["hole", 5, True],
        ["old", 5, True],
        ["next", 8, False],
        ["hole", 8, True],
        ["caught up to 7", 8, True],
        ["caught up to 9", 10, False],
        ["hole", 10, True],
        ["reconnect", 10, False],
    ]
    assert result["newest"] == [0, 7]


NEW_LOG_SYNC = """
const timers = fakeTimers();
const sent = [];
let online = true;
const log = new m.LogPosition();
const sync = new m.LogSync((frame) => {
  if (!online) return false;
  sent.push([timers.now, frame.type, frame.after_seq]);
  return true;
}, log, { timers });
const seeAll = (from, to) => { for (let seq = from; seq <= to; seq += 1) sync.saw(seq); };
"""


def test_a_hole_is_asked_about_once_and_the_answer_fills_it(page):
    result = run(
        page,
        "log.js",
        NEW_LOG_SYNC
        + """
        sync.sawHistory([{ id: 1, seq: 3 }, { id: 2, seq: 4 }]);
        const where = [5, 7, 8].map((seq) => sync.saw(seq)); // 6 was lost on the way
        timers.advance(m.SYNC_WAIT_MS - 1);
        const beforeWait = sent.length;
        timers.advance(1);
        sync.saw(9); // more after the hole while the sync is answered: no second sync
        timers.advance(5000);
        const whileInFlight = sent.length;
        seeAll(6, 9); // the answer: every event after 5, in order
        sync.synced({ type: "synced", after_seq: 5, seq: 9, complete: true });
        sync.saw(10);
        timers.advance(60000);
        return { where, beforeWait, whileInFlight, sent, lastSeq: log.lastSeq, wait: m.SYNC_WAIT_MS };
        """,
    )
    assert result["where"] == ["next", "hole", "hole"]
    assert result["wait"] <= 1000
    assert result["beforeWait"] == 0
    assert result["whileInFlight"] == 1
    assert result["sent"] == [[result["wait"], "sync", 5]]
    assert result["lastSeq"] == 10


def test_a_long_gap_is_asked_for_page_by_page_and_a_refused_sync_waits_as_told(page):
    result = run(
        page,
        "log.js",
        NEW_LOG_SYNC
        + """
        sync.sawHistory([{ seq: 10 }]);
        sync.saw(250);
        timers.advance(m.SYNC_WAIT_MS);
        seeAll(11, 210); // the first page of the answer
        sync.synced({ type: "synced", after_seq: 10, seq: 210, complete: false });
        timers.advance(0); // the next page is asked for at once
        const pages = sent.length;
        const claimed = [
          sync.refused({ type: "error", code: "rate_limited", retry_after: 0.5, before: 40 }), // a history page's
          sync.refused({ type: "error", code: "rate_limited", retry_after: 0.5, client_id: "x" }), // a message's
          sync.refused({ type: "error", code: "rate_limited", retry_after: 1.5, after_seq: 210 }),
        ];
        const refusedAt = timers.now;
        timers.advance(1499);
        const tooSoon = sent.length;
        timers.advance(1);
        seeAll(211, 260);
        sync.synced({ type: "synced", after_seq: 210, seq: 260, complete: true });
        timers.advance(60000);
        return { pages, claimed, refusedAt, tooSoon, sent, lastSeq: log.lastSeq };
        """,
    )
    wait = result["sent"][0][0]
    assert result["pages"] == 2
    assert result["claimed"] == [False, False, True]
    assert result["tooSoon"] == 2
    assert result["sent"] == [
        [wait, "sync", 10],
        [wait, "sync", 210],
        [result["refusedAt"] + 1500, "sync", 210],
    ]
    assert result["lastSeq"] == 260


def test_an_unanswered_sync_is_sent_again_and_a_reconnect_or_no_progress_ends_asking(page):
    result = run(
        page,
        "log.js",
        NEW_LOG_SYNC
        + """
        sync.sawHistory([{ seq: 1 }]);
        sync.saw(3);
        timers.advance(m.SYNC_WAIT_MS);
        timers.advance(m.SYNC_ANSWER_MS); // no answer (say, an error without after_seq): ask again
        const unanswered = sent.slice();
        sync.synced({ type: "synced", after_seq: 1, seq: 3, complete: true }); // late, but it counts
        // An answer that makes no progress is not asked again and again.
        sync.synced({ type: "synced", after_seq: 3, seq: 3, complete: false });
        timers.advance(60000);
        const afterNoProgress = sent.length;
        // A hole while offline: nothing can be sent; the reconnect's resume brings what was missed.
        online = false;
        sync.saw(5);
        timers.advance(60000);
        const offline = sent.length;
        online = true;
        sync.reset();
        timers.advance(60000);
        const afterReset = sent.length;
        // A hole seen just before a reconnect: the new connection's resume covers it.
        sync.saw(6);
        sync.reset();
        timers.advance(60000);
        return { unanswered, afterNoProgress, offline, afterReset, sent: sent.length, lastSeq: log.lastSeq,
                 hasHole: log.hasHole, answerMs: m.SYNC_ANSWER_MS };
        """,
    )
    wait = result["unanswered"][0][0]
    assert result["unanswered"] == [[wait, "sync", 1], [wait + result["answerMs"], "sync", 1]]
    assert result["afterNoProgress"] == 2
    assert result["offline"] == 2
    assert result["afterReset"] == 2
    assert result["sent"] == 2
    assert result["lastSeq"] == 3
    assert result["hasHole"] is False


def test_on_the_page_live_frames_and_histories_move_the_position_and_sync_refusals_are_claimed(page):
    result = run(
        page,
        "log.js",
        """
        const frames = (await import("/static/rooms/room/frames.js")).createFrameRegistry();
        const { ResumePoint } = await import("/static/rooms/room/socket.js");
        const sent = [];
        const connects = [];
        const socket = {
          resume: new ResumePoint(),
          send: (frame) => { sent.push(frame); return true; },
          onConnect: (listener) => connects.push(listener),
        };
        m.createLog({ frames, socket });
        const queries = [];
        const history = (extra, ...seqs) =>
          frames.dispatch({ type: "history", messages: seqs.map((seq, i) => ({ id: i + 1, seq })), ...extra });
        history({ has_more: false }, 2, 5, 4); // a fresh connect's page
        queries.push(socket.resume.query());
        history({ before: 1, has_more: false }, 9); // "load earlier": a message changed lately
        queries.push(socket.resume.query());
        frames.dispatch({ type: "message", id: 6, seq: 6 });
        frames.dispatch({ type: "message_changed", id: 2, seq: 7 });
        frames.dispatch({ type: "system", event: "join", name: "Ann" });
        queries.push(socket.resume.query());
        frames.dispatch({ type: "message", id: 9, seq: 9 }); // 8 was lost
        await new Promise((resolve) => setTimeout(resolve, m.SYNC_WAIT_MS + 200));
        const claimed = [
          frames.dispatch({ type: "error", code: "rate_limited", retry_after: 30, after_seq: 7 }),
          frames.dispatch({ type: "error", code: "rate_limited", retry_after: 1, before: 3 }),
        ];
        frames.dispatch({ type: "message_changed", id: 3, seq: 8 });
        frames.dispatch({ type: "message", id: 9, seq: 9 });
        frames.dispatch({ type: "synced", after_seq: 7, seq: 9, complete: true });
        queries.push(socket.resume.query());
        for (const listener of connects) listener(); // a reconnect: the 30 s retry is dropped
        history({ has_more: false, after_seq: 9, complete: true }, 12, 11); // its resume
        queries.push(socket.resume.query());
        return { queries, sent, claimed };
        """,
    )
    assert result["queries"] == ["?after_seq=5", "?after_seq=5", "?after_seq=7", "?after_seq=9", "?after_seq=12"]
    assert result["sent"] == [{"type": "sync", "after_seq": 7}]
    assert result["claimed"] == [True, False]


# --- pending.js: the queue of messages waiting for their echo --------------------------------------

NEW_QUEUE = """
const timers = fakeTimers();
const sent = [];
let online = true;
const queue = new m.PendingSends((frame) => { if (online) sent.push([timers.now, frame.client_id]); },
                                 { timers, random: () => 0 });
const message = (id) => ({ type: "message", body: `body ${id}`, client_id: id });
"""


def test_after_a_reconnect_waiting_messages_are_resent_in_order_and_paced(page):
    result = run(
        page,
        "pending.js",
        NEW_QUEUE
        + """
        online = false;
        for (const id of ["a", "b", "c", "d"]) queue.add(message(id)); // typed while offline
        online = true;
        queue.confirm("b"); // the resumed history showed b stored before the drop
        queue.resendAll();
        queue.resendAll(); // a second call does not send anything twice
        timers.advance(100);
        queue.confirm("c"); // c's echo arrived before its turn: not sent again
        timers.advance(10000);
        return { sent, waiting: ["a", "b", "c", "d"].filter((id) => queue.has(id)), spacing: m.RESEND_SPACING_MS };
        """,
    )
    assert result["spacing"] == 250
    assert result["sent"] == [[0, "a"], [500, "d"]]
    assert result["waiting"] == ["a", "d"]  # sent, still unconfirmed until their echo


def test_a_message_the_database_refused_is_retried_with_growing_delays_then_marked_failed(page):
    result = run(
        page,
        "pending.js",
        NEW_QUEUE
        + """
        queue.add(message("a"));
        const outcomes = [];
        const waited = []; // from each refusal to the resend it led to
        for (let refusal = 0; refusal < 6; refusal += 1) {
          const refusedAt = timers.now;
          outcomes.push(queue.refused({ type: "error", code: "unavailable", client_id: "a" }));
          const sends = sent.length;
          timers.advance(60000);
          if (sent.length > sends) waited.push(sent.at(-1)[0] - refusedAt);
        }
        const failed = queue.isFailed("a");
        const sendsWhileFailed = sent.length;
        queue.resendAll(); // failed: only its Retry button sends it again
        timers.advance(60000);
        const resentWhileFailed = sent.length - sendsWhileFailed;
        queue.retry("a");
        const afterRetry = queue.refused({ type: "error", code: "unavailable", client_id: "a" });
        return { outcomes, waited, failed, resentWhileFailed, sent: sent.length, afterRetry };
        """,
    )
    assert result["outcomes"] == ["retrying"] * 5 + ["failed"]
    # Resent after 2, 4, 8, 16 and (capped) 30 seconds; the sixth refusal gives up.
    assert result["waited"] == [2000, 4000, 8000, 16000, 30000]
    assert result["failed"] is True
    assert result["resentWhileFailed"] == 0
    assert result["sent"] == 1 + 5 + 1  # typed, five retries, the Retry button
    assert result["afterRetry"] == "retrying"  # Retry starts a fresh round of attempts


def test_a_refusal_retrying_cannot_fix_fails_at_once_and_others_are_not_ours(page):
    result = run(
        page,
        "pending.js",
        NEW_QUEUE
        + """
        queue.add(message("fast"));
        queue.add(message("slow"));
        const result = {
          rateLimited: queue.refused({ code: "rate_limited", client_id: "fast", retry_after: 1 }),
          notOurs: queue.refused({ code: "unavailable", client_id: "someone else's" }),
          noClientId: queue.refused({ code: "unavailable" }),
          serverSaysWhen: queue.refused({ code: "unavailable", client_id: "slow", retry_after: 7 }),
          fastFailed: queue.isFailed("fast"),
          delays: [m.retryDelay("unavailable", 1), m.retryDelay("unavailable", 1, 3), m.retryDelay("unavailable", 6),
                   m.retryDelay("rate_limited", 1), m.retryDelay("invalid_message", 1)],
        };
        timers.advance(6999);
        result.sentBefore = sent.slice();
        timers.advance(1);
        result.sent = sent;
        return result;
        """,
    )
    assert result["rateLimited"] == "failed"
    assert result["notOurs"] is None and result["noClientId"] is None
    assert result["serverSaysWhen"] == "retrying"
    assert result["fastFailed"] is True
    assert result["delays"] == [2000, 3000, None, None, None]
    assert result["sentBefore"] == [[0, "fast"], [0, "slow"]]  # the failed one is not resent
    assert result["sent"] == [[0, "fast"], [0, "slow"], [7000, "slow"]]


# --- messages.js: each message once, and whose it is -----------------------------------------------


def test_each_message_id_is_shown_once_and_paging_continues_from_the_oldest(page):
    result = run(
        page,
        "messages.js",
        """
        const ids = new m.MessageIds();
        const empty = ids.oldest();
        const added = [50, 51, 50, 12, 51, 30].map((id) => ids.add(id));
        return { empty, added, oldest: ids.oldest(), has: [ids.has(12), ids.has(13)] };
        """,
    )
    assert result["empty"] is None
    assert result["added"] == [True, True, False, True, False, True]
    assert result["oldest"] == 12
    assert result["has"] == [True, False]


def test_own_messages_are_known_by_author_tag_and_untagged_ones_by_name(page):
    owns = run(
        page,
        "messages.js",
        """
        const me = { name: "Sam", author: "tag-1" };
        return [
          { name: "Sam", author: "tag-1" },
          { name: "Sam", author: "tag-2" }, // a namesake
          { name: "Robert", author: "tag-1" }, // mine, sent before a rename
          { name: "Sam" }, // stored before tags existed
          { name: "Ann" },
        ].map((message) => m.isOwn(message, me));
        """,
    )
    assert owns == [True, False, True, True, False]


# --- mentions.js, rich.js, rename.js, typing.js, expiry.js, members.js, owner.js ------------------


def test_a_mention_is_the_whole_name_after_an_at_sign(page):
    cases = [
        ["@Alice look", "Alice", True],
        ["hey @alice!", "Alice", True],
        ["@Alice, and you", "Alice", True],
        ["@Al is not Alice", "Alice", False],
        ["@Alice is not Al", "Al", False],
        ["@Alice_ is not Alice", "Alice", False],
        ["@Zoë: hello", "Zoë", True],
        ["@axb", "a.b", False],
        ["hi @a.b", "a.b", True],
        ["Alice without the sign", "Alice", False],
        ["@Alice", None, False],
        [None, "Alice", False],
    ]
    found = run(page, "mentions.js", "return arg.map(([text, name]) => m.mentions(text, name));", cases)
    assert found == [expected for _, _, expected in cases]


def test_reactions_are_mine_by_author_tag_and_editing_closes_after_the_window(page):
    result = run(
        page,
        "rich.js",
        """
        const me = { name: "Sam", author: "tag-1" };
        const sent = Date.parse("2026-11-23T10:00:00Z");
        return {
          mine: [
            { names: ["Sam"], authors: ["tag-1"] },
            { names: ["Sam"], authors: ["tag-2"] }, // a namesake's reaction
            { names: ["Sam", "Ann"] }, // stored before tags existed
            { names: ["Ann"] },
          ].map((reaction) => m.reactedByMe(reaction, me)),
          editable: [0, 899, 900, 3600].map((seconds) =>
            m.canStillEdit("2026-11-23T10:00:00Z", sent + seconds * 1000, 900)),
        };
        """,
    )
    assert result["mine"] == [True, False, True, False]
    assert result["editable"] == [True, True, False, False]


def test_rename_claims_only_its_own_refusals(page):
    errors = [
        {"code": "invalid_name"},
        {"code": "name_taken"},
        {"code": "rate_limited"},
        {"code": "rate_limited", "client_id": "a message"},
        {"code": "rate_limited", "before": 40},  # a "load earlier" page's
        {"code": "rate_limited", "after_seq": 0},  # a sync's
        {"code": "kicked"},
    ]
    claimed = run(page, "rename.js", "return arg.map(m.isRenameRefusal);", errors)
    assert claimed == [True, True, True, False, False, False, False]


def test_typing_is_sent_at_most_once_per_interval_and_only_with_text(page):
    due = run(
        page,
        "typing.js",
        """
        return [["hello", 10000, 0], ["hello", 10000, 8001], ["hello", 10000, 8000], ["   ", 10000, 0], ["", 10000, 0]]
          .map(([text, now, sentAt]) => m.typingDue(text, now, sentAt));
        """,
    )
    assert due == [True, False, True, False, False]


def test_expiry_counts_down_in_days_hours_and_minutes(page):
    minute = 60_000
    left = [-5 * minute, 0, 29_000, 59 * minute, 61 * minute, 23 * 60 * minute + 59 * minute, (2 * 1440 + 185) * minute]
    left += [(1440 + 10) * minute]
    # The units are the page locale's (Intl, en-US here); a part of zero is left out.
    texts = run(page, "expiry.js", "return arg.map(m.expiryText);", left)
    assert texts == [
        "This room disappears in 0 min.",
        "This room disappears in 0 min.",
        "This room disappears in 0 min.",
        "This room disappears in 59 min.",
        "This room disappears in 1 hr 1 min.",
        "This room disappears in 23 hr 59 min.",
        "This room disappears in 2 days 3 hr.",
        "This room disappears in 1 day.",
    ]


def test_watchers_and_the_watch_link_are_described_plainly(page):
    assert run(page, "members.js", "return [0, 1, 2].map(m.watcherText);") == [
        "0 people watching (read-only)",
        "1 person watching (read-only)",
        "2 people watching (read-only)",
    ]
    cases = [[False, False], [True, True], [True, False]]
    states = run(page, "owner.js", "return arg.map(([active, known]) => m.watchLinkState(active, known));", cases)
    assert states[0].startswith("No watch link")
    assert states[1].startswith("Anyone with this link")
    assert "another browser" in states[2]


# --- the room page: limits come from the server, once ---------------------------------------------


def test_the_room_page_takes_its_limits_from_the_server(people):
    (ada,) = people(1)
    ada.create_room("Ada")
    limits = json.loads(ada.page.locator("#room-config").text_content())["limits"]
    expect(ada.page.locator("#message")).to_have_attribute("maxlength", str(limits["message_max_chars"]))
    expect(ada.page.locator("#mute-minutes")).to_have_attribute("max", str(limits["mute_max_minutes"]))
    expect(ada.page.locator("#new-passphrase")).to_have_attribute("maxlength", str(limits["passphrase_max_chars"]))
    ada.send("pick a reaction")
    message = ada.message("pick a reaction")
    message.hover()
    expect(message.locator(".add-reaction")).to_have_text(limits["reaction_emoji"])
    expect(message.locator(".edit-message")).to_have_count(1)  # well within the edit window
