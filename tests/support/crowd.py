"""A crowd: many members present in a room at once, each a session and a websocket of its own, but
no browser each (a browser per member would swamp a small machine). Used by the browser tests that
need a full member list."""

import asyncio
import threading

from tests.support.servers import ChatClient, Visitor, wait_until


class Crowd:
    """`with Crowd(server, code, names):` — those names are present in the room meanwhile."""

    def __init__(self, server, code, names):
        self.server = server
        self.code = code
        self.names = names
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.clients = []

    def __enter__(self):
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._join(), self.loop).result(timeout=60)
        return self

    def __exit__(self, *exc_info):
        asyncio.run_coroutine_threadsafe(self._leave(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    async def _join(self):
        for name in self.names:
            visitor = Visitor(name)
            await asyncio.to_thread(visitor.submit_home_form, self.server.url, code=self.code, join="1")
            self.clients.append(await ChatClient(visitor, self.code).open(self.server))
        last = self.clients[-1]
        await wait_until(lambda: last.members and len(last.members) >= len(self.names), 20, "the crowd to be present")

    async def _leave(self):
        for client in self.clients:
            await client.close()
