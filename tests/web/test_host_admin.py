"""Ada drains, enables and removes hosts from the host page; others get 403, audited."""
from datetime import timedelta

import pytest
from django.utils import timezone

from snapshots.models import AuditEvent, Host

from .conftest import htmx

pytestmark = pytest.mark.django_db


def test_an_admin_drains_and_enables_a_host(as_ada, fleet):
    response = as_ada.post("/hosts/alpha/drain/", **htmx("host-admin"))
    assert response.status_code == 200 and ">Enable</button>" in response.content.decode()
    assert Host.objects.get(name="alpha").drained
    assert as_ada.post("/hosts/alpha/enable/").status_code == 302
    assert not Host.objects.get(name="alpha").drained
    assert list(AuditEvent.objects.filter(action__startswith="host.").order_by("id").values_list("action", flat=True)) \
        == ["host.drain", "host.enable"]


def test_an_operator_may_not_drain_and_the_attempt_is_audited(as_otto, fleet):
    assert as_otto.post("/hosts/alpha/drain/").status_code == 403
    assert not Host.objects.get(name="alpha").drained
    assert AuditEvent.objects.get(outcome="denied").action == "host.drain"


def test_only_admins_see_the_host_controls(as_ada, fleet, client, people):
    assert ">Drain</button>" in as_ada.get("/hosts/alpha/").content.decode()
    client.force_login(people.otto)
    assert ">Drain</button>" not in client.get("/hosts/alpha/").content.decode()


def test_a_host_with_jobs_in_flight_is_not_removed(as_ada, fleet):
    fleet.checkpoint_job()
    response = as_ada.post("/hosts/alpha/remove/", follow=True)
    assert "job(s) queued or running; wait for them first" in response.content.decode()
    assert Host.objects.filter(name="alpha").exists()


def test_an_offline_host_is_removed_and_leaves_the_lists(as_ada, fleet):
    Host.objects.filter(name="beta").update(last_seen=timezone.now() - timedelta(hours=2))
    response = as_ada.post("/hosts/beta/remove/")
    assert response.status_code == 302 and response.url == "/"
    assert "beta" not in as_ada.get("/").content.decode().split("<main")[-1]
    assert Host.all_objects.get(name="beta").removed_at is not None
