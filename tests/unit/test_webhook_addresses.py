"""Where webhooks may go: never link-local, private ranges only when an admin allows them; signatures."""
import pytest
from django.core.exceptions import ValidationError

from notifications import signing
from notifications.addresses import Refused, address_refusal, resolve, validate_webhook_url


@pytest.mark.parametrize("address", ["169.254.169.254", "169.254.0.1", "fe80::1", "::ffff:169.254.169.254"])
def test_link_local_addresses_are_refused_even_when_private_ones_are_allowed(address):
    assert "link-local" in address_refusal(address, allow_private=True)


@pytest.mark.parametrize("address", ["10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "::1", "fd00::1",
                                     "100.64.0.1"])
def test_private_and_loopback_addresses_are_refused_by_default(address):
    assert "CRYO_WEBHOOK_ALLOW_PRIVATE" in address_refusal(address, allow_private=False)
    assert address_refusal(address, allow_private=True) is None


@pytest.mark.parametrize("address", ["0.0.0.0", "224.0.0.1", "240.0.0.1", "ff02::1"])
def test_unspecified_multicast_and_reserved_addresses_are_refused(address):
    assert address_refusal(address, allow_private=True)


def test_public_addresses_are_allowed():
    assert address_refusal("93.184.216.34", allow_private=False) is None
    assert address_refusal("2606:2800:220:1:248:1893:25c8:1946", allow_private=False) is None


@pytest.mark.parametrize("url, why", [
    ("ftp://example.org/x", "http:// or https://"),
    ("file:///etc/passwd", "http:// or https://"),
    ("http:///nohost", "host name"),
    ("https://user:pw@example.org/", "user name or password"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
])
def test_a_bad_webhook_url_is_refused_when_saved_with_the_reason(url, why, settings):
    settings.CRYO_WEBHOOK_ALLOW_PRIVATE = True
    with pytest.raises(ValidationError, match=why.replace("/", ".")):
        validate_webhook_url(url)


def test_a_name_that_resolves_to_a_private_address_is_refused_at_delivery(settings):
    settings.CRYO_WEBHOOK_ALLOW_PRIVATE = False
    validate_webhook_url("http://localhost:8080/hook")  # a name: checked when delivering, not when saving
    with pytest.raises(Refused, match="localhost resolves to .*private or loopback"):
        resolve("http://localhost:8080/hook")


def test_a_signature_verifies_only_for_the_same_secret_body_and_a_recent_timestamp():
    body = b'{"event": "job.failed"}'
    headers = signing.headers("s3cret-s3cret-s3cret", body, now=1_000_000)
    ts, sig = headers[signing.TIMESTAMP], headers[signing.SIGNATURE]
    assert signing.verify("s3cret-s3cret-s3cret", body, ts, sig, now=1_000_010)
    assert not signing.verify("another-secret-xxxx", body, ts, sig, now=1_000_010)
    assert not signing.verify("s3cret-s3cret-s3cret", body + b" ", ts, sig, now=1_000_010)
    assert not signing.verify("s3cret-s3cret-s3cret", body, ts, sig, now=1_000_000 + signing.TOLERANCE + 1)
    assert not signing.verify("s3cret-s3cret-s3cret", body, str(int(ts) + 1), sig, now=1_000_010)
