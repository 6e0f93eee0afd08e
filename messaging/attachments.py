"""Attachment hygiene: filenames made safe, content types checked against the bytes, download headers."""

import re
import unicodedata
from typing import TYPE_CHECKING
from urllib.parse import quote

from django.http import Http404, HttpResponse

if TYPE_CHECKING:
    from .models import Message  # the model's own properties use this module

OCTET_STREAM = "application/octet-stream"

# Magic numbers of the types people commonly send; enough to catch a file that lies about what it is.
_SIGNATURES: list[tuple[bytes, int, str]] = [
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"RIFF", 0, "image/webp"),  # confirmed below by the WEBP tag
    (b"BM", 0, "image/bmp"),
    (b"ID3", 0, "audio/mpeg"),
    (b"OggS", 0, "audio/ogg"),
    (b"ftyp", 4, "video/mp4"),
]
# Container formats whose members (docx, xlsx, epub, jar...) legitimately claim their own type.
_ZIP_FAMILY_PREFIXES = ("application/vnd.", "application/epub", "application/java", "application/x-zip")
_TEXT_LIKE = ("text/", "application/json", "application/xml", "image/svg+xml", "application/javascript")


def sniff_content_type(data: bytes) -> str | None:
    """The type the bytes themselves announce, or None when they announce none."""
    for signature, offset, content_type in _SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            if content_type == "image/webp" and data[8:12] != b"WEBP":
                continue
            return content_type
    return None


def _looks_like_text(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sample boundary is still text.
        return exc.start >= len(sample) - 3
    return True


def checked_content_type(claimed: str, data: bytes) -> str:
    """The content type to store: the claimed one only where the bytes do not contradict it.

    A file whose bytes say otherwise is stored as what the bytes say, or `application/octet-stream`; so an
    HTML page sent as image/png is never stored, nor later served, as either of them.
    """
    claimed = (claimed or "").split(";")[0].strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*", claimed or "-"):
        claimed = ""
    detected = sniff_content_type(data)
    if detected:
        if claimed == detected or (detected == "application/zip" and claimed.startswith(_ZIP_FAMILY_PREFIXES)):
            return claimed
        return detected
    if claimed.startswith(_TEXT_LIKE):
        return claimed if _looks_like_text(data) else OCTET_STREAM
    if claimed.startswith(("image/", "audio/", "video/")) or claimed == "application/pdf":
        # A media type whose signature is missing: don't let a browser trust it.
        return OCTET_STREAM
    return claimed or ("text/plain" if data and _looks_like_text(data) else OCTET_STREAM)


def sanitize_filename(name: str, *, fallback: str = "attachment") -> str:
    """A filename safe to store and to put in a header: no path, no control characters, no quotes."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.replace('"', "").replace("'", "").strip().strip(".").strip()
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 16 else name[:200]
    return name or fallback


def content_disposition(filename: str, *, disposition: str = "attachment") -> str:
    """`attachment` (or `inline`) with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / 5987)."""
    ascii_name = filename.encode("ascii", "ignore").decode() or "attachment"
    ascii_name = ascii_name.replace("\\", "").replace('"', "")
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def attachment_response(message: "Message") -> HttpResponse:
    """The attachment of `message` as a download: never rendered inline, never sniffed.

    The name and type are checked again here, as on the way in: rows carried from the old system kept the
    name and type the old clients claimed, and a header must never carry what a client wrote unchecked.
    """
    if not message.has_attachment or message.attachment_data is None:  # both or neither (the table's check)
        raise Http404("This message has no attachment.")
    data = bytes(message.attachment_data)
    response = HttpResponse(data, content_type=checked_content_type(message.attachment_content_type, data))
    response["Content-Disposition"] = content_disposition(message.safe_attachment_name)
    response["Content-Length"] = str(len(data))
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response


# Raster images a browser shows in an `<img>`: the thread previews them. Never SVG, which is a document that
# can carry script; never a type the bytes were not sniffed as.
PREVIEW_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def is_preview_image(content_type: str) -> bool:
    """Whether an attachment stored with `content_type` is shown as an image preview (lists decide from the
    stored type, which `checked_content_type` set from the bytes; `image_preview_response` checks the bytes)."""
    return content_type in PREVIEW_IMAGE_TYPES


def image_preview_response(message: "Message") -> HttpResponse:
    """The attachment of `message` as an image to show inline, typed by what its bytes are; Http404 unless they
    are one of `PREVIEW_IMAGE_TYPES` (whatever type was claimed or stored: rows carried from the old system
    kept the type the old clients claimed)."""
    if not message.has_attachment or message.attachment_data is None:
        raise Http404("This message has no attachment.")
    data = bytes(message.attachment_data)
    sniffed = sniff_content_type(data)
    if sniffed is None or not is_preview_image(sniffed):
        raise Http404("This attachment is not an image.")
    response = HttpResponse(data, content_type=sniffed)
    response["Content-Disposition"] = content_disposition(message.safe_attachment_name, disposition="inline")
    response["Content-Length"] = str(len(data))
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response
