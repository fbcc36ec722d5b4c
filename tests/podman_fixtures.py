"""Podman hosts for the engine tiers, beside the Docker ones: two Podman services of the test run's own
(<CRYO_TEST_DAEMON_PREFIX>-podman-a/-b), each served by a real `cryo-agent --engine podman`, as hosts pod-a and
pod-b. Under CI a missing Podman fails the run instead of skipping."""
import contextlib

import pytest

from .conftest import DAEMON_PREFIX, ready_host, session_agent, synced_container
from .harness.podman import start_podman, stop_podman

POD_HOST_A, POD_SERVICE_A = "pod-a", f"{DAEMON_PREFIX}-podman-a"
POD_HOST_B, POD_SERVICE_B = "pod-b", f"{DAEMON_PREFIX}-podman-b"


def owned_service(name):
    service = start_podman(name)
    yield service
    service.remove_test_containers()
    stop_podman(name)


@pytest.fixture(scope="session")
def podman_a():
    yield from owned_service(POD_SERVICE_A)


@pytest.fixture(scope="session")
def podman_b():
    yield from owned_service(POD_SERVICE_B)


@pytest.fixture(scope="session")
def pod_agent_a(dashboard, django_db_blocker, podman_a):
    yield from session_agent(POD_HOST_A, podman_a, dashboard, django_db_blocker, engine="podman")


@pytest.fixture(scope="session")
def pod_agent_b(dashboard, django_db_blocker, podman_b):
    yield from session_agent(POD_HOST_B, podman_b, dashboard, django_db_blocker, engine="podman")


@pytest.fixture
def pod_host_a(pod_agent_a, people):
    return people.grant(ready_host(POD_HOST_A, pod_agent_a))


@pytest.fixture
def pod_host_b(pod_agent_b, people):
    return people.grant(ready_host(POD_HOST_B, pod_agent_b))


@contextlib.contextmanager
def running_pod_counter(service, host, **options):
    engine_container = service.run_counter(**options)
    try:
        yield engine_container, synced_container(host, engine_container)
    finally:
        with contextlib.suppress(Exception):
            engine_container.remove(force=True)


@pytest.fixture
def pod_counter_a(podman_a, pod_host_a):
    with running_pod_counter(podman_a, pod_host_a) as pair:
        yield pair
