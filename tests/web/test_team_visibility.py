"""Team-scoped visibility (CRYO_TEAM_SCOPED_VISIBILITY): people other than admins see only the hosts granted to
their teams, with their containers, checkpoints and jobs, on the pages, through the API and the CLI. A container's
command line is shown only to those who may operate it, whatever the setting.

alpha is granted to team-a (Otto's); beta to nobody. Ada is an admin, Vic a viewer with no team."""
import json

import pytest

from snapshots.models import ApiToken, AuditEvent, Container

from .test_api_tokens import run_cli

pytestmark = pytest.mark.django_db
SECRET = "server --password=hunter2"


@pytest.fixture
def scoped(settings, fleet):
    settings.CRYO_TEAM_SCOPED_VISIBILITY = True
    Container.objects.update(command=SECRET)
    fleet.beta_job = fleet.checkpoint_job(container=fleet.cache)
    fleet.alpha_job = fleet.checkpoint_job()
    return fleet


def api_get(client, user, url):
    _, token = ApiToken.issue(user, "t", scope="read")
    return client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.parametrize("persona, hosts", [("ada", ["alpha", "beta"]), ("otto", ["alpha"]), ("vic", [])])
def test_the_api_lists_only_hosts_a_person_may_see(client, people, scoped, persona, hosts):
    user = getattr(people, persona)
    assert [h["name"] for h in api_get(client, user, "/api/v1/hosts").json()] == hosts
    assert sorted({c["host"] for c in api_get(client, user, "/api/v1/containers").json()}) == hosts
    jobs = api_get(client, user, "/api/v1/jobs").json()
    assert sorted({j["host"] for j in jobs}) == hosts


def test_a_host_out_of_sight_is_unknown_to_the_api_and_not_named(client, people, scoped):
    for url in ("/api/v1/hosts/beta/containers", "/api/v1/hosts/beta/containers/cache-1/checkpoints",
                "/api/v1/hosts/beta/containers/cache-1/preflight", "/api/v1/containers?host=beta"):
        response = api_get(client, people.otto, url)
        assert response.status_code == 400 and "unknown host 'beta' (known hosts: alpha)" in response.json()["error"]
    assert api_get(client, people.otto, f"/api/v1/jobs/{scoped.beta_job.pk}").status_code == 400
    assert api_get(client, people.otto, f"/api/v1/jobs/{scoped.alpha_job.pk}").status_code == 200


