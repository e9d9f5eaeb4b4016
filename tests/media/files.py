"""Real media files made in the test: pictures by Pillow, videos by PyAV, PDFs by pypdf."""

import io
import struct
import zlib

from PIL import Image


def picture(fmt="JPEG", size=(64, 48), color=(200, 30, 30), exif_orientation=None) -> bytes:
    image = Image.new("RGB", size, color)
    out = io.BytesIO()
    kwargs = {}
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def quadrants(size=(200, 150)) -> bytes:
    """A PNG whose four quadrants are red, green, blue and white, to check where a crop lands."""
    width, height = size
    image = Image.new("RGB", size)
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]
    for index, color in enumerate(colors):
        left, top = (index % 2) * width // 2, (index // 2) * height // 2
        image.paste(color, (left, top, left + width // 2, top + height // 2))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def video(seconds=1, size=(64, 48), fps=10) -> bytes:
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for index in range(seconds * fps):
            frame = av.VideoFrame.from_image(Image.new("RGB", size, (index * 20 % 255, 80, 160)))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def pdf(pages=2, size=(595, 842)) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=size[0], height=size[1])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height pixels, followed by a tiny (bogus) image stream."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def coloured_pdf(colours, size=(200, 300)) -> bytes:
    """A PDF whose page N is filled with colours[N] (drawn by Pillow)."""
    pages = [Image.new("RGB", size, colour) for colour in colours]
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=72)
    return out.getvalue()
