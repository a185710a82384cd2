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

Django's handler also hops to the thread and back for the request_started signal and again for
the response's close (the request_finished signal): a page in memory takes one hop here, those
signals included, and a stream one more for its close once it is sent.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import FileResponse
from django.urls import set_script_prefix


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

    async def handle(self, scope, receive, send):
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        try:
            response = await sync_to_async(self.respond, thread_sensitive=True)(scope, body_file)
            if response.streaming:
                await self.stream(response, receive, send)
            else:
                # A client gone meanwhile: uvicorn drops what is sent to it.
                await self.send_response(response, send)
        finally:
            body_file.close()

    def respond(self, scope, body_file):
        """On the request's thread: what Django's `handle` does around the view, in one go."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if not response.streaming:
            response.close()  # request_finished: the database connection is released before sending
        return response

    async def stream(self, response, receive, send):
        """Send a streaming response as Django does: stopped when the client goes away."""
        sending = asyncio.ensure_future(self.send_response(response, send))
        listening = asyncio.ensure_future(self.listen_for_disconnect(receive))
        try:
            await asyncio.wait([sending, listening], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (listening, sending):
                task.cancel()
            sent, _ = await asyncio.gather(sending, listening, return_exceptions=True)
            await sync_to_async(response.close, thread_sensitive=True)()
        if isinstance(sent, Exception):
            raise sent

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
