import factory
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.media.models import Media
from apps.media.services import media_create_from_upload
from tests.accounts.factories import FleetFactory
from tests.media import files


class MediaFactory(factory.Factory):
    """A media made as an upload is: a real file (Pillow, PyAV or a PDF) through the media service.
    `kind` is picture, pdf or video (`seconds` long)."""

    class Meta:
        model = Media

    fleet = factory.SubFactory(FleetFactory)
    kind = "picture"
    display_time = 10
    name = None
    seconds = 1

    @classmethod
    def _create(cls, model_class, *, fleet, kind, display_time, name, seconds):
        content = {"picture": files.picture, "pdf": files.pdf}.get(kind, lambda: files.video(seconds=seconds))()
        return media_create_from_upload(
            fleet=fleet,
            upload=SimpleUploadedFile(name or f"{kind}.bin", content),
            display_time=None if kind == "video" else display_time,
            name=name or kind,
        )
