"""Multipart bodies made as they are read, for the tests of the upload bounds (signage/api/parsers.py)."""

BOUNDARY = "bounded-upload"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


class MultipartInput:
    """A WSGI input (or a parser's stream) holding a multipart body: `fields`, then one file of `file_size`
    zero bytes in `field`. Nothing is built until read, so a body of gigabytes costs nothing; `read_bytes`
    counts what was read."""

    def __init__(self, file_size: int, field: str = "file", filename: str = "big.jpg", fields: dict | None = None):
        self.head = (
            b"".join(
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                for name, value in (fields or {}).items()
            )
            + (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                "Content-Type: image/jpeg\r\n\r\n"
            ).encode()
        )
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.file_size = file_size
        self.length = len(self.head) + file_size + len(self.tail)
        self.position = 0
        self.read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        end = self.length if size is None or size < 0 else min(self.length, self.position + size)
        chunk = self._slice(self.position, end)
        self.position = end
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        end = self.length if size is None or size < 0 else min(self.length, self.position + size)
        end = min(end, self.position + 64 * 1024)  # a line of the zero-filled file is not built whole
        line = self._slice(self.position, end)
        newline = line.find(b"\n")
        return self.read(len(line) if newline < 0 else newline + 1)

    def _slice(self, start: int, end: int) -> bytes:
        file_start, file_end = len(self.head), len(self.head) + self.file_size
        out = self.head[start:end]
        if end > file_start and start < file_end:
            out += bytes(min(end, file_end) - max(start, file_start))
        if end > file_end:
            out += self.tail[max(start - file_end, 0) : end - file_end]
        return out


def send(client, path: str, body: MultipartInput, content_length: int | None):
    """POSTs `body` through `client` (Django's or DRF's test client) as the WSGI input, with `content_length`
    as its Content-Length, or none (as a chunked body arrives)."""
    extra = {"wsgi.input": body, "CONTENT_TYPE": CONTENT_TYPE}  # Django's client sets none for an empty `data`
    if content_length is None:
        extra["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        extra["CONTENT_LENGTH"] = str(content_length)
    return client.generic("POST", path, b"", content_type=CONTENT_TYPE, **extra)
