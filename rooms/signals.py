"""Signals the domain sends and the realtime layer receives, so services never import it."""

from django.dispatch import Signal

# Rooms were deleted (after commit): `codes`, the deleted rooms' codes. Their live connections
# must be closed in every process.
rooms_removed = Signal()
