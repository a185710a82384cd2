"""Parsing a client's websocket frame: JSON text within the size limit, an object whose `type` a
consumer handles, with no field that type does not allow."""

import json

from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.validation import check_frame_text


def parse_frame(text_data, frame_handlers):
    """A client's frame and the handler `frame_handlers` declares for its type ({type: (allowed
    fields, handler)}), or ChatError saying what is wrong with it."""
    if text_data is None:
        raise ChatError("binary_not_supported", _("Frames must be JSON text, not binary."))
    limit = settings.WS_FRAME_MAX_BYTES
    if len(text_data) > limit or len(text_data.encode("utf-8", "surrogatepass")) > limit:
        raise ChatError("frame_too_large", format_lazy(_("Frames can be at most {limit} bytes."), limit=limit))
    try:
        frame = json.loads(text_data)
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        raise ChatError("invalid_json", _("Frames must be JSON objects.")) from None
    if not isinstance(frame, dict):
        raise ChatError("invalid_frame", _("Frames must be JSON objects with a type."))
    frame_type = frame.get("type")
    # A list or object as `type` is unhashable: look up strings only.
    handler = frame_handlers.get(frame_type) if isinstance(frame_type, str) else None
    if handler is None:
        raise ChatError(
            "unknown_type", format_lazy(_("Unknown frame type: {type!r}."), type=str(frame.get("type"))[:40])
        )
    unexpected = set(frame) - handler[0] - {"type"}
    if unexpected:
        names = ", ".join(sorted(unexpected))[:100]
        # Field names are the client's text: no lone surrogates in our frame (they cannot be sent).
        names = names.encode("utf-8", "backslashreplace").decode("utf-8")
        raise ChatError("invalid_frame", format_lazy(_("Unexpected field(s): {names}."), names=names))
    check_frame_text(frame)
    return frame, handler
