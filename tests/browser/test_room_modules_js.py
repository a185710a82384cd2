"""The pure logic of the room page's modules (static/rooms/room/*.js), run in Chromium.

Each module is imported from the live server as the room page imports it; importing one touches no
page element, so a bare page will do. Scenarios are JavaScript run in the page; the pending-send
queue runs on fake timers, so its pacing and retry delays are checked exactly and at once.
"""

import json

import pytest
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


@pytest.fixture(scope="module")
def page(browser, app_server):
    """A page on the live server (same origin as the modules), with nothing of the room page running."""
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(app_server.url + "/")
    yield page
    context.close()
    assert not errors, f"uncaught script errors in the page: {errors}"


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


def test_a_reconnect_resumes_after_the_newest_message_and_change_seen(page):
    queries = run(
        page,
        "socket.js",
        """
        const resume = new m.ResumePoint();
        const queries = [resume.query()];
        resume.sawChange(3); // a change before any message: a fresh connect all the same
        queries.push(resume.query());
        resume.sawMessage(41);
        resume.sawMessage(7); // an older page loaded later does not move the point back
        resume.sawChange(undefined); // a message never changed carries no seq
        resume.sawChange(2);
        queries.push(resume.query());
        return queries;
        """,
    )
    assert queries == ["", "", "?after=41&seq=3"]


def test_socket_url_for_members_and_watchers(page):
    urls = run(
        page,
        "socket.js",
        """
        return [
          m.socketUrl({ protocol: "http:", host: "127.0.0.1:8000" }, { code: "ABC234" }, ""),
          m.socketUrl({ protocol: "https:", host: "chat.example" }, { code: "ABC234" }, "?after=5&seq=0"),
          m.socketUrl({ protocol: "https:", host: "chat.example" }, { code: "ABC234", watch: "t/k n" }, ""),
        ];
        """,
    )
    assert urls == [
        "ws://127.0.0.1:8000/ws/rooms/ABC234/",
        "wss://chat.example/ws/rooms/ABC234/?after=5&seq=0",
        "wss://chat.example/ws/rooms/ABC234/watch/t%2Fk%20n/",
    ]


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
        {"code": "rate_limited"},
        {"code": "rate_limited", "client_id": "a message"},
        {"code": "rate_limited", "before": 40},  # a "load earlier" page's
        {"code": "rate_limited", "after_seq": 0},  # a sync's
        {"code": "kicked"},
    ]
    claimed = run(page, "rename.js", "return arg.map(m.isRenameRefusal);", errors)
    assert claimed == [True, True, False, False, False, False]


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
    texts = run(page, "expiry.js", "return arg.map(m.expiryText);", left)
    assert texts == [
        "This room disappears in 0 min.",
        "This room disappears in 0 min.",
        "This room disappears in 0 min.",
        "This room disappears in 59 min.",
        "This room disappears in 1 h 1 min.",
        "This room disappears in 23 h 59 min.",
        "This room disappears in 2 d 3 h.",
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
