import json
import sys

from django.core.management.base import BaseCommand, CommandError

from rooms import services


class Command(BaseCommand):
    help = (
        "Recreate the room(s) of an export_room JSON file with all their messages. A room keeps its "
        "code unless that code is taken, then it gets a new one (printed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="an export_room --format json file, or - for standard input")

    def handle(self, *args, file, **options):
        try:
            if file == "-":
                data = json.load(sys.stdin)
            else:
                with open(file, encoding="utf-8") as source:
                    data = json.load(source)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}.") from None
        except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
            raise CommandError(f"{file} is not a JSON file: {error}.") from None
        try:
            rooms = services.check_export(data)
        except services.ChatError as error:
            raise CommandError(error.detail) from None
        if not rooms:
            raise CommandError(f"{file} holds no rooms.")
        for number, room_data in enumerate(rooms, 1):
            try:
                room = services.import_room(room_data)
            except services.ChatError as error:
                raise CommandError(f"Room {number} of {file}: {error.detail}") from None
            old_code = services.normalize_code(room_data.get("code") if isinstance(room_data.get("code"), str) else "")
            renamed = f" (code {old_code} was taken)" if old_code and old_code != room.code else ""
            count = room.messages.count()
            self.stdout.write(f"Imported room {room.code}{renamed} with {count} message(s).")
