"""End-to-end encrypted rooms (docs/e2ee.md): what the server checks of what it cannot read.

The browsers encrypt each body with AES-GCM under a key that travels only in the invite link's
fragment. The server sees base64 ciphertexts and IVs: it checks their shape and size, stores and
relays them, refuses plaintext in an encrypted room (and ciphertext in a plain one), and refuses
what it would have to read (search, images).
"""

import base64
import binascii

from django.utils.translation import gettext as _

from rooms.errors import ChatError
from rooms.limits import GCM_TAG_BYTES, IV_BYTES, KEY_CHECK_MAX_BYTES, ciphertext_max_bytes


def decode_base64(value):
    """The bytes of canonical standard base64 (padding included), or None for anything else."""
    if not isinstance(value, str) or not value.isascii():
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    # Canonical only: one text per ciphertext, so what is stored is exactly what was sent.
    return raw if base64.b64encode(raw).decode() == value else None


def check_ciphertext(ciphertext, iv, max_bytes=None):
    """An AES-GCM ciphertext (tag included) and its IV as base64: returns them, or refuses."""
    raw_iv = decode_base64(iv)
    if raw_iv is None or len(raw_iv) != IV_BYTES:
        raise ChatError("invalid_iv", _("`iv` must be %(count)d bytes in base64.") % {"count": IV_BYTES})
    raw = decode_base64(ciphertext)
    if raw is None or len(raw) < GCM_TAG_BYTES:
        raise ChatError("invalid_ciphertext", _("`ciphertext` must be an AES-GCM ciphertext in base64."))
    limit = max_bytes or ciphertext_max_bytes()
    if len(raw) > limit:
        raise ChatError(
            "message_too_long", _("An encrypted message can be at most %(limit)d bytes.") % {"limit": limit}
        )
    return ciphertext, iv


def check_sealed(room, frame):
    """The (ciphertext, iv) a `message` or `edit` frame carries in an encrypted room; None in a
    plain room, which takes `body`. Each room refuses the other kind with a clear error."""
    sent_sealed = "ciphertext" in frame or "iv" in frame
    if not room.encrypted:
        if sent_sealed:
            raise ChatError("not_encrypted", _("This room is not end-to-end encrypted: send `body`, not `ciphertext`."))
        return None
    if frame.get("body") not in (None, "") or not sent_sealed:
        raise ChatError(
            "encrypted_room",
            _("This room is end-to-end encrypted: the server takes only `ciphertext` and `iv`, never a plain body."),
        )
    if frame.get("attachments"):
        raise ChatError("encrypted_room", _("Images cannot be sent in an end-to-end encrypted room."))
    return check_ciphertext(frame.get("ciphertext"), frame.get("iv"))


def check_key_check(ciphertext, iv):
    """The key check a new encrypted room is created with (the browser makes it with the key)."""
    if not ciphertext or not iv:
        raise ChatError(
            "key_missing",
            _(
                "End-to-end encrypted rooms are set up by this page's JavaScript, which makes the key in your "
                "browser. Turn JavaScript on, or untick “End-to-end encrypted”."
            ),
        )
    return check_ciphertext(ciphertext, iv, max_bytes=KEY_CHECK_MAX_BYTES)


def check_server_may_search(room):
    """The server cannot search what it cannot read: the page searches the messages it decrypted."""
    if room.encrypted:
        raise ChatError(
            "encrypted_room",
            _("The server cannot search an end-to-end encrypted room: the page searches the messages it has loaded."),
        )


def check_uploads_allowed(room):
    """Images are not encrypted: an encrypted room takes none."""
    if room.encrypted:
        raise ChatError("encrypted_room", _("Images cannot be sent in an end-to-end encrypted room."))
