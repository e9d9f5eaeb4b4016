import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from apps.accounts.models import Fleet
from signage.scopes import FleetOwned


class MediaType(models.TextChoices):
    PICTURE = "picture", "Picture"
    VIDEO = "video", "Video"
    PDF = "pdf", "PDF"
    # Reference 002's content types: played live by players that can, each with its display_time.
    WEB = "web", "Web page"
    YOUTUBE = "youtube", "YouTube video"
    LIVESTREAM = "livestream", "Live stream (HLS)"


# Content types without a file of their own: players get their URL or id, nothing to download.
WITHOUT_FILE = (MediaType.YOUTUBE, MediaType.LIVESTREAM)
# Content types shown live from their URL (a web page also has a capture: a picture, for other players).
LIVE = (MediaType.WEB, MediaType.YOUTUBE, MediaType.LIVESTREAM)


def media_path(media: "Media", filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"medias/{media.fleet_id}/{uuid.uuid4().hex}.{extension}"


def thumbnail_path(media: "Media", filename: str) -> str:
    return f"thumbnails/{media.fleet_id}/{uuid.uuid4().hex}.jpg"


class Media(FleetOwned):
    """A picture, video or PDF of a fleet's library, uploaded or fetched from a URL; or one of reference
    002's live content types: a web page (`source_url`, with a capture of it as its file), a YouTube video
    (its id in `metadata["youtube_id"]`, no file) or an HLS live stream (`source_url`, no file).

    Its public id is `<type>-<number>` ("video-508"), as in reference 000. A URL media with a
    refresh_time is re-checked periodically; players stop showing it once its last successful update is
    older than validity_time.
    """

    fleet_lookup = "fleet"

    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="medias")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    type = models.CharField(max_length=10, choices=MediaType.choices)
    name = models.CharField(max_length=255)
    folder = models.CharField(max_length=255, blank=True)

    file = models.FileField(upload_to=media_path, max_length=255)
    thumbnail = models.FileField(upload_to=thumbnail_path, max_length=255, blank=True)
    mime_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    checksum = models.CharField(max_length=64, help_text="sha256 of the file, hex")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds (videos)")
    display_time = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Seconds on screen (not videos)"
    )
    metadata = models.JSONField(default=dict, blank=True)

    # URL media: fetched once (url_origin) or kept up to date (url + refresh_time).
    source_url = models.URLField(max_length=2000, blank=True)
    refresh_time = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    validity_time = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    etag = models.CharField(max_length=255, blank=True)
    last_modified_header = models.CharField(max_length=100, blank=True)
    last_successful_update = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_refresh_at = models.DateTimeField(null=True, blank=True, db_index=True)
    refresh_lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)

    external_path = models.CharField(max_length=500, blank=True, help_text="Where it was shared in external storage")

    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name_plural = "media"
        indexes = [models.Index(fields=["fleet", "type"])]

    def __str__(self) -> str:
        return f"{self.public_id} {self.name}"

    @property
    def public_id(self) -> str:
        return public_id(self.type, self.pk)

    @property
    def valid_until(self):
        """When players stop showing this media if it is not updated again (None: never)."""
        if not self.validity_time or self.last_successful_update is None:
            return None
        return self.last_successful_update + timedelta(minutes=self.validity_time)

    @property
    def youtube_id(self) -> str | None:
        return (self.metadata or {}).get("youtube_id") if self.type == MediaType.YOUTUBE else None

    @property
    def refreshable(self) -> bool:
        """Whether a refresh has something to fetch: a URL media's file, or a web page's capture."""
        return bool(self.source_url) and self.type not in WITHOUT_FILE

    @property
    def play_duration(self) -> float | None:
        """Seconds in a loop: the video's own duration, else the display time."""
        return self.duration if self.type == MediaType.VIDEO else self.display_time


def public_id(media_type: str, media_id: int) -> str:
    """A media's id in the APIs and the device protocol, `<type>-<number>` ("video-508", reference 000);
    from the two columns, for rows read without their Media (loops, proof of play)."""
    return f"{media_type}-{media_id}"


def public_id_sql(type_column: str, id_column: str) -> str:
    """`public_id` as a PostgreSQL expression over two columns (for statements that write their rows)."""
    return f"{type_column} || '-' || {id_column}"


PUBLIC_ID = re.compile(r"^(picture|video|pdf|web|youtube|livestream)-([0-9]{1,18})$")


def parse_public_id(value: str) -> tuple[str, int] | None:
    """("video", 508) for "video-508"; None for anything else (ASCII digits only, and few enough of them
    to be a database id)."""
    match = PUBLIC_ID.match(str(value))
    return (match[1], int(match[2])) if match else None
