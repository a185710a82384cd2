"""The owner's bot-token frames: make a token (shown once, to this connection only), revoke one,
and the list of the room's tokens that every owner connection keeps."""

from django.urls import reverse

from rooms.protocol import bot_token_frame, bot_tokens_event, bot_tokens_frame
from rooms.realtime.db_threads import main_db, side_db
from rooms.realtime.origin import PAGE_SCHEMES, header
from rooms.services.bots import bot_tokens, create_bot_token, revoke_bot_token
from rooms.services.moderation import is_owner


class BotFrames:
    """Handlers of `bot_token` and `bot_token_revoke` (the services refuse non-owners with `forbidden`)."""

    async def send_room_state(self):
        await super().send_room_state()
        if self.joined and self.owner_key is not None and await side_db(is_owner)(self.room, self.owner_key):
            tokens = await side_db(bot_tokens)(self.room)
            if tokens:  # none is the default: not said
                self.push(bot_tokens_frame(tokens))

    async def receive_bot_token(self, frame):
        self.check_owner_rate()
        bot, token = await main_db(create_bot_token)(self.room, self.owner_key, frame.get("name"))
        self.push(bot_token_frame(bot.name, token, self.webhook_url(token)))
        await self.hub.publish(self.code, bot_tokens_event(await side_db(bot_tokens)(self.room)))

    async def receive_bot_token_revoke(self, frame):
        self.check_owner_rate()
        await main_db(revoke_bot_token)(self.room, self.owner_key, frame.get("name"))
        await self.hub.publish(self.code, bot_tokens_event(await side_db(bot_tokens)(self.room)))

    def webhook_url(self, token):
        """The absolute webhook URL, on the host this page was served from (the Origin check has
        already held it against ALLOWED_HOSTS)."""
        scheme = PAGE_SCHEMES.get(self.scope.get("scheme", "ws"), "http")
        return f"{scheme}://{header(self.scope, b'host')}{reverse('rooms:webhook', kwargs={'token': token})}"

    def room_bot_tokens(self, event):
        if self.owner_key is not None:
            self.push(event["text"])
