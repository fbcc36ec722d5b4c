"""Audit rows say where a request came from as far as trusted proxies vouch for it, and carry Cryo's own request id:
a client forging X-Forwarded-For or X-Request-ID changes neither."""
import pytest
from django.core.exceptions import ImproperlyConfigured

from dashboard.proxies import parse_networks
from snapshots.models import AuditEvent, Job

pytestmark = pytest.mark.django_db


def refused_sync(client, people, fleet, **headers):
    """Vic asks to sync a host he may not operate: refused (403) and audited as denied."""
    client.force_login(people.vic)
    response = client.post(f"/hosts/{fleet.alpha.name}/sync/", **headers)
    assert response.status_code == 403 and not Job.objects.exists()
    return response, AuditEvent.objects.get(outcome="denied")


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(client, people, fleet):
    _, denied = refused_sync(client, people, fleet, HTTP_X_FORWARDED_FOR="203.0.113.66")
    assert denied.source == "127.0.0.1"


def test_the_request_id_is_the_servers_own_never_the_clients(client, people, fleet):
    response, denied = refused_sync(client, people, fleet, HTTP_X_REQUEST_ID="chosen-by-attacker")
    assert denied.request_id == response["X-Request-ID"] != "chosen-by-attacker"
    assert len(denied.request_id) == 32 and "proxy_request_id" not in denied.details


@pytest.mark.parametrize("forwarded, expected", [
    ("203.0.113.7", "203.0.113.7"),
    ("6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the client wrote the left part; the proxy appended the right
    ("203.0.113.7, 10.1.2.3", "203.0.113.7"),  # through two trusted proxies
    ("203.0.113.7:5555", "203.0.113.7"),
    ("[2001:db8::1]:443", "2001:db8::1"),
    ("::ffff:203.0.113.9", "203.0.113.9"),
    ("not-an-address", "127.0.0.1"),  # garbage: only the proxy itself is known
    ("203.0.113.7, not-an-address", "127.0.0.1"),
    ("", "127.0.0.1"),
])
def test_behind_a_trusted_proxy_the_forwarded_client_is_the_source(client, people, fleet, settings, forwarded,
                                                                   expected):
    settings.CRYO_TRUSTED_PROXIES = parse_networks("T", ["127.0.0.1", "10.0.0.0/8"])
    _, denied = refused_sync(client, people, fleet, HTTP_X_FORWARDED_FOR=forwarded)
    assert denied.source == expected


def test_a_proxys_request_id_is_kept_only_as_a_labelled_detail(client, people, fleet, settings):
    settings.CRYO_TRUSTED_PROXIES = parse_networks("T", ["127.0.0.1"])
    response, denied = refused_sync(client, people, fleet, HTTP_X_REQUEST_ID="edge-1234-abcd")
    assert denied.request_id == response["X-Request-ID"] != "edge-1234-abcd"
    assert denied.details["proxy_request_id"] == "edge-1234-abcd"


def test_a_malformed_proxy_request_id_is_dropped(client, people, fleet, settings):
    settings.CRYO_TRUSTED_PROXIES = parse_networks("T", ["127.0.0.1"])
    _, denied = refused_sync(client, people, fleet, HTTP_X_REQUEST_ID="<script>" + "x" * 100)
    assert "proxy_request_id" not in denied.details


def test_an_untrusted_peer_cannot_pass_itself_off_as_a_proxy(client, people, fleet, settings):
    settings.CRYO_TRUSTED_PROXIES = parse_networks("T", ["10.0.0.0/8"])
    _, denied = refused_sync(client, people, fleet, HTTP_X_FORWARDED_FOR="10.9.9.9",
                             HTTP_X_REQUEST_ID="from-the-peer")
    assert denied.source == "127.0.0.1" and "proxy_request_id" not in denied.details


def test_a_bad_trusted_proxy_setting_stops_the_process():
    with pytest.raises(ImproperlyConfigured, match="CRYO_TRUSTED_PROXIES: 'proxy.example' is not an address"):
        parse_networks("CRYO_TRUSTED_PROXIES", ["10.0.0.1", "proxy.example"])
