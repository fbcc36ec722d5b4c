import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from snapshots.models import AuditEvent

from .conftest import count_queries, grow

pytestmark = pytest.mark.django_db


def event(actor="ada", action="checkpoint", outcome="succeeded", host="alpha", container="web-1", at=None, **kw):
    return AuditEvent.objects.create(actor_name=actor, action=action, outcome=outcome, host_name=host,
                                     container_name=container, at=at or timezone.now(), **kw)


def test_it_lists_who_did_what_newest_first(as_vic, fleet):
    event(actor="ada", at=timezone.now() - timedelta(hours=1), checkpoint_name="older-one")
    event(actor="otto", action="restore", checkpoint_name="newer-one")
    content = as_vic.get("/audit/").content.decode()
    assert content.index("newer-one") < content.index("older-one")
    assert "alpha/web-1:newer-one" in content


@pytest.mark.parametrize("query, count", [
    ("actor=otto", 1), ("action=restore", 2), ("host=beta", 1), ("container=db-1", 1), ("outcome=denied", 1),
    ("actor=ada&outcome=succeeded", 1), ("", 4),
])
def test_it_filters_by_actor_action_host_container_and_outcome(as_vic, fleet, query, count):
    accounts = AuditEvent.objects.count()  # the personas' accounts and teams, made by the fixtures
    if not query:
        count += accounts
    event()
    event(actor="otto", action="restore")
    event(action="restore", host="beta", container="cache-1", outcome="failed")
    event(actor="vic", container="db-1", outcome="denied")
    assert len(as_vic.get(f"/audit/?{query}").context["page"].rows) == count


def test_the_date_range_includes_both_days_in_the_viewers_time_zone(as_vic, fleet):
    tokyo = timezone.datetime(2026, 3, 10, 23, 30, tzinfo=timezone.get_fixed_timezone(9 * 60))
    event(at=tokyo, checkpoint_name="late-in-tokyo")
    as_vic.cookies["tz"] = "Asia/Tokyo"
    assert len(as_vic.get("/audit/?since=2026-03-10&until=2026-03-10").context["page"].rows) == 1
    assert len(as_vic.get("/audit/?since=2026-03-11&action=checkpoint").context["page"].rows) == 0
    as_vic.cookies["tz"] = "UTC"
    assert len(as_vic.get("/audit/?since=2026-03-10&until=2026-03-10").context["page"].rows) == 1
    assert len(as_vic.get("/audit/?until=2026-03-09").context["page"].rows) == 0


def test_a_bad_date_is_reported_not_a_crash(as_vic, fleet):
    response = as_vic.get("/audit/?since=yesterday")
    assert response.status_code == 200 and "Enter a valid date" in response.content.decode()


def test_the_csv_export_streams_the_filtered_events(as_vic, fleet):
    event(actor="otto", checkpoint_name="cp-1", details={"size_bytes": 5})
    event(actor="vic", outcome="denied", details={"reason": "vic may not checkpoint"})
    response = as_vic.post("/audit/export.csv", {"actor": "otto"})
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="cryo-audit-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    assert (rows[0]["actor_name"], rows[0]["checkpoint_name"], json.loads(rows[0]["details"])) == (
        "otto", "cp-1", {"size_bytes": 5})


def test_the_json_export_is_one_valid_array(as_vic, fleet):
    for i in range(5):
        event(checkpoint_name=f"j-{i}")
    response = as_vic.post("/audit/export.json", {"action": "checkpoint"})
    data = json.loads(b"".join(response.streaming_content))
    assert [e["checkpoint_name"] for e in data] == [f"j-{i}" for i in reversed(range(5))]


def test_the_export_form_carries_the_filters_but_not_the_page(as_vic, fleet):
    content = as_vic.get("/audit/?actor=otto&before=x").content.decode()
    form = content[content.index('<form class="exports"'):]
    form = form[:form.index("</form>")]
    assert 'method="post" action="/audit/export.csv"' in form and 'formaction="/audit/export.json"' in form
    assert '<input type="hidden" name="actor" value="otto">' in form and 'name="before"' not in form
    assert 'name="csrfmiddlewaretoken"' in form


def test_a_get_of_an_export_is_refused_and_writes_nothing(as_vic, fleet):
    before = AuditEvent.objects.count()
    assert as_vic.get("/audit/export.csv?actor=otto").status_code == 405
    assert AuditEvent.objects.count() == before


def test_an_export_without_the_csrf_token_is_refused_and_writes_nothing(client, people, fleet):
    from django.test import Client

    forged = Client(enforce_csrf_checks=True)
    forged.force_login(people.vic)
    before = AuditEvent.objects.count()
    assert forged.post("/audit/export.csv", {"actor": "otto"}).status_code == 403
    assert AuditEvent.objects.count() == before


def test_pages_go_older_by_key(as_vic, fleet):
    grow(fleet, jobs=60)
    first = as_vic.get("/audit/").context["page"]
    second = as_vic.get("/audit/", {"before": first.older}).context["page"]
    assert second.rows and second.rows[0].at <= first.rows[-1].at
    assert not {e.pk for e in first.rows} & {e.pk for e in second.rows}


def test_its_query_count_does_not_grow_with_the_data(as_vic, fleet):
    event()
    small = count_queries(as_vic, "/audit/")
    grow(fleet, jobs=150)
    assert count_queries(as_vic, "/audit/") == small <= 5
    assert count_queries(as_vic, "/audit/?actor=ada&outcome=succeeded&since=2020-01-01") == small


def test_exporting_is_itself_audited_with_the_filters(as_vic, fleet):
    b"".join(as_vic.post("/audit/export.json", {"actor": "otto"}).streaming_content)
    event = AuditEvent.objects.filter(action="audit.export").get()
    assert (event.actor_name, event.outcome, event.details["format"]) == ("vic", "succeeded", "json")
    assert event.details["filters"] == {"actor_name": "otto"}


def test_cells_a_spreadsheet_would_run_as_formulas_are_quoted(as_vic, fleet):
    from snapshots.services import audit as audit_trail

    audit_trail.record(actor=None, action="checkpoint", outcome="failed", host="alpha",
                       container_name="=HYPERLINK(\"http://x\")")
    rows = list(csv.reader(io.StringIO(b"".join(as_vic.post("/audit/export.csv").streaming_content).decode())))
    names = [row[rows[0].index("container_name")] for row in rows[1:]]
    assert "'=HYPERLINK(\"http://x\")" in names and not any(n.startswith("=") for n in names)
