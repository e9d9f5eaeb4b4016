"""The one way the product fetches a URL: SSRF-safe, size- and time-limited, built on httpx.

- Only http and https.
- The host is resolved here and every address it resolves to must be public (not loopback, private,
  link-local, carrier-grade NAT, unique-local, multicast, reserved or unspecified; IPv4-mapped IPv6
  addresses are judged as the IPv4 address they carry). The connection then goes to the address that was
  checked, never to a second resolution (no DNS rebinding), with the original Host header and TLS server
  name so certificates are still verified against the host name.
- Redirects are followed here, hop by hop, each hop checked the same way.
- MEDIA_FETCH_ALLOW_PRIVATE_NETWORKS=true lifts the address rule (tests, closed networks); the scheme,
  size and time limits stay.
"""

import hashlib
import ipaddress
import os
import socket
import tempfile
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from django.conf import settings

from signage.bounds import is_ascii_digits

MAX_REDIRECTS = 5


class FetchError(Exception):
    """The URL cannot be fetched; the message is fit for the client."""


@dataclass
class Fetched:
    status: int
    url: str
    headers: httpx.Headers
    path: str | None = None  # a temporary file with the body (200 only); the caller deletes it
    size: int = 0
    sha256: str = ""
    head: bytes = b""  # the first 1024 bytes


