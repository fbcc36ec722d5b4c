"""Personas and real services for Cryo's tests.

Personas: Ada is an admin; Otto operates the hosts granted to his team ("team-a"); Vic only views.
The integration tiers use test-owned Docker daemons (cryo-test-a, cryo-test-b), a real worker process per
host, Redis and the test database; under CI a missing engine fails the run instead of skipping.
"""
import contextlib
import os

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import Group, User

from snapshots.models import Container, EnrollmentToken, Host
from snapshots.services import Origin
from snapshots.services.access import ADMIN_GROUP

from .harness.engine import in_ci, start_daemon, stop_daemon
from .harness.workers import WorkerProcess, wait_until

TOKEN = "test-enrollment-token"
# Several test runs can share a machine when each sets its own prefix, broker database and var dir.
DAEMON_PREFIX = os.environ.get("CRYO_TEST_DAEMON_PREFIX", "cryo-test")
HOST_A, DAEMON_A = "test-a", f"{DAEMON_PREFIX}-a"
HOST_B, DAEMON_B = "test-b", f"{DAEMON_PREFIX}-b"


# -- personas --------------------------------------------------------------------------------
class People:
    def __init__(self):
        admins, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
        self.team_a, _ = Group.objects.get_or_create(name="team-a")
        self.ada = User.objects.create_user("ada", "ada@example.test", "ada-password-1")
        self.ada.groups.add(admins)
        self.otto = User.objects.create_user("otto", "otto@example.test", "otto-password-1")
        self.otto.groups.add(self.team_a)
        self.vic = User.objects.create_user("vic", "vic@example.test", "vic-password-1")

    def grant(self, host, group=None):
        host.operator_groups.add(group or self.team_a)
        return host


@pytest.fixture
def people():
    return People()


@pytest.fixture
def origin():
    return Origin(source="127.0.0.1")


# -- real services ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        message = f"Redis is not reachable at {settings.CELERY_BROKER_URL}: {exc}"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    client.flushdb()
    return client


def owned_daemon(name):
    daemon = start_daemon(name)
    yield daemon
    daemon.remove_test_containers()
    stop_daemon(name)


@pytest.fixture(scope="session")
def daemon_a():
    yield from owned_daemon(DAEMON_A)


@pytest.fixture(scope="session")
def daemon_b():
    yield from owned_daemon(DAEMON_B)


def install_token(django_db_blocker=None):
    with django_db_blocker.unblock() if django_db_blocker else contextlib.nullcontext():
        EnrollmentToken.install(TOKEN, "tests")


def session_worker(host, daemon, django_db_blocker):
    install_token(django_db_blocker)
    worker = WorkerProcess(host, daemon.url, TOKEN).start()
    with django_db_blocker.unblock():
        wait_until(lambda: Host.objects.filter(name=host, worker_id__gt="").exists() or not worker.alive(),
                   60, f"worker {host} to enroll")
    assert worker.alive(), f"worker {host} died at start:\n{worker.log_tail()}"
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def worker_a(django_db_setup, django_db_blocker, broker, daemon_a):
    yield from session_worker(HOST_A, daemon_a, django_db_blocker)


@pytest.fixture(scope="session")
def worker_b(django_db_setup, django_db_blocker, broker, daemon_b):
    yield from session_worker(HOST_B, daemon_b, django_db_blocker)


def ready_host(name, worker, timeout=30):
    """The host row as its worker keeps it (re-created by the heartbeat after a test flushed the tables)."""
    if not worker.alive():  # a test stopped it on purpose: bring it back
        install_token()
        worker.start()

    def fresh():
        assert worker.alive(), f"worker {name} died:\n{worker.log_tail()}"
        host = Host.objects.filter(name=name, status=Host.Status.ONLINE).first()
        return host if host and not host.is_lost() else None

    return wait_until(fresh, timeout, f"host {name} online")


@pytest.fixture
def host_a(worker_a, people):
    return people.grant(ready_host(HOST_A, worker_a))


@pytest.fixture
def host_b(worker_b, people):
    return people.grant(ready_host(HOST_B, worker_b))


@pytest.fixture
def spare_worker(django_db_blocker, broker):
    """Start extra workers inside one test; all are stopped at its end."""
    started = []

    def start(host, docker_url, **kwargs):
        install_token(django_db_blocker)
        worker = WorkerProcess(host, docker_url, TOKEN, **kwargs).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


# -- containers ------------------------------------------------------------------------------
def synced_container(host, engine_container, *, state="running", timeout=30):
    return wait_until(
        lambda: Container.objects.filter(host=host, engine_id=engine_container.id, state=state).first(),
        timeout, f"container {engine_container.name} to be {state} in the inventory of {host.name}",
    )


@contextlib.contextmanager
def running_counter(daemon, host, **options):
    """A counter container running on a host, as the engine and as Cryo's inventory row; removed afterwards."""
    engine_container = daemon.run_counter(**options)
    try:
        yield engine_container, synced_container(host, engine_container)
    finally:
        with contextlib.suppress(Exception):
            engine_container.remove(force=True)


@pytest.fixture
def counter_a(daemon_a, host_a):
    with running_counter(daemon_a, host_a) as pair:
        yield pair
