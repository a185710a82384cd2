"""The text transcript of rooms, as people read it: one entry per message, to the minute in UTC."""

from datetime import UTC


def readable_time(moment):
    """A time as people read it in a transcript: to the minute, in UTC, said so."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _one_line(text):
    # splitlines() breaks where any reader might (U+2028, U+2029, U+0085, \v, \f …), not only at \n.
    return " ".join(text.splitlines())


def iter_text_transcript(rooms, rows_of):
    """The rooms' text transcript, piece by piece; `rows_of(room)` gives its message rows (transfer.py)."""
    for index, room in enumerate(rooms):
        title = f" {_one_line(room.title)}" if room.title else ""
        yield ("\n" if index else "") + f"# Room {room.code}{title} (created {readable_time(room.created_at)})\n"
        for row in rows_of(room):
            name, body, created_at, _client_id, _message_id, action, edited_at, bot, ciphertext, iv, parent, images = (
                row
            )
            if ciphertext:  # the server cannot read it; the room page makes a decrypted transcript
                body = f"[encrypted] iv={iv} ciphertext={ciphertext}"
            yield _text_entry(name + " (bot)" if bot else name, body, created_at, action, edited_at, parent, images)


def _text_entry(name, body, created_at, action, edited_at, parent, images):
    # Continuation lines are indented so a multi-line message stays one entry, and no text can
    # start a line that looks like another entry. A bot's name carries "(bot)".
    body = "\n  ".join(body.splitlines())
    said = f"* {_one_line(name)} {body}" if action else f"{_one_line(name)}: {body}"
    if edited_at:
        said = f"{said} (edited)"
    if parent is not None:
        quoted = "(deleted message)" if parent.get("deleted") else f'"{_one_line(parent["excerpt"])}"'
        said = f"{said}\n  ↪ in reply to {_one_line(parent['name'])}: {quoted}"
    for url in images:
        said = f"{said}\n  [image: {url}]"
    return f"[{readable_time(created_at)}] {said}\n"
