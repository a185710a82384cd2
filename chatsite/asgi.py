"""ASGI entry point: Django for HTTP, the room consumer for websockets.

Serve with `uvicorn chatsite.asgi:application` or `daphne chatsite.asgi:application`.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
# Set up Django before importing anything that touches models.
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402

from chatsite.request_threads import RequestThreadsHandler  # noqa: E402

django_asgi_app = RequestThreadsHandler(settings.REQUEST_THREADS)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402

from chatsite.request_head_timeout import limit_request_head_time  # noqa: E402
from rooms.realtime.guard import SocketGuard  # noqa: E402
from rooms.realtime.origin import ExplainingOriginValidator  # noqa: E402
from rooms.realtime.routing import websocket_urlpatterns  # noqa: E402

limit_request_head_time(settings.HTTP_HEADER_TIMEOUT_SECONDS)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SocketGuard(
            ExplainingOriginValidator(SessionMiddlewareStack(URLRouter(websocket_urlpatterns))), websocket_urlpatterns
        ),
    }
)