def test_acting_on_a_host_out_of_sight_finds_no_such_host_and_creates_nothing(client, people, scoped):
    from snapshots.models import Job

    _, token = ApiToken.issue(people.otto, "t", scope="operate")
    before = Job.objects.count()
    response = client.post("/api/v1/jobs", json.dumps({"kind": "sync", "host": "beta"}),
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400 and "unknown host 'beta'" in response.json()["error"]
    assert Job.objects.count() == before


@pytest.mark.parametrize("persona, seen, hidden", [("otto", "alpha", "beta"), ("vic", None, "alpha")])
def test_pages_show_only_hosts_a_person_may_see(client, people, scoped, persona, seen, hidden):
    client.force_login(getattr(people, persona))
    hidden_host = getattr(scoped, hidden)
    hidden_container = hidden_host.containers.first()
    hidden_job = scoped.beta_job if hidden == "beta" else scoped.alpha_job
    for url in (f"/hosts/{hidden}/", f"/containers/{hidden_container.pk}/", f"/jobs/{hidden_job.pk}/",
                f"/jobs/{hidden_job.pk}/row/"):
        assert client.get(url).status_code == 404, url
    overview = client.get("/").content.decode()
    assert f'href="/hosts/{hidden}/"' not in overview
    found = client.get(f"/search/?q={hidden_container.name}").content.decode()
    assert f'href="/containers/{hidden_container.pk}/"' not in found
    assert str(hidden_job.pk)[:8] not in client.get("/jobs/").content.decode()
    assert hidden_container.name not in client.get("/audit/").content.decode()
    if seen:
        assert client.get(f"/hosts/{seen}/").status_code == 200
        assert f'href="/hosts/{seen}/"' in overview


def test_an_admin_sees_every_host(client, people, scoped):
    client.force_login(people.ada)
    for url in ("/hosts/alpha/", "/hosts/beta/", f"/containers/{scoped.cache.pk}/", f"/jobs/{scoped.beta_job.pk}/"):
        assert client.get(url).status_code == 200, url


def test_without_the_setting_every_viewer_sees_every_host(client, people, fleet):
    client.force_login(people.vic)
    assert client.get("/hosts/beta/").status_code == 200
    assert len(api_get(client, people.vic, "/api/v1/hosts").json()) == 2


def test_the_cli_lists_only_hosts_a_person_may_see(client, people, scoped):
    _, token = ApiToken.issue(people.otto, "cli", scope="read")
    out = run_cli(client, token, "hosts")
    assert "alpha" in out and "beta" not in out
    assert "cache-1" not in run_cli(client, token, "containers")


def test_the_audit_log_of_a_scoped_viewer_has_their_hosts_and_their_own_rows(client, people, scoped):
    client.force_login(people.otto)
    AuditEvent.objects.create(actor=people.otto, actor_name="otto", action="account.x", outcome="succeeded")
    page = client.get("/audit/").content.decode()
    assert "account.x" in page and "web-1" in page and "cache-1" not in page
    export = client.post("/audit/export.json").getvalue().decode()
    assert "cache-1" not in export and "web-1" in export


# -- command lines -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("persona, shown", [("ada", {"alpha", "beta"}), ("otto", {"alpha"}), ("vic", set())])
def test_a_command_line_is_shown_only_to_those_who_may_operate_the_container(client, people, fleet, persona,
                                                                                shown):
    Container.objects.update(command=SECRET)
    user = getattr(people, persona)
    for c in api_get(client, user, "/api/v1/containers").json():
        assert c["command"] == (SECRET if c["host"] in shown else None), c
    client.force_login(user)
    for container in (fleet.web, fleet.cache):
        page = client.get(f"/containers/{container.pk}/").content.decode()
        assert (SECRET.split()[1] in page) == (container.host.name in shown)


def test_the_cli_shows_no_command_line_to_a_viewer(client, people, fleet):
    Container.objects.update(command=SECRET)
    _, token = ApiToken.issue(people.vic, "cli", scope="read")
    assert "hunter2" not in run_cli(client, token, "containers", "--json")


@pytest.fixture
def plans(scoped, people):
    """A schedule and a retention policy on each host's container, and a fleet-wide schedule."""
    from snapshots.services import Origin, retention, schedules

    origin = Origin(source="10.0.0.9")
    scoped.plans = {
        "alpha": schedules.create(people.otto, selector="container", container=scoped.db, interval_seconds=3600,
                                  origin=origin),
        "beta": schedules.create(people.ada, selector="container", container=scoped.cache, interval_seconds=3600,
                                 origin=origin),
        "fleet": schedules.create(people.ada, selector="fleet", interval_seconds=7200, origin=origin),
        "alpha_policy": retention.create(people.otto, selector="container", container=scoped.db, keep_last=3,
                                         origin=origin),
        "beta_policy": retention.create(people.ada, selector="container", container=scoped.cache, keep_last=3,
                                        origin=origin),
    }
    return scoped


def test_schedules_of_a_host_out_of_sight_are_not_listed_nor_found_by_the_api_or_the_cli(client, people, plans):
    listed = api_get(client, people.otto, "/api/v1/schedules").json()
    assert sorted((s["selector"], s["host"]) for s in listed) == [("container", "alpha"), ("fleet", None)]
    hidden = api_get(client, people.otto, f"/api/v1/schedules/{plans.plans['beta'].pk}")
    assert hidden.status_code == 400 and "cache-1" not in hidden.content.decode()
    assert api_get(client, people.otto, f"/api/v1/schedules/{plans.plans['alpha'].pk}").status_code == 200
    assert len(api_get(client, people.ada, "/api/v1/schedules").json()) == 3
    _, token = ApiToken.issue(people.otto, "cli", scope="read")
    out = run_cli(client, token, "schedule", "list")
    assert "alpha/db-1" in out and "cache-1" not in out


def test_changing_a_schedule_out_of_sight_finds_nothing_and_changes_nothing(client, people, plans):
    from snapshots.models import Schedule

    beta = plans.plans["beta"]
    _, token = ApiToken.issue(people.otto, "t", scope="operate")
    for verb in ("pause", "delete"):
        response = client.post(f"/api/v1/schedules/{beta.pk}/{verb}", "{}", content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 400, verb
    client.force_login(people.otto)
    assert client.post(f"/schedules/{beta.pk}/pause/").status_code == 404
    assert client.get(f"/schedules/{beta.pk}/").status_code == 404
    beta.refresh_from_db()
    assert not beta.paused and Schedule.objects.filter(pk=beta.pk).exists()
    page = client.get("/schedules/").content.decode()
    assert "db-1" in page and "cache-1" not in page


def test_retention_policies_of_a_host_out_of_sight_are_not_shown_previewed_nor_deleted(client, people, plans):
    from snapshots.models import RetentionPolicy

    client.force_login(people.otto)
    page = client.get("/retention/").content.decode()
    assert "db-1" in page and "cache-1" not in page
    beta_policy = plans.plans["beta_policy"]
    assert client.post(f"/retention/{beta_policy.pk}/delete/").status_code == 404
    assert RetentionPolicy.objects.filter(pk=beta_policy.pk).exists()
    preview = client.get("/retention/preview/", {"selector": "container", "host": "beta", "container": "cache-1",
                                                 "keep_last": "0"}).content.decode()
    assert "unknown host &#x27;beta&#x27;" in preview or "unknown host 'beta'" in preview


def test_what_a_checkpoint_out_of_sight_holds_is_unknown_to_the_api(client, people, plans):
    from .conftest import make_checkpoint

    make_checkpoint(plans.cache, "cache-1-cp")
    url = "/api/v1/hosts/beta/containers/cache-1/checkpoints/cache-1-cp/contents"
    response = api_get(client, people.otto, url)
    assert response.status_code == 400 and "unknown host 'beta'" in response.json()["error"]
    assert api_get(client, people.ada, url).status_code == 200
