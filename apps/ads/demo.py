from datetime import timedelta

from apps.accounts.models import AdvertiserType, Membership

from .models import Ad, CampaignType, MultimediaType
from .services import campaign_create, fleet_today


def seed(context: dict) -> None:
    """Campaigns of each kind on the demo screens: standard, playlist, stretched, solo, event, HTML and
    share of voice (fixed and sliding)."""
    fleet, user, screens, medias = context["fleet"], context["user"], context["screens"], context["medias"]
    if Ad.objects.filter(fleet=fleet).exists():
        return
    Membership.objects.filter(user=user, fleet=fleet).update(advertiser_type=1)
    today = fleet_today(fleet)
    active = [screen for screen in screens if screen.active]
    pictures = [media for media in medias if media.type == "picture"]
    video = next(media for media in medias if media.type == "video")
    paris, lyon = active[:8], active[8:16]
    lessor = AdvertiserType.objects.get(pk=1)

    def create(name, items, **fields):
        fields.setdefault("campaign_startdate", today - timedelta(days=2))
        campaign_create(
            fleet=fleet,
            author=user,
            name=name,
            broadcasts=[{"media": media, "screens": targets} for media, targets in items],
            **fields,
        )

    create("Summer sale", [(pictures[0], paris)], campaign_enddate=today + timedelta(days=30))
    create("Menu playlist", [(pictures[1], lyon), (video, lyon)], multimedia_type=MultimediaType.PLAYLIST)
    create("City split", [(pictures[0], paris[:4]), (pictures[2], lyon[:4])], multimedia_type=MultimediaType.STRETCHED)
    create("Solo welcome", [(pictures[2], active[16:24])], campaign_type=CampaignType.SOLO, priority=5)
    create(
        "Station event",
        [(video, paris[:2])],
        campaign_type=CampaignType.EVENT,
        campaign_startdate=today + timedelta(days=7),
        campaign_enddate=today + timedelta(days=8),
    )
    create(
        "Share of voice",
        [(pictures[1], active[24:28])],
        author_origin=lessor,
        campaign_enddate=today + timedelta(days=14),
    )
    create(
        "Sliding share",
        [(pictures[2], active[28:31])],
        author_origin=lessor,
        sliding=True,
        campaign_enddate=today + timedelta(days=20),
    )
    campaign_create(
        fleet=fleet,
        author=user,
        name="Website screenshot",
        campaign_startdate=today,
        adupdater={
            "category": "screenshot",
            "refresh_time": 3600,
            "parameters": {"url": "https://example.com", "geometry": [1920, 1080], "duration": 15},
        },
        broadcasts=[{"media": None, "screens": lyon[4:6]}],
    )
