"""Fault injection for tests of the delivery path (setting DELIVERY_FAULTS, empty in production).

DELIVERY_FAULTS is a comma-separated list of `WHERE:MARKER` rules. An event whose encoded frame
contains MARKER is affected at WHERE:
- `drop-local`: not handed to this process's connections when published here;
- `drop-layer`: not handed on when it arrives from another process through the channel layer;
- `drop-client`: not sent to the connections (after the process delivered it in order), so only
  the page's own gap check can get it back;
- `hang-after-commit`: the writer stores the batch holding it, then never publishes it (a test
  then kills the process: the window between commit and publish).
"""

from django.conf import settings


def rules():
    parsed = {}
    for rule in (settings.DELIVERY_FAULTS or "").split(","):
        where, _, marker = rule.strip().partition(":")
        if where and marker:
            parsed.setdefault(where, []).append(marker)
    return parsed


def hits(where, event):
    """Whether a fault rule for `where` matches this hub event."""
    if not settings.DELIVERY_FAULTS:
        return False
    text = event.get("text") or ""
    return any(marker in text for marker in rules().get(where, ()))
