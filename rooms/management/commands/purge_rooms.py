from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from rooms.limits import PURGE_BATCH_SIZE
from rooms.services.operators import idle_rooms, prune_message_changes, purge_expired_rooms, purge_rooms


class Command(BaseCommand):
    help = (
        "Delete rooms idle for more than N days (no message in that time and nobody online) with all "
        "their messages, then expired rooms, then superseded edit and reaction log entries older than "
        "MESSAGE_CHANGE_KEEP_DAYS. Rows are deleted in batches so the database is never locked for long."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--idle-days",
            type=int,
            metavar="N",
            help=f"delete rooms idle for more than N days (default: the ROOM_IDLE_DAYS setting, now "
            f"{settings.ROOM_IDLE_DAYS})",
        )
        parser.add_argument("--dry-run", action="store_true", help="only print what would be deleted")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=PURGE_BATCH_SIZE,
            metavar="M",
            help=f"messages deleted per transaction (default {PURGE_BATCH_SIZE})",
        )

    def handle(self, *args, idle_days, dry_run, batch_size, verbosity, **options):
        days = settings.ROOM_IDLE_DAYS if idle_days is None else idle_days
        if days < 0:
            raise CommandError("--idle-days must be 0 or more.")
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        rooms = idle_rooms(days)
        if dry_run:
            found = list(rooms.order_by("code").values_list("code", "message_count"))
            if verbosity >= 2:
                for code, message_count in found:
                    self.stdout.write(f"{code}: {message_count} messages")
            self.stdout.write(
                f"Would delete {len(found)} room(s) idle for more than {days} days and their "
                f"{sum(count for _, count in found)} message(s). Dry run: nothing was deleted."
            )
            return
        result = purge_rooms(rooms, batch_size=batch_size)
        if verbosity >= 2:
            for code in result.codes:
                self.stdout.write(f"deleted {code}")
        self.stdout.write(
            f"Deleted {result.rooms} room(s) idle for more than {days} days and {result.messages} message(s)."
        )
        # Rooms whose owner set an expiry time that has passed.
        expired = purge_expired_rooms(batch_size=batch_size)
        if verbosity >= 2:
            for code in expired.codes:
                self.stdout.write(f"deleted expired {code}")
        self.stdout.write(f"Deleted {expired.rooms} expired room(s) and {expired.messages} message(s).")
        # The log of edits and reactions grows with every toggle: superseded entries go after a while.
        keep = settings.MESSAGE_CHANGE_KEEP_DAYS
        pruned = prune_message_changes(keep, batch_size=batch_size)
        self.stdout.write(f"Pruned {pruned} superseded message change(s) older than {keep} days.")
