"""A message the server refuses is never lost or left "sending…" forever."""

from playwright.sync_api import expect

# A strict limit on this test's own server, so a burst is refused however slowly a busy machine runs.
LIMITS = {"MESSAGE_RATE_PER_SECOND": "2", "MESSAGE_RATE_BURST": "3"}
BURST = 10
MAX_RETRIES = 40


def send_burst(person, bodies):
    # Typing this fast is what a paste-and-Enter loop or a stuck key does; the composer is the path.
    person.page.evaluate(
        """bodies => {
            const input = document.getElementById("message");
            const form = document.getElementById("composer");
            for (const body of bodies) {
                input.value = body;
                form.requestSubmit();
            }
        }""",
        bodies,
    )


def test_rate_limited_messages_can_be_retried_and_arrive_once(people, start_server):
    alice, bob = people(2, server=start_server(**LIMITS))
    code = alice.create_room("Alice")
    bob.join_room("Bob", code)
    bodies = [f"burst {index:02d}" for index in range(BURST)]
    send_burst(alice, bodies)

    failed = alice.page.locator("#messages li.message.failed")
    # Nothing stays "sending…": every message is either delivered or shown as not sent.
    expect(alice.page.locator("#messages li.pending:not(.failed)")).to_have_count(0)
    expect(failed.first).to_be_visible()
    expect(alice.page.locator("#composer-error")).to_contain_text("too fast")
    refused = failed.count()
    assert 0 < refused < BURST
    expect(failed.first.locator(".body")).not_to_have_text("")
    expect(bob.messages).to_have_count(BURST - refused)

    # Retrying each (calmly) delivers it; none is lost or doubled, for the sender or the other side.
    for _ in range(MAX_RETRIES):
        if not failed.count():
            break
        failed.first.get_by_role("button", name="Retry").click()
        expect(alice.page.locator("#messages li.pending:not(.failed)")).to_have_count(0)
        alice.page.wait_for_timeout(300)  # the limit refills slowly; a retry too soon is refused again
    for person in (alice, bob):
        expect(person.messages).to_have_count(BURST)
        shown = person.messages.locator(".body").all_text_contents()
        assert sorted(shown) == bodies
    bob.page.reload()
    bob.wait_in_room()
    expect(bob.messages).to_have_count(BURST)
    assert sorted(bob.messages.locator(".body").all_text_contents()) == bodies
