import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from .models import Media
from .services import media_create_from_upload

COLORS = [("Summer sale", (230, 90, 40)), ("New menu", (40, 140, 90)), ("Welcome", (40, 80, 200))]


def _picture(title: str, color) -> bytes:
    image = Image.new("RGB", (1920, 1080), color)
    ImageDraw.Draw(image).text((80, 80), title, fill=(255, 255, 255), font_size=120)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _video(seconds: int = 3, fps: int = 10) -> bytes:
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for index in range(seconds * fps):
            shade = int(255 * index / (seconds * fps))
            frame = av.VideoFrame.from_image(Image.new("RGB", (640, 360), (shade, 60, 255 - shade)))
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return out.getvalue()


def _pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=842, height=595)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def seed(context: dict) -> None:
    """Three generated pictures, a short generated video and a PDF in the demo fleet's library."""
    fleet, user = context["fleet"], context["user"]
    existing = {media.name: media for media in Media.objects.filter(fleet=fleet)}
    wanted = [(f"{title}.jpg", _picture(title, color), 10) for title, color in COLORS]
    wanted += [("Showreel.mp4", _video(), None), ("Price list.pdf", _pdf(), 15)]
    medias = []
    for name, content, display_time in wanted:
        media = existing.get(name) or media_create_from_upload(
            fleet=fleet, upload=SimpleUploadedFile(name, content), display_time=display_time, name=name, author=user
        )
        medias.append(media)
    context["medias"] = medias
