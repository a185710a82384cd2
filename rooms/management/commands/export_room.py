import os

from django.core.management.base import BaseCommand, CommandError

from rooms.services.rooms import find_room
from rooms.services.transfer import export_rooms
from rooms.validation import normalize_code


class Command(BaseCommand):
    help = (
        "Write the full history of a room, streamed with constant memory however long it is: as JSON "
        "(what import_room reads back) or as plain text for people."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="the room's code (any case)")
        parser.add_argument(
            "--format", dest="fmt", choices=["json", "text"], default="json", help="output format (default json)"
        )
        parser.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")

    def handle(self, *args, code, fmt, output, **options):
        room = find_room(code)
        if room is None:
            raise CommandError(f"There is no room with code {normalize_code(code)!r}.")
        chunks = export_rooms([room], fmt)
        if output is None:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            return
        # Written beside the target and moved over it at the end: a failed export leaves no half file.
        partial = f"{output}.partial"
        try:
            with open(partial, "w", encoding="utf-8", newline="\n") as file:
                for chunk in chunks:
                    file.write(chunk)
            os.replace(partial, output)
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror or error}.") from None
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        # On stderr, plain (not error-styled): stdout stays the export when no --output is given.
        self.stderr.write(f"Exported room {room.code} to {output}.", style_func=str)
