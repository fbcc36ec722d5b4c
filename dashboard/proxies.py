"""The address a request came from. X-Forwarded-For is believed only as far as it was written by proxies listed
in CRYO_TRUSTED_PROXIES: reading it from the right, each hop a trusted proxy added names its peer, and the first
address that is not a trusted proxy is the client. Without trusted proxies the header is ignored."""
import ipaddress
import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_PORT = re.compile(r"^(?:\[(?P<v6>[0-9a-fA-F:.]+)\](?::\d+)?|(?P<v4>\d{1,3}(?:\.\d{1,3}){3}):\d+)$")
REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def parse_networks(name, values):
    """CRYO_TRUSTED_PROXIES: addresses and networks (10.0.0.0/8, ::1); a bad entry stops the process at start."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {value!r} is not an address or a network") from None
    return networks


def _ip(text):
    text = (text or "").strip()
    match = _PORT.match(text)
    if match:
        text = match.group("v6") or match.group("v4")
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    return ip.ipv4_mapped or ip if ip.version == 6 else ip


def is_trusted_proxy(ip):
    return ip is not None and any(ip in network for network in settings.CRYO_TRUSTED_PROXIES)


def client_address(request):
    """The client's address as far as trusted proxies vouch for it (also django-axes' AXES_CLIENT_IP_CALLABLE)."""
    remote = _ip(request.META.get("REMOTE_ADDR", ""))
    if remote is None:
        return request.META.get("REMOTE_ADDR", "") or ""
    address = remote
    if is_trusted_proxy(remote):
        for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
            ip = _ip(hop)
            if ip is None:
                break  # not an address: what lies left of it cannot be trusted either
            address = ip
            if not is_trusted_proxy(ip):
                break
    return str(address)


def proxy_request_id(request):
    """The X-Request-ID a trusted proxy sent (kept as a separate detail; Cryo's own request id is its own)."""
    if not is_trusted_proxy(_ip(request.META.get("REMOTE_ADDR", ""))):
        return ""
    value = request.headers.get("X-Request-ID", "")
    return value if REQUEST_ID.match(value) else ""
