"""Slash commands in a message body, read by the server so every client (and bot) gets them alike.

`/me waves` is an action; `/shrug [text]` appends the shrug; `/nick NAME` renames; `//text` sends
the literal `/text`; any other `/word` is refused with the list of known commands. A body that
starts with "/" but no word ("/ ", "/:-)") is plain text.
"""

import re
from typing import NamedTuple

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError

SHRUG = "¯\\_(ツ)_/¯"
# What the composer's completion offers, in this order: name, arguments, what it does.
COMMANDS = {
    "me": {"args": _("ACTION"), "help": _("Say what you do: /me waves → * Ann waves")},
    "shrug": {"args": _("[TEXT]"), "help": format_lazy(_("Append {shrug}"), shrug=SHRUG)},
    "nick": {"args": _("NAME"), "help": _("Change your display name")},
}
COMMAND = re.compile(r"/(\w+)(?:\s+(.*))?\Z", re.DOTALL)


class Command(NamedTuple):
    """What a body asks for: a message to store (`body`, `action`), or a rename (`nick`)."""

    body: str | None = None
    action: bool = False
    nick: str | None = None


def command_list():
    """The commands as the room page's completion lists them."""
    return [{"name": name, **command} for name, command in COMMANDS.items()]


def known_commands():
    return ", ".join(f"/{name}" for name in COMMANDS)


def read_command(body):
    """The Command a message body makes; a body that is no command is stored as it is. Bodies that
    are not text are left for check_body to refuse."""
    if not isinstance(body, str):
        return Command(body=body)
    text = body.strip()
    if text.startswith("//"):
        return Command(body=text[1:])
    match = COMMAND.match(text)
    if not match:
        return Command(body=body)
    name, argument = match.group(1).lower(), (match.group(2) or "").strip()
    if name == "me":
        if not argument:
            raise ChatError("empty_message", _("Say what you do after /me, e.g. /me waves."))
        return Command(body=argument, action=True)
    if name == "shrug":
        return Command(body=f"{argument} {SHRUG}" if argument else SHRUG)
    if name == "nick":
        return Command(nick=argument)
    raise ChatError(
        "unknown_command",
        format_lazy(
            _("Unknown command /{command}. Commands: {commands}; //text sends text starting with /."),
            command=match.group(1)[:40],
            commands=known_commands(),
        ),
        commands=list(COMMANDS),
    )
