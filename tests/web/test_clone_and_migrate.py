"""Clone and migrate from the container page: pre-flight first, then the move; roles decide the hosts."""
import pytest

from snapshots.models import AuditEvent, Job

from .conftest import htmx, make_host

pytestmark = pytest.mark.django_db


def clone_url(container):
    return f"/containers/{container.pk}/clone/"


def migrate_url(container):
    return f"/containers/{container.pk}/migrate/"


def test_an_operator_clones_a_checkpoint_as_a_new_container_on_the_same_host(as_otto, fleet):
    response = as_otto.post(clone_url(fleet.db), {"checkpoint": "db-1-frozen", "to": "alpha", "name": "db-1-copy"})
    assert response.status_code == 302
    job = Job.objects.get()
    assert (job.kind, job.host, job.target_host, job.checkpoint_name, job.params["name"]) == (
        "clone", fleet.alpha, fleet.alpha, "db-1-frozen", "db-1-copy")


def test_the_container_page_offers_clone_and_migrate_to_operators_only(as_otto, as_vic, fleet, client, people):
    client.force_login(people.otto)
    page = client.get(f"/containers/{fleet.web.pk}/").content.decode()
    assert 'id="clone-panel"' in page and "No checkpoint to clone yet" in page
    assert 'id="migrate-panel"' not in page, "Otto operates one host only: nowhere to migrate to"
    client.force_login(people.ada)
    page = client.get(f"/containers/{fleet.web.pk}/").content.decode()
    assert 'id="migrate-panel"' in page and ">Check migration</button>" in page
    client.force_login(people.vic)
    page = client.get(f"/containers/{fleet.db.pk}/").content.decode()
    assert 'id="clone-panel"' not in page and 'id="migrate-panel"' not in page


def test_a_clone_to_a_host_not_granted_is_forbidden_and_audited(as_otto, fleet):
    response = as_otto.post(clone_url(fleet.db), {"checkpoint": "db-1-frozen", "to": "beta"})
    assert response.status_code == 403
    assert not Job.objects.exists()
    denied = AuditEvent.objects.get(outcome="denied")
    assert (denied.actor_name, denied.action, denied.host_name) == ("otto", "clone", "beta")


def test_a_migration_shows_its_preflight_and_runs_only_when_confirmed_for_that_host(as_ada, fleet):
    first = as_ada.post(migrate_url(fleet.web), {"to": "beta"}, **htmx("migrate-panel"))
    assert first.status_code == 200
    text = first.content.decode()
    assert "Pre-flight to beta" in text and "target ready" in text and ">Migrate</button>" in text
    assert not Job.objects.exists()
    confirmed = as_ada.post(migrate_url(fleet.web), {"to": "beta", "checked": "beta"})
    assert confirmed.status_code == 302
    job = Job.objects.get()
    assert (job.kind, job.target_host, job.params["keep_source"]) == ("migrate", fleet.beta, False)


def test_changing_the_target_after_the_preflight_checks_the_new_target_first(as_ada, fleet):
    make_host("gamma")
    response = as_ada.post(migrate_url(fleet.web), {"to": "gamma", "checked": "beta"}, **htmx("migrate-panel"))
    assert "Pre-flight to gamma" in response.content.decode()
    assert not Job.objects.exists()


def test_a_tty_container_cannot_be_migrated_and_the_preflight_says_why(as_ada, fleet):
    fleet.web.tty = True
    fleet.web.save()
    response = as_ada.post(migrate_url(fleet.web), {"to": "beta"}, **htmx("migrate-panel"))
    text = response.content.decode()
    assert "criu#952" in text and "This migration cannot run" in text and ">Migrate</button>" not in text
    forced = as_ada.post(migrate_url(fleet.web), {"to": "beta", "checked": "beta"}, **htmx("migrate-panel"))
    assert forced.status_code == 422 and "TTY" in forced.content.decode()
    assert not Job.objects.exists()
