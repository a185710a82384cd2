"""Images in messages: an upload is sniffed (never trusted by its name or type), decoded with a
bound on its pixels (decompression bombs), turned upright, capped at IMAGE_MAX_SIDE, re-encoded
without any metadata (EXIF, GPS, comments) and thumbnailed; both files go to Django's default
storage. A message may then carry up to ATTACHMENTS_MAX of its sender's unsent uploads."""

import io
import secrets

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

from rooms.errors import ChatError
from rooms.limits import ATTACHMENTS_MAX, IMAGE_MAX_PIXELS, IMAGE_MAX_SIDE, THUMB_SIDE
from rooms.models import Attachment
from rooms.services.budgets import count as count_in_window
from rooms.services.budgets import guarded
from rooms.services.messages import author_key_of

# What the first bytes of each accepted format are, and how it is stored again.
SIGNATURES = {
    "PNG": (b"\x89PNG\r\n\x1a\n",),
    "JPEG": (b"\xff\xd8\xff",),
    "GIF": (b"GIF87a", b"GIF89a"),
}
STORED_AS = {
    "PNG": ("PNG", "png", "image/png"),
    "JPEG": ("JPEG", "jpg", "image/jpeg"),
    "GIF": ("PNG", "png", "image/png"),
}
STORED_AS["WEBP"] = ("WEBP", "webp", "image/webp")
THUMB_FORMAT = ("WEBP", "webp", "image/webp")
NOT_AN_IMAGE = _("Only PNG, JPEG, GIF and WebP images can be sent.")


def sniff(head):
    """The format the file's first bytes say it is, or None."""
    for name, signatures in SIGNATURES.items():
        if head.startswith(signatures):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def check_upload_rate(session_key):
    """At most UPLOAD_RATE_PER_MINUTE uploads a minute per session (counted in the cache)."""
    count = guarded(lambda: count_in_window(f"uploads:{author_key_of(session_key)}", 60), fallback=0)
    if count > settings.UPLOAD_RATE_PER_MINUTE:
        raise ChatError("rate_limited", _("You are uploading images too fast; wait a minute."), retry_after=60)


def decode(upload):
    """The upload as a decoded, upright image of an accepted format, and that format."""
    if upload.size > settings.UPLOAD_MAX_BYTES:
        limit = settings.UPLOAD_MAX_BYTES // (1024 * 1024)
        raise ChatError("file_too_large", format_lazy(_("Images can be at most {limit} MB."), limit=limit))
    upload.seek(0)
    fmt = sniff(upload.read(16))
    if fmt is None:
        raise ChatError("unsupported_image", NOT_AN_IMAGE)
    upload.seek(0)
    try:
        image = Image.open(upload, formats=[fmt])
        # The header's size, before a single pixel is decoded: a small file can claim billions.
        if image.width * image.height > IMAGE_MAX_PIXELS:
            raise ChatError(
                "image_too_large",
                format_lazy(
                    _("Images can have at most {megapixels} megapixels."), megapixels=IMAGE_MAX_PIXELS // 1_000_000
                ),
            )
        image.load()
        return ImageOps.exif_transpose(image), fmt
    except ChatError:
        raise
    except Image.DecompressionBombError:
        raise ChatError(
            "image_too_large",
            format_lazy(
                _("Images can have at most {megapixels} megapixels."), megapixels=IMAGE_MAX_PIXELS // 1_000_000
            ),
        ) from None
    except (OSError, SyntaxError, ValueError, Image.UnidentifiedImageError):
        raise ChatError("invalid_image", _("That image is damaged or incomplete.")) from None


def encode(image, fmt):
    """The image's pixels alone in `fmt` (no EXIF, GPS, ICC or text chunks are carried over)."""
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "transparency" in image.info or image.mode in ("PA", "P") else "RGB")
    if fmt == "JPEG" and image.mode != "RGB" and image.mode != "L":
        image = image.convert("RGB")
    image.info = {}
    out = io.BytesIO()
    options = {"quality": 88} if fmt in ("JPEG", "WEBP") else {"optimize": True}
    image.save(out, format=fmt, **options)
    return out.getvalue()


def store_upload(room, session_key, upload):
    """Check, clean and store an uploaded image for a later message of this session in this room."""
    check_upload_rate(session_key)
    image, fmt = decode(upload)
    stored_fmt, extension, content_type = STORED_AS[fmt]
    if fmt == "GIF":
        image.seek(0)  # an animation keeps its first frame
    image = image.copy()
    image.thumbnail((IMAGE_MAX_SIDE, IMAGE_MAX_SIDE))
    data = encode(image, stored_fmt)
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    thumb_data = encode(thumb, THUMB_FORMAT[0])
    # Unguessable names: a stored file's path says nothing of the room's other files.
    name = f"uploads/{room.code}/{secrets.token_urlsafe(16)}"
    attachment = Attachment(
        room=room,
        author_key=author_key_of(session_key),
        content_type=content_type,
        width=image.width,
        height=image.height,
    )
    attachment.image.name = default_storage.save(f"{name}.{extension}", ContentFile(data))
    try:
        attachment.thumb.name = default_storage.save(f"{name}.thumb.{THUMB_FORMAT[1]}", ContentFile(thumb_data))
        attachment.save()
    except BaseException:
        delete_files(attachment)
        raise
    return attachment


def find_attachments(room, session_key, ids, client_id=None):
    """The uploads a message frame names: this session's, in this room, not sent yet (or sent with
    this very `client_id`: a resend, which the writer answers with the stored message); ≤ ATTACHMENTS_MAX."""
    if ids is None:
        return []
    if not isinstance(ids, list) or not all(isinstance(each, int) and not isinstance(each, bool) for each in ids):
        raise ChatError("invalid_attachments", _("`attachments` must be a list of upload ids."))
    if len(ids) > ATTACHMENTS_MAX or len(set(ids)) != len(ids):
        raise ChatError(
            "invalid_attachments",
            format_lazy(_("A message can carry at most {limit} different images."), limit=ATTACHMENTS_MAX),
        )
    unsent = Q(message__isnull=True) | Q(message__client_id=client_id) if client_id else Q(message__isnull=True)
    mine = Attachment.objects.filter(unsent, room=room, id__in=ids, author_key=author_key_of(session_key))
    found = {attachment.id: attachment for attachment in mine}
    if len(found) != len(ids):
        raise ChatError("attachment_not_found", _("That image is not one you uploaded here (or it was sent already)."))
    return [found[each] for each in ids]


def delete_files(attachment):
    for field in (attachment.image, attachment.thumb):
        if field.name:
            default_storage.delete(field.name)


def delete_files_after_commit(sender, instance, **kwargs):
    """An attachment's row is gone (its message deleted or its room purged): its files go once
    that commits, so a rolled-back deletion keeps them."""
    transaction.on_commit(lambda: delete_files(instance))
