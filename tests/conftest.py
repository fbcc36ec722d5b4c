"""Personas and real services for Cryo's tests.

Personas: Ada is an admin; Otto operates the hosts granted to his team ("team-a"); Vic only views.
The integration tiers use test-owned Docker daemons (cryo-test-a, cryo-test-b), a Redis of their own, the
dashboard served by gunicorn with its control process, and a real `cryo-agent` per host whose environment holds
only the dashboard's URL; under CI a missing engine fails the run instead of skipping.
"""
import contextlib
import os
import shutil
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import Group, User

from snapshots.models import Container, Host, HostCredential, JoinToken
from snapshots.models.credentials import digest
from snapshots.services import Origin
from snapshots.services.access import ADMIN_GROUP

from .harness.engine import in_ci, start_daemon, stop_daemon
from .harness.processes import Agent, Broker, Control, Dashboard, wait_until
# Several test runs can share a machine when each sets its own prefix, broker database and var dir.
DAEMON_PREFIX = os.environ.get("CRYO_TEST_DAEMON_PREFIX", "cryo-test")
HOST_A, DAEMON_A = "test-a", f"{DAEMON_PREFIX}-a"
HOST_B, DAEMON_B = "test-b", f"{DAEMON_PREFIX}-b"


TIER_ORDER = ("unit", "web", "integration", "multihost", "browser", "faults")
pytest_plugins = ["tests.podman_fixtures"]  # the Podman hosts beside the Docker ones


def _flush_that_rides_out_deadlocks():
    """Transactional tests empty the database (TRUNCATE) while the real dashboard, its control process and the
    agents use it. On PostgreSQL the TRUNCATE can deadlock with one of their transactions, and PostgreSQL may pick
    the flush as the victim: it runs again (its transaction was rolled back whole)."""
    import time

    from django.db import OperationalError
    from django.db.backends.base.operations import BaseDatabaseOperations

    original = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        for attempt in range(6):
            try:
                return original(self, sql_list)
            except OperationalError as exc:
                if "deadlock detected" not in str(exc) or attempt == 5:
                    raise
                time.sleep(0.2 * (attempt + 1))

    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush


_flush_that_rides_out_deadlocks()


def pytest_collection_modifyitems(items):
    """Tiers without processes of their own run first: once the engine tiers started the dashboard's control
    process, it keeps reconciling the shared test database for the rest of the session."""
    def tier(item):
        parts = item.nodeid.split("/")
        return TIER_ORDER.index(parts[1]) if len(parts) > 2 and parts[1] in TIER_ORDER else len(TIER_ORDER)

    items.sort(key=tier)


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
    """The tests' own Redis (hosts' broker users are ACL users on it); never the machine's shared one."""
    url = settings.CELERY_BROKER_URL
    if urlsplit(url).port in (None, 6379):
        pytest.fail(f"CRYO_BROKER_URL={url}: the tests start a broker of their own on another port (they create "
                    "ACL users on it); see pytest.ini", pytrace=False)
    client = redis.Redis.from_url(url)
    try:  # one left by an earlier run that was cut short: the tests want theirs under their own control
        client.shutdown(nosave=True)
    except redis.exceptions.ConnectionError:
        pass
    if not shutil.which("redis-server"):
        message = "redis-server is not installed (deploy/provision-host.sh installs it)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = Broker(url).start()
    client.flushdb()
    client.server = server  # the fault tier freezes and restarts it
    yield client
    server.stop()


@pytest.fixture(scope="session")
def dashboard(django_db_setup, django_db_blocker, broker):
    """The dashboard served by gunicorn on the test database, and the control process beside it."""
    # Schedules as short as a few seconds, and pruning rounds every two, so that tests watch them happen.
    quick = {"CRYO_SCHEDULE_MIN_INTERVAL": 3, "CRYO_RETENTION_INTERVAL": 2}
    web = Dashboard(extra_env=quick).start()
    # The control process also delivers notifications: the tests' receivers listen on loopback, and wait briefly.
    control = Control(CRYO_WEBHOOK_ALLOW_PRIVATE="true", CRYO_WEBHOOK_BACKOFF=1, **quick).start()
    web.control = control
    yield web
    control.stop()
    web.stop()


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


def join_token_for(name):
    """The host's row (added as an admin would) and a fresh one-time join token for its agent."""
    host = Host.all_objects.filter(name=name).first()
    if host is None or host.removed_at:
        host = Host.all_objects.filter(name=name).first() or Host.objects.create(name=name)
        Host.all_objects.filter(pk=host.pk).update(removed_at=None)
    _row, token = JoinToken.issue(Host.all_objects.get(pk=host.pk), created_by_name="tests")
    return token


def install_credential(name, credential):
    """After a test flushed the tables, put back the host and its agent's credential (as its hash)."""
    host = Host.all_objects.filter(name=name).first() or Host.objects.create(name=name)
    if not HostCredential.objects.filter(token_hash=digest(credential)).exists():
        HostCredential.objects.create(host=host, token_hash=digest(credential), prefix=credential[:12])
    return host


def start_agent(agent, django_db_blocker=None):
    blocker = django_db_blocker.unblock() if django_db_blocker else contextlib.nullcontext()
    with blocker:
        if agent.credential():
            install_credential(agent.host, agent.credential())
        else:
            agent.join_token = join_token_for(agent.host)
    agent.start()
    return agent


def session_agent(host, daemon, dashboard, django_db_blocker, engine="docker"):
    agent = start_agent(Agent(host, daemon.url, dashboard.url, engine=engine), django_db_blocker)
    with django_db_blocker.unblock():
        wait_until(lambda: Host.objects.filter(name=host, worker_id__gt="").exists() or not agent.alive(),
                   60, f"agent {host} to say hello")
    assert agent.alive(), f"agent {host} died at start:\n{agent.log_tail()}"
    yield agent
    agent.stop()


@pytest.fixture(scope="session")
def agent_a(dashboard, django_db_blocker, daemon_a):
    yield from session_agent(HOST_A, daemon_a, dashboard, django_db_blocker)


@pytest.fixture(scope="session")
def agent_b(dashboard, django_db_blocker, daemon_b):
    yield from session_agent(HOST_B, daemon_b, dashboard, django_db_blocker)


def ready_host(name, agent, timeout=30):
    """The host row once its agent is online (put back after a test flushed the tables)."""
    if not agent.alive():  # a test stopped it on purpose: bring it back
        start_agent(agent)
    elif agent.credential():
        install_credential(name, agent.credential())

    def fresh():
        assert agent.alive(), f"agent {name} died:\n{agent.log_tail()}"
        host = Host.objects.filter(name=name, status=Host.Status.ONLINE).first()
        return host if host and host.effective_status == Host.Status.ONLINE else None

    return wait_until(fresh, timeout, f"host {name} online")


@pytest.fixture
def spare_agent(dashboard, django_db_blocker):
    """Start extra agents inside one test (each joins with a fresh token); all are stopped at its end."""
    started = []

    def start(host, docker_url, **kwargs):
        agent = Agent(host, docker_url, dashboard.url, **kwargs)
        shutil.rmtree(agent.state_dir, ignore_errors=True)
        started.append(start_agent(agent, django_db_blocker))
        return agent

    yield start
    for agent in started:
        agent.stop()


@pytest.fixture
def host_a(agent_a, people):
    return people.grant(ready_host(HOST_A, agent_a))


@pytest.fixture
def host_b(agent_b, people):
    return people.grant(ready_host(HOST_B, agent_b))


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
