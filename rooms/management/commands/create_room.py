from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from rooms.errors import ChatError
from rooms.limits import CODE_ALPHABET
from rooms.services.rooms import create_room


class Command(BaseCommand):
    help = "Create a room and print its code and invite URL."

    def add_arguments(self, parser):
        parser.add_argument("--title", default="", help="the room's title (optional)")
        parser.add_argument("--code", help=f"a code of your choice (letters and digits of {CODE_ALPHABET})")
        parser.add_argument(
            "--base-url",
            default=settings.SITE_URL,
            help=f"the site's address for the invite URL (default: the SITE_URL setting, now {settings.SITE_URL})",
        )

    def handle(self, *args, title, code, base_url, **options):
        try:
            room = create_room(title, code=code)
        except ChatError as error:
            raise CommandError(error.detail) from None
        self.stdout.write(room.code)
        self.stdout.write(base_url.rstrip("/") + reverse("rooms:room", args=[room.code]))