# IPv6 prefixes that lead to IPv4 hosts through a translator: judged as the IPv4 address they carry.
NAT64 = [ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48")]
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in IPV4_COMPATIBLE or any(ip in network for network in NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0xFFFF0000:  # ::ffff:0:a.b.c.d, the IPv4-translated form
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return _address_allowed(str(embedded))
    return ip.is_global and not ip.is_multicast


def _resolve(host: str, port: int) -> str:
    """The address to connect to, after checking every address the host resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchError(f"The host '{host}' cannot be resolved.") from error
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise FetchError(f"The host '{host}' cannot be resolved.")
    if not settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE:
        refused = [address for address in addresses if not _address_allowed(address)]
        if refused:
            raise FetchError(f"The URL's host resolves to a non-public address ({refused[0]}), which is refused.")
    return addresses[0]


@dataclass
class Target:
    """Where a URL leads once checked: the parts to connect with and the public address to connect to."""

    scheme: str
    host: str
    port: int
    explicit_port: int | None
    path: str
    query: str
    address: str


def check_url(url: str) -> Target:
    """The checks every fetch makes before connecting, without connecting: http(s) only, a host, no
    credentials, and every address the host resolves to public (unless private networks are allowed).
    Raises FetchError with a message fit for the client. Content that players fetch themselves (live
    streams, web pages shown in a frame) is held to the same rule as what the server fetches."""
    try:
        parts = urlsplit(url)
        scheme, hostname, explicit_port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError as error:
        raise FetchError("The URL is malformed.") from error
    if scheme not in ("http", "https"):
        raise FetchError("Only http and https URLs can be fetched.")
    if not hostname:
        raise FetchError("The URL has no host.")
    if parts.username or parts.password:
        raise FetchError("URLs with credentials are refused.")
    try:
        host = hostname if ":" in hostname else hostname.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise FetchError("The URL's host name is invalid.") from error
    port = explicit_port or (443 if scheme == "https" else 80)
    address = _resolve(host, port)
    return Target(scheme, host, port, explicit_port, parts.path or "/", parts.query, address)


def _pinned_request(
    client: httpx.Client, url: str, headers: dict, method: str = "GET", body: bytes | None = None
) -> httpx.Request:
    target = check_url(url)
    host, address = target.host, target.address
    literal = f"[{address}]" if ":" in address else address
    try:
        pinned = urlunsplit((target.scheme, f"{literal}:{target.port}", target.path, target.query, ""))
        host_header = (f"[{host}]" if ":" in host else host) + (
            f":{target.explicit_port}" if target.explicit_port else ""
        )
        return client.build_request(
            method,
            pinned,
            content=body,
            headers={**headers, "Host": host_header},
            extensions={"sni_hostname": host} if target.scheme == "https" else {},
        )
    except (ValueError, UnicodeError, httpx.InvalidURL) as error:
        raise FetchError("The URL is malformed.") from error


def fetch(url: str, headers: dict | None = None, *, timeout: float | None = None, limit: int | None = None) -> Fetched:
    """GET `url` (following redirects safely). A 200's body goes to a temporary file, at most `limit`
    bytes (SIGNAGE_MEDIA_MAX_UPLOAD_BYTES); other statuses come back without a body. The whole fetch
    takes at most `timeout` seconds (SIGNAGE_MEDIA_FETCH_TIMEOUT)."""
    deadline = time.monotonic() + (timeout or settings.SIGNAGE_MEDIA_FETCH_TIMEOUT)
    limit = limit if limit is not None else settings.SIGNAGE_MEDIA_MAX_UPLOAD_BYTES
    timeout = httpx.Timeout(min(10.0, timeout or 10.0), connect=min(5.0, timeout or 5.0))
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            if time.monotonic() > deadline:
                raise FetchError("Fetching the URL took too long.")
            request = _pinned_request(client, url, {"User-Agent": "Signage media fetcher", **(headers or {})})
            try:
                response = client.send(request, stream=True)
            except httpx.HTTPError as error:
                raise FetchError(f"The URL cannot be fetched ({type(error).__name__}).") from error
            try:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                result = Fetched(status=response.status_code, url=url, headers=response.headers)
                if response.status_code != 200:
                    return result
                declared = response.headers.get("content-length")
                if declared and is_ascii_digits(declared) and int(declared) > limit:
                    raise FetchError(f"The file is larger than the {limit} bytes accepted.")
                digest = hashlib.sha256()
                with tempfile.NamedTemporaryFile(prefix="signage-fetch-", delete=False) as out:
                    result.path = out.name
                    try:
                        # iter_bytes() without a size yields each read as it arrives, so the deadline
                        # is checked on every read: a server trickling bytes cannot hold a worker.
                        for chunk in response.iter_bytes():
                            result.size += len(chunk)
                            if result.size > limit:
                                raise FetchError(f"The file is larger than the {limit} bytes accepted.")
                            if time.monotonic() > deadline:
                                raise FetchError("Fetching the URL took too long.")
                            if len(result.head) < 1024:
                                result.head += chunk[: 1024 - len(result.head)]
                            digest.update(chunk)
                            out.write(chunk)
                    except (FetchError, httpx.HTTPError) as error:
                        out.close()
                        os.unlink(result.path)
                        if isinstance(error, FetchError):
                            raise
                        raise FetchError(f"The URL cannot be fetched ({type(error).__name__}).") from error
                result.sha256 = digest.hexdigest()
                return result
            finally:
                response.close()
    raise FetchError(f"The URL redirects more than {MAX_REDIRECTS} times.")


def post_json(url: str, payload: dict, headers: dict | None = None) -> int:
    """POST `payload` as JSON to `url` (webhooks), under the same address rules as `fetch`. Redirects are not
    followed (a POST is not replayed elsewhere); anything but a 2xx is a FetchError. Returns the status."""
    import json

    body = json.dumps(payload, default=str).encode()
    with httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0), follow_redirects=False, trust_env=False) as client:
        request = _pinned_request(
            client,
            url,
            {"User-Agent": "Signage webhook", "Content-Type": "application/json", **(headers or {})},
            method="POST",
            body=body,
        )
        try:
            response = client.send(request)
        except httpx.HTTPError as error:
            raise FetchError(f"The URL cannot be reached ({type(error).__name__}).") from error
        if not 200 <= response.status_code < 300:
            raise FetchError(f"The URL answered {response.status_code}.")
        return response.status_code
