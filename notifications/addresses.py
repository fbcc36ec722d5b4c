"""Where a webhook may point. Team operators enter webhook URLs, and the control process then sends requests there,
so a URL must not become a way to reach what only Cryo's own network can reach (server-side request forgery).

- Only http and https, with a host name.
- Link-local addresses (169.254.0.0/16, fe80::/10) are always refused: cloud metadata services answer there.
- Multicast, unspecified and reserved addresses are always refused.
- Private, loopback and shared ranges (10/8, 172.16/12, 192.168/16, 127/8, ::1, fc00::/7, 100.64/10, ...) are
  refused unless an admin sets CRYO_WEBHOOK_ALLOW_PRIVATE=true (for a receiver inside the company's network).
  The default is the safe one: a team cannot make Cryo probe internal services unless an admin decided so.

A URL is checked when it is saved (an address literal) and at every delivery (the addresses its name resolves to,
and the request then goes to the address that was checked, so a name cannot be re-pointed in between).
"""
import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

LINK_LOCAL = "link-local addresses (169.254.0.0/16, fe80::/10) are never webhook targets"


class Refused(Exception):
    """This URL or address may not receive webhooks."""


def address_refusal(address, *, allow_private=None):
    """Why Cryo must not send a webhook to this IP address, or None."""
    allow_private = settings.CRYO_WEBHOOK_ALLOW_PRIVATE if allow_private is None else allow_private
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_link_local:
        return f"{ip}: {LINK_LOCAL}"
    if not ip.is_loopback and (ip.is_multicast or ip.is_unspecified or ip.is_reserved):
        return f"{ip} is a multicast, unspecified or reserved address"
    if not ip.is_global and not allow_private:
        return (f"{ip} is a private or loopback address; an admin may allow private webhook targets with "
                "CRYO_WEBHOOK_ALLOW_PRIVATE=true")
    return None


def split(url):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused(f"a webhook URL must start with http:// or https:// (got {parts.scheme or 'none'}://)")
    if not parts.hostname:
        raise Refused("a webhook URL needs a host name")
    if parts.username or parts.password:
        raise Refused("a webhook URL may not carry a user name or password; use the signing secret instead")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("the port of the webhook URL is not a number between 0 and 65535") from None
    return parts, port


def validate_webhook_url(url):
    """For forms and the model: the scheme, and an address literal checked at once (names at delivery)."""
    try:
        parts, _port = split(url)
        try:
            literal = ipaddress.ip_address(parts.hostname)
        except ValueError:
            return
        why = address_refusal(literal)
        if why:
            raise Refused(why)
    except Refused as exc:
        raise ValidationError(str(exc)) from None


def resolve(url):
    """(parts, port, address) of the first address of the URL's host, all of whose addresses are allowed."""
    parts, port = split(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {parts.hostname}: {exc.strerror}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        why = address_refusal(address)
        if why:
            raise Refused(f"{parts.hostname} resolves to {why}")
    return parts, port, addresses[0]
