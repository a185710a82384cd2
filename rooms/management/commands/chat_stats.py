import json

from django.core.management.base import BaseCommand, CommandError

from rooms.services.operators import chat_stats


class Command(BaseCommand):
    help = "Print counts of rooms, messages (all, last hour, last day), members online and the busiest rooms."

    def add_arguments(self, parser):
        parser.add_argument("--top", type=int, default=5, metavar="N", help="busiest rooms to list (default 5)")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print one JSON object instead of text")

    def handle(self, *args, top, as_json, **options):
        if top < 0:
            raise CommandError("--top must be 0 or more.")
        stats = chat_stats(top=top)
        if as_json:
            self.stdout.write(_dumps(stats))
            return
        self.stdout.write(f"Rooms:               {stats['rooms']}")
        self.stdout.write(f"Messages:            {stats['messages']}")
        self.stdout.write(f"  in the last hour:  {stats['messages_last_hour']}")
        self.stdout.write(f"  in the last day:   {stats['messages_last_day']}")
        self.stdout.write(f"Members online:      {stats['members_online']} in {stats['rooms_with_members']} room(s)")
        if top:
            self.stdout.write("Busiest rooms of the last day:")
            for room in stats["busiest_rooms"]:
                title = f" {room['title']}" if room["title"] else ""
                self.stdout.write(f"  {room['code']}{title}: {room['messages_last_day']} message(s)")
            if not stats["busiest_rooms"]:
                self.stdout.write("  (no messages in the last day)")


def _dumps(value):
    return json.dumps(value, ensure_ascii=False, indent=2)
