import pytest
from django.utils import timezone

from snapshots.models import Job

from .conftest import count_queries, finish, grow, htmx

pytestmark = pytest.mark.django_db


def test_it_lists_jobs_newest_first(as_vic, fleet):
    first = finish(fleet.checkpoint_job(name="first-one"))
    second = fleet.checkpoint_job(container=fleet.cache, name="second-one")
    content = as_vic.get("/jobs/").content.decode()
    assert content.index(str(second.id)) < content.index(str(first.id))


@pytest.mark.parametrize("query, shown, hidden", [
    ("host=beta", "on-beta", "by-ada"),
    ("person=otto", "db-1-frozen", "by-ada"),
    ("kind=restore", "db-1-frozen", "on-beta"),
    ("state=failed", "by-ada", "on-beta"),
])
def test_it_filters_by_host_person_kind_and_state(as_vic, fleet, people, query, shown, hidden):
    finish(fleet.checkpoint_job(name="by-ada"), Job.State.FAILED, error="x")
    fleet.checkpoint_job(container=fleet.cache, name="on-beta")
    from snapshots import services
    from snapshots.services import Origin

    services.restore(people.otto, fleet.frozen, origin=Origin(source="t"))
    content = as_vic.get(f"/jobs/?{query}").content.decode()
    assert shown in content and hidden not in content


def test_running_rows_poll_and_finished_rows_do_not(as_vic, fleet):
    running = fleet.checkpoint_job()
    Job.objects.filter(pk=running.pk).update(state=Job.State.RUNNING, started_at=timezone.now(), phase="checkpoint")
    done = finish(fleet.checkpoint_job(container=fleet.cache))
    content = as_vic.get("/jobs/").content.decode()
    assert f'hx-get="/jobs/{running.id}/row/"' in content and f'hx-get="/jobs/{done.id}/row/"' not in content
    assert "checkpoint, " in content


def test_pages_go_older_and_back_newer_by_key(as_vic, fleet):
    grow(fleet, jobs=120)
    first = as_vic.get("/jobs/")
    older = first.context["page"].older
    assert older and not first.context["page"].newer
    second = as_vic.get("/jobs/", {"before": older})
    page = second.context["page"]
    assert page.rows[0].created_at <= first.context["page"].rows[-1].created_at
    assert not set(r.pk for r in page.rows) & set(r.pk for r in first.context["page"].rows)
    back = as_vic.get("/jobs/", {"after": page.newer}).context["page"]
    assert [r.pk for r in back.rows] == [r.pk for r in first.context["page"].rows]


def test_a_broken_cursor_shows_the_first_page(as_vic, fleet):
    assert as_vic.get("/jobs/?before=garbage").status_code == 200


def test_the_filter_form_gets_only_the_table_over_htmx(as_vic, fleet):
    content = as_vic.get("/jobs/?state=queued", **htmx("jobs-table")).content.decode()
    assert content.lstrip().startswith('<section id="jobs-table"')


def test_its_query_count_does_not_grow_with_the_data(as_vic, fleet):
    fleet.checkpoint_job()
    small = count_queries(as_vic, "/jobs/")
    grow(fleet, jobs=150)
    assert count_queries(as_vic, "/jobs/") == small <= 6
    assert count_queries(as_vic, "/jobs/?host=alpha&state=succeeded&kind=checkpoint&person=ada") <= small
