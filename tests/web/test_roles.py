"""The role matrix, through the browser's own URLs: who gets what for each action on each host.

alpha is granted to team-a (Otto's team); beta to nobody. Ada is an admin, Vic a viewer."""
import pytest

from snapshots.models import AuditEvent, Job

pytestmark = pytest.mark.django_db

ACTIONS = {
    "checkpoint": lambda c: (f"/containers/{c.pk}/checkpoint/", {"name": f"{c.name}-matrix"}),
    "restore": lambda c: (f"/containers/{c.pk}/restore/", {"checkpoint": "m-1"}),
    "delete_checkpoint": lambda c: (f"/containers/{c.pk}/checkpoints/m-1/delete/", {}),
    "sync": lambda c: (f"/hosts/{c.host.name}/sync/", {}),
}

# (persona, host) -> allowed?
MATRIX = {
    ("ada", "alpha"): True, ("ada", "beta"): True,
    ("otto", "alpha"): True, ("otto", "beta"): False,
    ("vic", "alpha"): False, ("vic", "beta"): False,
}


@pytest.fixture
def stopped(fleet):
    """A stopped container on each host, each with a checkpoint m-1, so every action is valid for an allowed person."""
    from .conftest import make_checkpoint, make_container

    made = {"alpha": make_container(fleet.alpha, "m-alpha", state="exited"),
            "beta": make_container(fleet.beta, "m-beta", state="exited")}
    for container in made.values():
        make_checkpoint(container, "m-1")
    return made


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("persona, host", MATRIX)
def test_the_role_matrix(client, people, stopped, persona, host, action):
    client.force_login(getattr(people, persona))
    container = stopped[host]
    if action == "checkpoint":
        container.state = "running"
        container.save(update_fields=["state"])
    path, data = ACTIONS[action](container)
    response = client.post(path, data)
    if MATRIX[(persona, host)]:
        assert response.status_code == 302, response.content[:400]
        assert Job.objects.filter(kind=action, requested_by_name=persona).count() == 1
        assert not AuditEvent.objects.filter(outcome="denied").exists()
    else:
        assert response.status_code == 403
        assert not Job.objects.exists()
        denied = AuditEvent.objects.get(outcome="denied")
        assert (denied.actor_name, denied.action, denied.host_name) == (persona, action, host)


@pytest.mark.parametrize("persona", ["ada", "otto", "vic"])
def test_everyone_signed_in_reads_every_page(client, people, fleet, persona):
    client.force_login(getattr(people, persona))
    for url in ["/", "/hosts/alpha/", "/hosts/beta/", f"/containers/{fleet.cache.pk}/", "/jobs/", "/audit/",
                "/search/?q=1", "/account/"]:
        assert client.get(url).status_code == 200, url
    assert client.post("/audit/export.csv").status_code == 200
