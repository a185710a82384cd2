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
