from django.conf import settings


def client_ip(request) -> str:
    """The client's address, for per-IP limits.

    X-Forwarded-For is trusted only as far as SIGNAGE_TRUSTED_PROXY_COUNT proxies in front of us append
    to it: with N proxies the client is the Nth address from the right. With none (the default) the
    header is ignored, so a client cannot pick its own address by sending one.
    """
    request = getattr(request, "_request", request)  # a DRF Request wraps the Django one
    remote_addr = request.META.get("REMOTE_ADDR", "")
    proxies = settings.SIGNAGE_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies <= 0 or not forwarded:
        return remote_addr
    addresses = [address.strip() for address in forwarded.split(",") if address.strip()]
    if not addresses:
        return remote_addr
    return addresses[-min(proxies, len(addresses))]
