import pytest
from django.utils import timezone

from snapshots.models import AuditEvent, Container, Job

from .conftest import count_queries, grow, htmx, make_checkpoint

pytestmark = pytest.mark.django_db


def test_it_lists_the_hosts_containers_with_their_last_checkpoint(as_vic, fleet):
    make_checkpoint(fleet.db, "db-1-older", ago=timezone.timedelta(days=2))
    content = as_vic.get("/hosts/alpha/").content.decode()
    assert "web-1" in content and "db-1" in content and "cache-1" not in content
    assert "db-1-frozen" in content and "db-1-older" not in content
    assert "postgres:16" in content and '<span class="badge exited">exited</span>' in content


def test_it_sorts_on_the_server_by_the_chosen_column(as_vic, fleet):
    ascending = as_vic.get("/hosts/alpha/?sort=name").content.decode()
    descending = as_vic.get("/hosts/alpha/?sort=-name").content.decode()
    assert ascending.index("db-1") < ascending.index("web-1")
    assert descending.index("web-1") < descending.index("db-1")
    assert 'aria-sort="descending"' in descending


def test_an_unknown_sort_key_falls_back_to_the_name(as_vic, fleet):
    assert as_vic.get("/hosts/alpha/?sort=-password").status_code == 200


def test_it_pages_long_lists(as_vic, fleet):
    grow(fleet, containers=120, jobs=1)
    first = as_vic.get("/hosts/alpha/").content.decode()
    assert "Page 1 of 3" in first and "?page=2" in first
    third = as_vic.get("/hosts/alpha/?page=3").content.decode()
    assert "web-1" in third


def test_removed_containers_show_only_when_asked(as_vic, fleet):
    Container.objects.filter(pk=fleet.db.pk).update(gone_at=timezone.now())
    assert "db-1" not in as_vic.get("/hosts/alpha/").content.decode()
    assert "db-1" in as_vic.get("/hosts/alpha/?gone=1").content.decode()


def test_an_operator_sees_checkpoint_links_only_on_hosts_granted_to_the_team(as_otto, fleet):
    assert 'aria-label="Checkpoint web-1"' in as_otto.get("/hosts/alpha/").content.decode()
    assert 'aria-label="Checkpoint cache-1"' not in as_otto.get("/hosts/beta/").content.decode()


def test_a_viewer_sees_no_actions(as_vic, fleet):
    content = as_vic.get("/hosts/alpha/").content.decode()
    assert "Checkpoint web-1" not in content and "Sync inventory" not in content


def test_an_htmx_request_for_the_table_gets_only_the_table(as_vic, fleet):
    content = as_vic.get("/hosts/alpha/?sort=-name", **htmx("containers-table")).content.decode()
    assert content.lstrip().startswith('<section id="containers-table"') and "<html" not in content


def test_an_unknown_host_is_404(as_vic, fleet):
    assert as_vic.get("/hosts/nope/").status_code == 404


def test_an_operator_asks_for_a_sync(as_otto, fleet, django_capture_on_commit_callbacks, sent):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_otto.post("/hosts/alpha/sync/")
    assert response.status_code == 302
    job = Job.objects.get(kind=Job.Kind.SYNC)
    assert job.requested_by_name == "otto" and sent.call_args.args[0] == str(job.id)


def test_a_viewer_gets_403_when_posting_a_sync_and_it_is_audited(as_vic, fleet):
    assert as_vic.post("/hosts/alpha/sync/").status_code == 403
    assert AuditEvent.objects.filter(actor_name="vic", action="sync", outcome="denied", host_name="alpha").exists()


def test_its_query_count_does_not_grow_with_the_data(as_otto, fleet):
    small = count_queries(as_otto, "/hosts/alpha/?sort=-checkpoint")
    grow(fleet, containers=150)
    assert count_queries(as_otto, "/hosts/alpha/?sort=-checkpoint") == small <= 9
    assert count_queries(as_otto, "/hosts/alpha/?page=2&sort=state") == small
