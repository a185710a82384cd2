"""Helpers shared by the test modules, one kind of thing per module:

- ws.py: a room's websocket through channels' WebsocketCommunicator (open, read, send, refusals)
- database.py: rows made straight in the database (make_room, be_online), and what is stored
- hubs.py: room hubs as separate processes have them, and a connection that records frames
- servers.py: the production path's server commands and the clients of real server processes
- home_form.py: the home form through Django's test client
- browser.py: a Person in Chromium (tests/browser/)

Test modules import helpers from here (fixtures come from conftest.py), never from each other.
"""
