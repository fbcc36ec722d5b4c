"""View tests: hosts and containers are plain rows; jobs are requested through the services with the broker
publish patched out, so no agent or broker is needed. Personas come from tests/conftest.py."""
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.utils import timezone

from snapshots.models import Checkpoint, Container, Host, Job
from snapshots import services
from snapshots.services import Origin

settings.VAR_DIR.mkdir(parents=True, exist_ok=True)  # the SQLite test database lives there
settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def fresh_cache():
    """Counts of refused requests (dashboard.refusals) start at nothing in each test."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def sent(db):
    """The broker publish, patched: view tests need no broker. Yields the mock to see what was sent."""
    with mock.patch("snapshots.jobs.outbox.publish") as publish:
        yield publish


def make_host(name, **facts):
    values = dict(
        status=Host.Status.ONLINE, last_seen=timezone.now(), consumer_ok=True, docker_version="27.5.1",
        api_version="1.47",
        experimental=True, criu_ok=True, criu_version="4.1", kernel="6.1.0", containers_running=2,
    )
    values.update(facts)
    return Host.objects.create(name=name, **values)


def make_container(host, name, *, state="running", image="cryo-counter:1", n=None):
    engine_id = (f"{abs(hash((host.name, name))):x}" * 8)[:64] if n is None else f"{n:064x}"
    return Container.objects.create(host=host, name=name, engine_id=engine_id, image=image, state=state)


def make_checkpoint(container, name, *, by="otto", ago=timedelta(minutes=5), exit=True):
    return Checkpoint.objects.create(
        container=container, name=name, exit=exit, size_bytes=17_000_000, created_by_name=by,
        created_at=timezone.now() - ago, engine_facts={"docker_version": "27.5.1", "criu_version": "4.1"},
    )


class Fleet:
    """Two hosts: alpha is granted to team-a (Otto's team), beta to nobody."""

    def __init__(self, people):
        self.people = people
        self.alpha = people.grant(make_host("alpha"))
        self.beta = make_host("beta")
        self.web = make_container(self.alpha, "web-1")
        self.db = make_container(self.alpha, "db-1", state="exited", image="postgres:16")
        self.cache = make_container(self.beta, "cache-1", image="redis:7")
        self.frozen = make_checkpoint(self.db, "db-1-frozen")

    def checkpoint_job(self, actor=None, container=None, **kwargs):
        return services.checkpoint(actor or self.people.ada, container or self.web, origin=Origin(source="10.0.0.9"),
                                   **kwargs)


@pytest.fixture
def fleet(people):
    return Fleet(people)


@pytest.fixture
def as_ada(client, people):
    client.force_login(people.ada)
    return client


@pytest.fixture
def as_otto(client, people):
    client.force_login(people.otto)
    return client


@pytest.fixture
def as_vic(client, people):
    client.force_login(people.vic)
    return client


def finish(job, state=Job.State.SUCCEEDED, error=""):
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(state=state, started_at=now - timedelta(seconds=2), finished_at=now,
                                         duration_ms=2000, error=error)
    job.refresh_from_db()
    return job


HTMX = {"HTTP_HX_REQUEST": "true"}


def htmx(target):
    return {**HTMX, "HTTP_HX_TARGET": target}


def count_queries(client, url, **extra):
    """How many SQL queries one GET of the page costs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **extra)
    assert response.status_code == 200, response.content[:500]
    return len(captured)


def grow(fleet, *, containers=60, jobs=80, checkpoints_each=3):
    """Add many rows around the fleet's hosts, to show that a page's query count does not depend on them."""
    from snapshots.models import AuditEvent

    now = timezone.now()
    made = Container.objects.bulk_create(
        Container(host=fleet.alpha, name=f"bulk-{i:03d}", engine_id=f"{i + 1000:064x}", image="busybox",
                  state="running")
        for i in range(containers)
    )
    Checkpoint.objects.bulk_create(
        Checkpoint(container=c, name=f"cp-{j}", exit=False, created_by_name="ada",
                   created_at=now - timedelta(hours=j))
        for c in made for j in range(checkpoints_each)
    )

    def finished(i):
        container = made[i % len(made)]
        failed = i % 7 == 0
        return Job(kind=Job.Kind.CHECKPOINT, state=Job.State.FAILED if failed else Job.State.SUCCEEDED,
                   host=fleet.alpha, container=container, container_name=container.name, checkpoint_name=f"cp-{i}",
                   requested_by_name="ada", created_at=now - timedelta(minutes=i), error="boom" if failed else "")

    Job.objects.bulk_create(finished(i) for i in range(jobs))
    Job.objects.bulk_create(
        Job(kind=Job.Kind.RESTORE, state=Job.State.RUNNING, host=fleet.alpha, container=made[i],
            container_name=made[i].name, requested_by_name="otto", created_at=now - timedelta(seconds=i),
            started_at=now, phase="restore")
        for i in range(5)
    )
    AuditEvent.objects.bulk_create(
        AuditEvent(actor_name="ada", action="checkpoint", outcome="succeeded", host_name="alpha",
                   container_name=f"bulk-{i % containers:03d}", at=now - timedelta(minutes=i))
        for i in range(jobs * 2)
    )
    return made
