"""GET requests never write. Every URL of the URL configuration (the site, the Django admin, the JSON API, sign-in)
is fetched as each persona, and after each request every table is compared with what it held before: no row
added, changed or removed. A new URL whose parameters this walk cannot fill fails the walk, so none is forgotten.

Not compared: sessions (signing in and reading messages is how a browser session is kept) and an API token's
last use (kept by design)."""
import re
import uuid
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.utils import timezone

from snapshots.models import ApiToken, Host, Job

from .conftest import make_checkpoint, make_container, make_host

pytestmark = pytest.mark.django_db

IGNORED_MODELS = {"sessions.Session"}
IGNORED_FIELDS = {"snapshots.ApiToken.last_used_at"}
PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")


def url_patterns(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from url_patterns(pattern, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


def snapshot():
    state = {}
    for model in apps.get_models():
        label = model._meta.label
        if label in IGNORED_MODELS or model._meta.proxy or not model._meta.managed:
            continue
        fields = [f.attname for f in model._meta.concrete_fields if f"{label}.{f.attname}" not in IGNORED_FIELDS]
        state[label] = list(model._base_manager.order_by("pk").values_list(*fields))
    return state


def changed_tables(before, after):
    return sorted(label for label in after if before.get(label) != after[label])


class Site:
    """Rows for every kind of page: hosts, containers, a checkpoint, a finished job and a running job whose worker
    vanished (a page that reconciled on read would fail it)."""

    def __init__(self, fleet):
        self.fleet = fleet
        gone = make_host("gamma", last_seen=timezone.now() - timedelta(hours=1))
        fleet.people.grant(gone)
        stuck = make_container(gone, "stuck-1")
        make_checkpoint(stuck, "stuck-cp")
        self.done = fleet.checkpoint_job()
        Job.objects.filter(pk=self.done.pk).update(state=Job.State.SUCCEEDED, finished_at=timezone.now())
        self.stuck = Job.objects.create(kind=Job.Kind.CHECKPOINT, state=Job.State.RUNNING, host=gone, container=stuck,
                                        step_host=gone, container_name=stuck.name, requested_by_name="otto",
                                        claimed_by="gone:1:x",
                                        started_at=timezone.now() - timedelta(minutes=30))
        self.stuck_container = stuck
        from snapshots.services import Origin, retention, schedules

        self.schedule = schedules.create(fleet.people.otto, selector="container", container=fleet.db,
                                         interval_seconds=3600, origin=Origin(source="10.0.0.9"))
        self.retention = retention.create(fleet.people.otto, selector="container", container=fleet.db, keep_last=3,
                                          origin=Origin(source="10.0.0.9"))
        from notifications.models import Webhook

        self.hook = Webhook.objects.create(team=fleet.people.team_a, url="https://hooks.example.test/cryo",
                                           secret="s" * 32)

    def values(self, route, *, stuck=False):
        """Values for a route's parameters; KeyError for a parameter nobody taught this walk."""
        container = self.stuck_container if stuck else self.fleet.db
        host = container.host.name
        checkpoint = container.checkpoints.first().name
        admin = re.match(r"admin/(\w+)/(\w+)/<path:object_id>", route)
        values = {
            "name": checkpoint if "checkpoints/<" in route else host,
            "pk": self.schedule.pk if route.startswith("schedules/") else
                  self.retention.pk if route.startswith("retention/") else container.pk,
            "job_id": self.stuck.pk if stuck else self.done.pk,
            "host": host, "container": container.name,
            "id": self.fleet.people.vic.pk,
            "content_type_id": ContentType.objects.get_for_model(Host).pk, "object_id": self.fleet.alpha.pk,
            "archive_id": uuid.UUID(int=7), "engine_id": container.engine_id, "hook": self.hook.pk,
            "team": self.fleet.people.team_a.pk, "token": "abcd1234", "checkpoint": checkpoint,
            "schedule_id": self.schedule.pk,
        }
        if admin:
            model = apps.get_model(admin.group(1), admin.group(2))
            first = model._base_manager.order_by("pk").first()
            values["object_id"] = first.pk if first else 1
        return values

    def url(self, route, *, stuck=False):
        route = route.replace("^(?P<app_label>", "(?P<app_label>")
        route = re.sub(r"\(\?P<app_label>[^)]*\)/\$", "snapshots/", route)
        route = route.replace("(?P<url>.*)$", "no-such-page/")
        values = self.values(route, stuck=stuck)
        path = PARAM.sub(lambda m: str(values[m.group("name")]), route)
        assert not re.search(r"[()^$?]", path), f"cannot fill the route {route!r}: teach this walk its parameters"
        return "/" + path


@pytest.fixture
def site(fleet):
    fleet.people.ada.is_staff = fleet.people.ada.is_superuser = True  # the admin pages too
    fleet.people.ada.save()
    return Site(fleet)


def walk(client, site, personas_label, **headers):
    routes = list(url_patterns())
    assert len(routes) > 60  # the site, the admin and the API
    writes = []
    for route in routes:
        for stuck in (False, True):
            url = site.url(route, stuck=stuck)
            before = snapshot()
            response = client.get(url, **headers)
            assert response.status_code < 500, (url, response.status_code)
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)
            changed = changed_tables(before, snapshot())
            if changed:
                writes.append((personas_label, url, response.status_code, changed))
    return writes


@pytest.mark.parametrize("persona", ["anonymous", "vic", "otto", "ada"])
def test_no_get_of_any_url_writes_a_row(site, persona):
    client = Client()
    if persona != "anonymous":
        client.force_login(getattr(site.fleet.people, persona))
    assert walk(client, site, persona) == []
    assert walk(client, site, f"{persona} over htmx", HTTP_HX_REQUEST="true") == []


@pytest.mark.parametrize("persona", ["vic", "otto", "ada"])
def test_no_get_of_the_api_with_a_token_writes_a_row_but_the_tokens_last_use(site, persona):
    _, token = ApiToken.issue(getattr(site.fleet.people, persona), "walk")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    routes = [r for r in url_patterns() if r.startswith("api/")]
    assert routes
    writes = []
    for route in routes:
        url = site.url(route)
        before = snapshot()
        assert client.get(url).status_code < 500, url
        changed = changed_tables(before, snapshot())
        if changed:
            writes.append((url, changed))
    assert writes == []


def test_the_apis_job_read_does_not_fail_a_job_whose_worker_vanished(site):
    _, token = ApiToken.issue(site.fleet.people.vic, "walk")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    before = snapshot()
    client.get(f"/api/v1/jobs/{site.stuck.pk}")
    assert changed_tables(before, snapshot()) == []


def test_the_walk_sees_a_write_when_there_is_one(site):
    """The comparison itself: a row added or changed between two snapshots is seen."""
    before = snapshot()
    Job.objects.filter(pk=site.done.pk).update(error="changed")
    assert changed_tables(before, snapshot()) == ["snapshots.Job"]
    assert site.url("containers/<int:pk>/checkpoints/<str:name>/delete/") == \
        f"/containers/{site.fleet.db.pk}/checkpoints/db-1-frozen/delete/"
    with pytest.raises(KeyError):
        site.url("things/<uuid:thing_id>/")
    assert uuid.UUID(site.url("jobs/<uuid:job_id>/").split("/")[2]) == site.done.pk
