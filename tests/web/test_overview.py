import pytest

from snapshots.models import Host, Job

from .conftest import count_queries, finish, grow, htmx, make_host

pytestmark = pytest.mark.django_db


def test_it_shows_each_hosts_health(as_vic, fleet):
    Host.objects.filter(pk=fleet.beta.pk).update(criu_ok=False, experimental=False)
    content = as_vic.get("/").content.decode()
    assert '<a href="/hosts/alpha/">alpha</a>' in content and '<a href="/hosts/beta/">beta</a>' in content
    assert "27.5.1" in content and "not ready" in content
    assert '<span class="badge online">online</span>' in content


def test_a_host_without_heartbeat_shows_offline_with_the_reason(as_vic, fleet):
    make_host("gamma", last_seen=None)
    content = as_vic.get("/").content.decode()
    assert '<span class="badge offline">offline</span>' in content
    assert "its agent has not joined yet" in content


def test_with_no_hosts_it_tells_how_a_host_is_added(as_vic, people):
    from django.test import Client

    content = as_vic.get("/").content.decode()
    assert "No hosts yet" in content and "runs the join command" in content and "/add-host/" not in content
    admin = Client()
    admin.force_login(people.ada)
    assert "/add-host/" in admin.get("/").content.decode()


def test_recent_failures_are_highlighted_with_their_error(as_vic, fleet):
    finish(fleet.checkpoint_job(), Job.State.FAILED, error="CRIU failed: dump failed")
    content = as_vic.get("/").content.decode()
    assert "Failed in the last 24 hours" in content and "CRIU failed: dump failed" in content


def test_recent_jobs_are_listed_and_running_ones_poll(as_vic, fleet):
    job = fleet.checkpoint_job()
    content = as_vic.get("/").content.decode()
    assert f'hx-get="/jobs/{job.id}/row/"' in content


def test_the_hosts_part_alone_answers_its_htmx_poll(as_vic, fleet):
    response = as_vic.get("/", **htmx("hosts-health"))
    content = response.content.decode()
    assert 'id="hosts-health"' in content and "<html" not in content


def test_its_query_count_does_not_grow_with_the_data(as_ada, fleet):
    fleet.checkpoint_job()
    small = count_queries(as_ada, "/")
    grow(fleet)
    for i in range(10):
        make_host(f"extra-{i}")
    assert count_queries(as_ada, "/") == small <= 8
