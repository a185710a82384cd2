"""What a room's members download and upload: transcripts, the invite QR code, images. Each view
applies the room page's admission rules (`room_for_request`)."""

import io

import segno
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from rooms.errors import ChatError
from rooms.models import Attachment
from rooms.protocol import attachment_summary
from rooms.services.admission import needs_passphrase
from rooms.services.encryption import check_uploads_allowed
from rooms.services.images import store_upload
from rooms.services.sessions import has_joined, owner_key_in_session
from rooms.services.transfer import export_rooms, take_export_slot
from rooms.validation import normalize_code
from rooms.views import room_for_request


class ExportStream:
    """An export's text chunks as an async iterator: the ASGI server sends each chunk as it is read
    (a synchronous iterator would be read whole into memory first). Every chunk is read on the
    request's own thread, where the export's database cursor lives. Django closes it when the
    response ends, read or not, which gives the session's export slot back."""

    def __init__(self, chunks, release):
        self.chunks = chunks
        self.release = release
        self.next_chunk = sync_to_async(lambda: next(self.chunks, None), thread_sensitive=True)

    def __aiter__(self):
        return self

    async def __anext__(self):
        chunk = await self.next_chunk()
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    def close(self):
        self.chunks.close()
        self.release()


TRANSCRIPT_TYPES = {"text": ("text/plain; charset=utf-8", "txt"), "json": ("application/json", "json")}


@require_http_methods(["GET"])
def transcript(request, code, fmt):
    """Any member (a session that may open the room page) downloads the room's history, streamed."""
    try:
        room = room_for_request(request, code)
    except ChatError as error:  # kicked, locked out, or too many unknown codes from this IP
        raise PermissionDenied(error.detail) from error
    if room is None or fmt not in TRANSCRIPT_TYPES or not request.session.get("name"):
        raise Http404("No such transcript.")
    if needs_passphrase(room, request.session, owner_key_in_session(request.session, room.code)):
        raise PermissionDenied(_("This room needs its passphrase."))
    try:
        release = take_export_slot(request.session.session_key)
    except ChatError as error:
        return HttpResponse(str(error.detail), status=429, content_type="text/plain; charset=utf-8")
    content_type, extension = TRANSCRIPT_TYPES[fmt]
    response = StreamingHttpResponse(ExportStream(export_rooms([room], fmt=fmt), release), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="roomchat-{room.code}.{extension}"'
    return response


@require_http_methods(["GET"])
def invite_qr(request, code):
    """The room's invite link as a QR code (SVG), for a phone to scan off the screen. The link is
    the page's own address, as "Copy invite link" gives it. An unknown code counts as a miss in the
    per-IP join limiter, as every view of a room by code does."""
    try:
        room = room_for_request(request, normalize_code(code))
    except ChatError as error:
        raise PermissionDenied(error.detail) from error
    if room is None:
        raise Http404("No such room.")
    link = request.build_absolute_uri(reverse("rooms:room", kwargs={"code": room.code}))
    drawing = io.BytesIO()
    segno.make(link, error="m").save(
        drawing,
        kind="svg",
        scale=8,
        border=2,
        xmldecl=False,
        title=str(format_lazy(_("Invite to room {code}"), code=room.code)),
    )
    response = HttpResponse(drawing.getvalue(), content_type="image/svg+xml")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_POST
def upload_image(request, code):
    """A member uploads an image (multipart `file`) for a message it is about to send: `201` with
    what the message frame's `attachments` names and shows, or an error with `code` and `detail`."""
    if int(request.META.get("CONTENT_LENGTH") or 0) > settings.UPLOAD_MAX_BYTES + 64 * 1024:
        # Refused before the body is read: a huge upload never reaches the disk.
        limit = settings.UPLOAD_MAX_BYTES // (1024 * 1024)
        return JsonResponse(
            {"code": "file_too_large", "detail": format_lazy(_("Images can be at most {limit} MB."), limit=limit)},
            status=413,
        )
    room = member_room(request, code)
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"code": "no_file", "detail": _("Choose an image to send.")}, status=400)
    try:
        check_uploads_allowed(room)
        attachment = store_upload(room, request.session.session_key, upload)
    except ChatError as error:
        status = (
            429 if error.code == "rate_limited" else 413 if error.code in ("file_too_large", "image_too_large") else 400
        )
        return JsonResponse({"code": error.code, "detail": error.detail, **error.extra}, status=status)
    return JsonResponse(attachment_summary(attachment), status=201)


def member_room(request, code):
    """The room `code` names if this session is its member (admitted, with a name, past its
    passphrase), else 404 or 403 as the transcripts answer."""
    try:
        room = room_for_request(request, normalize_code(code))
    except ChatError as error:
        raise PermissionDenied(error.detail) from error
    if room is None or not request.session.get("name") or not has_joined(request.session, room.code):
        raise Http404("No such room.")
    if needs_passphrase(room, request.session, owner_key_in_session(request.session, room.code)):
        raise PermissionDenied(_("This room needs its passphrase."))
    return room


@require_http_methods(["GET"])
def uploaded_image(request, attachment_id, kind):
    """An image sent in a room (or its thumbnail), to that room's members only."""
    attachment = Attachment.objects.select_related("room").filter(id=attachment_id).first()
    if attachment is None or kind not in ("image", "thumb"):
        raise Http404("No such image.")
    member_room(request, attachment.room.code)
    field = attachment.image if kind == "image" else attachment.thumb
    content_type = attachment.content_type if kind == "image" else "image/webp"
    response = FileResponse(default_storage.open(field.name, "rb"), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    response["Cache-Control"] = "private, max-age=86400"
    response["Content-Disposition"] = "inline"
    return response
