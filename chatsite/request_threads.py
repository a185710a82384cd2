"""Django's ASGI handler, with each request's synchronous work done in one go on one of a few
long-lived threads.

Stock Django under ASGI starts a thread for every request, which opens (and closes) its own
database connection, and runs the middleware chain in async mode, where every synchronous step
(each middleware's request and response hooks, the view) is a separate hop to that thread and
back. The views here are synchronous, so the chain runs synchronously instead: the event loop
hands a request over once and gets the response back once. The threads live as long as the
process and keep their database connections (CONN_MAX_AGE is unlimited on SQLite; PostgreSQL
uses its pool). Requests still run concurrently, one per thread at a time, the least busy thread
taking the next.

A streaming response with a synchronous iterator (a static file, a transcript) is read on the
request's thread in slices, one hop per slice, as it is sent: Django's own fallback would first
read it whole into memory (and warns about it on every such response).
"""

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler


class RequestThreadsHandler(ASGIHandler):
    def __init__(self, threads):
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"request-{number}") for number in range(threads)
        ]
        self.busy = [0] * threads  # requests in flight per thread

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        index = min(range(len(self.busy)), key=self.busy.__getitem__)
        self.busy[index] += 1
        try:
            async with ThreadSensitiveContext(executor=self.executors[index]):
                await self.handle(scope, receive, send)
        finally:
            self.busy[index] -= 1

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)

    async def send_response(self, response, send):
        if response.streaming and not response.is_async:
            response.streaming_content = in_slices(response.streaming_content)
        await super().send_response(response, send)


STREAM_SLICE_BYTES = 64 * 1024


async def in_slices(chunks):
    """A synchronous iterator of bytes as an asynchronous one, read on the current (request) thread
    about STREAM_SLICE_BYTES at a time."""
    take = sync_to_async(take_slice, thread_sensitive=True)
    while True:
        data, more = await take(chunks)
        if data:
            yield data
        if not more:
            return


def take_slice(chunks):
    parts, size = [], 0
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size >= STREAM_SLICE_BYTES:
            return b"".join(parts), True
    return b"".join(parts), False
