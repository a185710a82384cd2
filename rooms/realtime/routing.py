"""Websocket URLs: a member's connection, and a watcher's through the watch link."""

from django.urls import path

from rooms.realtime.consumers.room import RoomConsumer
from rooms.realtime.consumers.watch import WatchConsumer

websocket_urlpatterns = [
    path("ws/rooms/<str:code>/", RoomConsumer.as_asgi()),
    path("ws/rooms/<str:code>/watch/<str:token>/", WatchConsumer.as_asgi()),
]
