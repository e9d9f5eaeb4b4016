"""What a file really is: its kind from its first bytes, then real metadata from Pillow, PyAV or pypdf.

A file that is not what it claims, is unreadable or truncated, or would decode to more pixels than
SIGNAGE_MEDIA_MAX_PIXELS raises InvalidMedia with a message for the client, before anything is stored.
"""

import io
import os
import re
import tempfile
from dataclasses import dataclass, field

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

PICTURE, VIDEO, PDF = "picture", "video", "pdf"
THUMBNAIL_SIZE = (320, 320)


class InvalidMedia(Exception):
    pass


def _reason(error: Exception, path: str) -> str:
    """A decoder's error for the client, without the server's file names (PyAV and Pillow put the path
    of the temporary copy in theirs)."""
    text = str(error)
    for name in (path, os.path.basename(path)):
        text = text.replace(name, "the file")
    return re.sub(re.escape(tempfile.gettempdir()) + r"[^\s'\"]*", "the file", text)


@dataclass
class Probe:
    type: str
    mime_type: str
    extension: str
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    metadata: dict = field(default_factory=dict)
    thumbnail: bytes | None = None  # JPEG
    pages: list[bytes] = field(default_factory=list)  # PDFs: each page rendered as a PNG


def sniff(head: bytes) -> tuple[str, str, str] | None:
    """(type, mime type, extension) from a file's first bytes (1024 are plenty), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return PICTURE, "image/jpeg", "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PICTURE, "image/png", "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return PICTURE, "image/gif", "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return PICTURE, "image/webp", "webp"
    if head.startswith(b"%PDF-"):
        return PDF, "application/pdf", "pdf"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand.startswith(b"qt"):
            return VIDEO, "video/quicktime", "mov"
        if brand in (b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1"):
            return None  # still images in an ISO container: not supported
        return VIDEO, "video/mp4", "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return VIDEO, ("video/webm" if b"webm" in head[:64] else "video/x-matroska"), "webm"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return VIDEO, "video/x-msvideo", "avi"
    if head.startswith(b"\x00\x00\x01\xba") or (len(head) > 188 and head[0] == 0x47 and head[188] == 0x47):
        return VIDEO, "video/mp2t", "ts"
    return None


def thumbnail_jpeg(image: Image.Image) -> bytes:
    """A JPEG of at most THUMBNAIL_SIZE, for the console and the API (media, screenshots)."""
    image = image.convert("RGB")
    image.thumbnail(THUMBNAIL_SIZE)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _too_many_pixels(size: str = "") -> InvalidMedia:
    limit = settings.SIGNAGE_MEDIA_MAX_PIXELS
    return InvalidMedia(f"The image is too large{size}: at most {limit} pixels are accepted.")


def _check_pixels(width: int, height: int) -> None:
    if width * height > settings.SIGNAGE_MEDIA_MAX_PIXELS:
        raise _too_many_pixels(f" ({width}x{height})")


def probe_picture(path: str, mime_type: str, extension: str) -> Probe:
    try:
        with Image.open(path) as image:
            # The header gives the size: refuse a decompression bomb before decoding anything.
            _check_pixels(*image.size)
            image.load()
            upright = ImageOps.exif_transpose(image)
            orientation = image.getexif().get(0x0112, 1)
            return Probe(
                PICTURE,
                mime_type,
                extension,
                width=upright.width,
                height=upright.height,
                metadata={"format": image.format, "mode": image.mode, "exif_orientation": orientation},
                thumbnail=thumbnail_jpeg(upright),
            )
    except InvalidMedia:
        raise
    except Image.DecompressionBombError:  # Pillow's own guard, reached before ours for huge headers
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InvalidMedia(f"The picture cannot be read ({_reason(error, path)}).") from None


def probe_video(path: str, mime_type: str, extension: str) -> Probe:
    import av

    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise InvalidMedia("The file has no video stream.")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            _check_pixels(width, height)
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            else:
                duration = None
            frame = next(container.decode(stream), None)
            if frame is None:
                raise InvalidMedia("The video has no frame that can be decoded.")
            thumbnail = thumbnail_jpeg(frame.to_image())
            codec = stream.codec_context.name
    except InvalidMedia:
        raise
    except (av.error.FFmpegError, OSError, ValueError, StopIteration) as error:
        raise InvalidMedia(f"The video cannot be read ({_reason(error, path)}).") from None
    if not duration or duration <= 0:
        raise InvalidMedia("The video's duration cannot be read.")
    return Probe(
        VIDEO,
        mime_type,
        extension,
        width=width,
        height=height,
        duration=round(duration, 3),
        metadata={"codec": codec},
        thumbnail=thumbnail,
    )


def render_pdf_pages(path: str) -> tuple[list[bytes], bytes]:
    """Every page of a PDF as a PNG (the longer side SIGNAGE_PDF_PAGE_SIDE pixels) and a thumbnail of
    page 1, by pypdfium2. Raises InvalidMedia."""
    import pypdfium2

    side = settings.SIGNAGE_PDF_PAGE_SIDE
    try:
        document = pypdfium2.PdfDocument(path)
    except pypdfium2.PdfiumError as error:
        raise InvalidMedia(f"The PDF cannot be rendered ({_reason(error, path)}).") from None
    try:
        count = len(document)
        if count > settings.SIGNAGE_PDF_MAX_PAGES:
            raise InvalidMedia(f"The PDF has {count} pages; at most {settings.SIGNAGE_PDF_MAX_PAGES} are accepted.")
        pages, thumbnail = [], None
        for index in range(count):
            page = document[index]
            try:
                width, height = page.get_size()  # points
                scale = side / max(width, height, 1)
                _check_pixels(round(width * scale), round(height * scale))
                image = page.render(scale=scale).to_pil()
            finally:
                page.close()
            out = io.BytesIO()
            image.convert("RGB").save(out, "PNG", optimize=False)
            pages.append(out.getvalue())
            if index == 0:
                thumbnail = thumbnail_jpeg(image)
        return pages, thumbnail
    except pypdfium2.PdfiumError as error:
        raise InvalidMedia(f"The PDF cannot be rendered ({_reason(error, path)}).") from None
    finally:
        document.close()


def probe_pdf(path: str, mime_type: str, extension: str) -> Probe:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path, strict=False)
        pages = len(reader.pages)
        if pages == 0:
            raise InvalidMedia("The PDF has no page.")
        box = reader.pages[0].mediabox
        width, height = round(float(box.width)), round(float(box.height))
    except InvalidMedia:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, TypeError) as error:
        raise InvalidMedia(f"The PDF cannot be read ({_reason(error, path)}).") from None
    # Page size in PostScript points. Players show the pages as pictures, rendered here once.
    rendered, thumbnail = render_pdf_pages(path)
    return Probe(
        PDF,
        mime_type,
        extension,
        width=width,
        height=height,
        metadata={"page_count": pages},
        thumbnail=thumbnail,
        pages=rendered,
    )


PROBES = {PICTURE: probe_picture, VIDEO: probe_video, PDF: probe_pdf}


def probe_file(path: str, claimed_type: str | None = None) -> Probe:
    """The probe of the file at `path`. `claimed_type` (from a Content-Type) must match its content."""
    with open(path, "rb") as file:
        head = file.read(1024)
    sniffed = sniff(head)
    if sniffed is None:
        raise InvalidMedia("The file is not a picture, a video or a PDF.")
    kind, mime_type, extension = sniffed
    if claimed_type is not None and claimed_type != kind:
        raise InvalidMedia(f"The file claims to be a {claimed_type} but is a {kind}.")
    return PROBES[kind](path, mime_type, extension)
