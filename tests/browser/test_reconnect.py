"""The server restarts under open pages: they reconnect by themselves and nothing is lost or doubled."""

from playwright.sync_api import expect

# The page retries with capped, jittered backoff (at most 10 s between tries) after the restart.
RECONNECT_MS = 25000


def test_pages_reconnect_after_a_server_restart_and_deliver_queued_message_once(people, own_server):
    alice, bob = people(2, server=own_server)
    code = alice.create_room("Alice")
    bob.join_room("Bob", code)
    alice.send("before the restart")
    expect(bob.message("before the restart")).to_have_count(1)

    own_server.kill()  # a crash: no graceful close frames
    for person in (alice, bob):
        expect(person.page.locator("#connection")).not_to_have_attribute("data-state", "connected")
    alice.send("typed while the server was down")
    expect(alice.page.locator("#messages li.pending")).to_have_count(1)

    own_server.start()  # same port, same database
    for person in (alice, bob):
        expect(person.page.locator("#connection")).to_have_attribute("data-state", "connected", timeout=RECONNECT_MS)
    expect(bob.message("typed while the server was down")).to_have_count(1, timeout=RECONNECT_MS)
    for person in (alice, bob):
        expect(person.messages.locator(".body")).to_have_text(["before the restart", "typed while the server was down"])
        expect(person.members).to_have_text(["Alice", "Bob"])
    expect(alice.page.locator("#messages li.pending")).to_have_count(0)
    # Live chat works again both ways.
    bob.send("after the restart")
    expect(alice.message("after the restart")).to_have_count(1)

    # The server stored each message once: a fresh page shows the same history.
    bob.page.reload()
    bob.wait_in_room()
    expect(bob.messages.locator(".body")).to_have_text(
        ["before the restart", "typed while the server was down", "after the restart"]
    )
