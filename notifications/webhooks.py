"""One delivery attempt of a webhook: resolve and check the address, POST the signed body, record the outcome."""
import http.client
import json
import logging
import socket
import ssl

from django.conf import settings
from django.utils import timezone

from . import signing
from .addresses import Refused, resolve
from .models import Delivery

log = logging.getLogger(__name__)

USER_AGENT = "Cryo-Webhook/1"


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the name resolves to by now."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, with TLS verified against the URL's host name (SNI and certificate)."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url, body, extra_headers, timeout):
    """POST body to url; return the HTTP status. Raises Refused (never retried) or OSError/HTTPException."""
    parts, port, address = resolve(url)
    kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = kind(parts.hostname, port, address, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT, **extra_headers})
        response = connection.getresponse()
        response.read(65536)  # a receiver's answer is not kept; reading a little lets the connection close cleanly
        return response.status
    finally:
        connection.close()


def attempt(delivery):
    """Try once. Returns the delivery's new state; PENDING means "try again later"."""
    webhook = delivery.webhook
    body = delivery.body.encode()
    delivery.attempts += 1
    delivery.last_attempt_at = timezone.now()
    try:
        status = post(webhook.url, body, {
            **signing.headers(webhook.secret, body), "X-Cryo-Event": delivery.event,
            "X-Cryo-Delivery": str(delivery.pk)}, settings.CRYO_WEBHOOK_TIMEOUT)
    except Refused as exc:
        delivery.state, delivery.error, delivery.status_code = Delivery.State.REFUSED, str(exc), None
    except (OSError, http.client.HTTPException) as exc:
        delivery.error, delivery.status_code = f"{type(exc).__name__}: {exc}", None
        delivery.state = _retry_or_fail(delivery)
    else:
        delivery.status_code = status
        if 200 <= status < 300:
            delivery.state, delivery.error, delivery.delivered_at = Delivery.State.DELIVERED, "", timezone.now()
        else:
            delivery.error = f"the receiver answered HTTP {status}"
            delivery.state = _retry_or_fail(delivery)
    delivery.save(update_fields=["attempts", "last_attempt_at", "state", "error", "status_code", "delivered_at"])
    log.info("webhook delivery %s to %s: attempt %s, %s %s", delivery.pk, webhook.url, delivery.attempts,
             delivery.state, delivery.error)
    return delivery.state


def _retry_or_fail(delivery):
    return Delivery.State.PENDING if delivery.attempts < settings.CRYO_WEBHOOK_ATTEMPTS else Delivery.State.FAILED


def backoff(attempts):
    """Seconds before the next attempt: the base doubled after each failed one (10, 20, 40, ... by default)."""
    return settings.CRYO_WEBHOOK_BACKOFF * 2 ** (attempts - 1)


def body_for(job, team, event):
    from .messages import job_facts

    return json.dumps({"event": event, "team": team.name, "job": job_facts(job)}, sort_keys=True)
