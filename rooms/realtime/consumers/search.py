"""Search frames: a room's messages matching a query, and the page of history around one of them."""

from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.limits import SEARCH_RATE_BURST, SEARCH_RATE_PER_SECOND
from rooms.protocol import history_around_frame, search_results_frame
from rooms.realtime.db_threads import side_db
from rooms.realtime.flow import TokenBucket
from rooms.services.encryption import check_server_may_search
from rooms.services.search import history_around, search_messages
from rooms.validation import check_rate


class SearchFrames:
    """Handlers of `search` and of `history` with `around` (reading only: watchers may use them)."""

    search_bucket = None

    async def receive_search(self, frame):
        # Searches have a bucket of their own: each may read many of the room's messages.
        if self.search_bucket is None:
            self.search_bucket = TokenBucket(SEARCH_RATE_PER_SECOND, SEARCH_RATE_BURST)
        q = frame.get("q")
        # A refusal names the search it answers (as `search_results` does), so a page can tell.
        about = {"q": q} if isinstance(q, str) else {}
        if "before" in frame:
            about["before"] = frame["before"]
        try:
            check_server_may_search(self.room)
            check_rate(self.search_bucket, _("You are searching too fast; wait a moment."))
            messages, has_more = await side_db(search_messages)(self.room, q, frame.get("before"))
        except ChatError as error:
            raise ChatError(error.code, error.detail, **error.extra, **about) from None
        self.push(search_results_frame(messages, has_more, **about))

    async def receive_history_around(self, frame):
        # A refusal names the message asked for, so a page knows which jump failed.
        about = {"around": frame["around"]}
        try:
            if "before" in frame:
                raise ChatError("invalid_frame", _("Ask for a page `before` an id or `around` one, not both."))
            check_rate(self.history_bucket, _("You are loading messages too fast; wait a moment."))
            messages, has_more, next_id = await side_db(history_around)(self.room, frame["around"])
        except ChatError as error:
            raise ChatError(error.code, error.detail, **error.extra, **about) from None
        self.push(history_around_frame(frame["around"], messages, has_more, next_id))
