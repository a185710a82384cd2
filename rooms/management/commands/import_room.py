import sys

import ijson
from django.core.management.base import BaseCommand, CommandError

from rooms.errors import ChatError
from rooms.services.transfer import import_room, read_export
from rooms.validation import normalize_code


class Command(BaseCommand):
    help = (
        "Recreate the room(s) of an export_room JSON file with all their messages. A room keeps its "
        "code unless that code is taken, then it gets a new one (printed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="an export_room --format json file, or - for standard input")

    def handle(self, *args, file, **options):
        try:
            source = sys.stdin.buffer if file == "-" else open(file, "rb")  # noqa: SIM115 (closed below)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}.") from None
        imported = 0
        try:
            # Read incrementally: a room of a million messages is never in memory at once.
            for number, room_data in enumerate(read_export(source), 1):
                try:
                    room = import_room(room_data)
                except ChatError as error:
                    raise CommandError(f"Room {number} of {file}: {error.detail}") from None
                imported += 1
                old_code = normalize_code(room_data.get("code") if isinstance(room_data.get("code"), str) else "")
                renamed = f" (code {old_code} was taken)" if old_code and old_code != room.code else ""
                self.stdout.write(f"Imported room {room.code}{renamed} with {room.messages.count()} message(s).")
        except ChatError as error:
            raise CommandError(error.detail) from None
        except ijson.JSONError as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise CommandError(f"{file} is not a valid JSON file ({reason}).") from None
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}.") from None
        finally:
            if source is not sys.stdin.buffer:
                source.close()
        if not imported:
            raise CommandError(f"{file} holds no rooms.")
