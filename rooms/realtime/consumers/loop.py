"""How a room connection runs in the event loop: Channels' consumer loop, keeping as little as it
can between messages (thousands of connections sit idle in their rooms)."""

import asyncio
import contextvars
import functools

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer


class ConnectionLoop(AsyncWebsocketConsumer):
    """Channels' AsyncConsumer.__call__ without a channel layer (there is none per connection) and
    without `await_many_dispatch`, which keeps a task, an `asyncio.wait` and their futures per
    connection to wait for one thing: the client's next message."""

    @classmethod
    def as_asgi(cls, **initkwargs):
        """Channels' `as_asgi`, but the application it returns is not a coroutine of its own: it
        hands back the consumer's, so no frame of it stays suspended for the socket's life."""

        def app(scope, receive, send):
            return cls(**initkwargs)(scope, receive, send)

        app.consumer_class = cls
        app.consumer_initkwargs = initkwargs
        functools.update_wrapper(app, cls, updated=())
        return app

    async def __call__(self, scope, receive, send):
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
                # One message per turn of the loop, as Channels' dispatcher does: a burst of frames
                # from one client neither holds up the others nor keeps its own writer from running.
                await asyncio.sleep(0)
        except StopConsumer:
            pass
        finally:
            await self.ended()

    async def ended(self):
        """Called however the loop ended (a close, a cancellation, a bug in a handler)."""

    async def websocket_connect(self, message):
        # Admission and joining run in a copy of this task's context, dropped when they are done.
        # What they set in it would stay for the connection's life: Django's database handle for
        # the event loop's thread (each context gets its own, ~3 KiB, when `side_db` looks at it)
        # and asgiref's markers of the calls it ran.
        connecting = super().websocket_connect(message)
        await asyncio.get_running_loop().create_task(connecting, context=contextvars.copy_context())
