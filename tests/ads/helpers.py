HOST = "http://testserver"


def url(screen) -> str:
    return f"{HOST}/api/management/v2/screens/{screen.pk}/"


def media_url(media) -> str:
    return f"{HOST}/api/management/v2/medias/{media.public_id}/"
