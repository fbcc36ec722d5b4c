"""The Prometheus endpoint: token protected, and its numbers are the database's, in a fixed number of queries."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from snapshots.models import Archive, Checkpoint, Job

from .conftest import grow, make_checkpoint, make_container, make_host

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture(autouse=True)
def token(settings):
    settings.CRYO_METRICS_TOKEN = TOKEN


def scrape(client, token=TOKEN):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


def job(host, kind="checkpoint", state="succeeded", *, wait=None, seconds=None, result=None, target=None):
    now = timezone.now()
    created = now - timedelta(minutes=10)
    started = created + timedelta(seconds=wait) if wait is not None else None
    return Job.objects.create(
        kind=kind, state=state, host=host, target_host=target, created_at=created, started_at=started,
        finished_at=started + timedelta(seconds=seconds) if seconds is not None else None,
        duration_ms=int(seconds * 1000) if seconds is not None else None, result=result or {},
    )


@pytest.fixture
def rows(fleet):
    alpha, beta = fleet.alpha, fleet.beta
    job(alpha, wait=0.2, seconds=1.5)
    job(alpha, wait=3, seconds=40)
    job(alpha, state="failed", wait=0.05, seconds=0.3)
    job(alpha, kind="restore", wait=0.4, seconds=2.5)
    job(beta, state="queued")
    job(alpha, state="running", wait=0.7)
    job(alpha, kind="migrate", wait=0.1, seconds=9, target=beta, result={"downtime_seconds": 0.8})
    job(alpha, kind="migrate", wait=0.1, seconds=12, target=beta, result={"downtime_seconds": 3.25})
    job(alpha, kind="migrate", state="failed", wait=0.1, seconds=1, target=beta, result={"downtime_seconds": None})
    kept = make_checkpoint(fleet.web, "a-1")
    Checkpoint.objects.filter(pk=kept.pk).update(size_bytes=1000)
    Archive.objects.create(kind="checkpoint", state="complete", writer=alpha, checkpoint=kept, name="a.tar.zst",
                           size=400)
    make_checkpoint(fleet.cache, "b-1")
    gone = make_checkpoint(fleet.cache, "b-gone")
    Checkpoint.objects.filter(pk=gone.pk).update(status=Checkpoint.Status.DELETED)
    return fleet


def test_a_scrape_without_the_token_is_refused(client, rows):
    assert client.get("/metrics").status_code == 401
    refused = client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert b"cryo_jobs" not in refused.content
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401


def test_a_signed_in_admin_without_the_token_is_refused_too(as_ada, rows):
    assert as_ada.get("/metrics").status_code == 401


def test_metrics_are_off_without_a_configured_token(client, settings, rows):
    settings.CRYO_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_job_counts_and_durations_match_the_rows(client, rows):
    s = scrape(client)
    assert value(s, "cryo_jobs_total", kind="checkpoint", host="alpha", outcome="succeeded") == 2
    assert value(s, "cryo_jobs_total", kind="checkpoint", host="alpha", outcome="failed") == 1
    assert value(s, "cryo_jobs_total", kind="restore", host="alpha", outcome="succeeded") == 1
    assert value(s, "cryo_jobs_in_flight", kind="checkpoint", host="beta", state="queued") == 1
    assert value(s, "cryo_jobs_in_flight", kind="checkpoint", host="alpha", state="running") == 1
    labels = dict(kind="checkpoint", host="alpha", outcome="succeeded")
    assert value(s, "cryo_job_duration_seconds_count", **labels) == 2
    assert value(s, "cryo_job_duration_seconds_sum", **labels) == pytest.approx(41.5)
    assert value(s, "cryo_job_duration_seconds_bucket", le="2.0", **labels) == 1
    assert value(s, "cryo_job_duration_seconds_bucket", le="30.0", **labels) == 1
    assert value(s, "cryo_job_duration_seconds_bucket", le="60.0", **labels) == 2
    assert value(s, "cryo_job_duration_seconds_bucket", le="+Inf", **labels) == 2


def test_queue_wait_counts_every_started_job_of_a_kind_and_host(client, rows):
    s = scrape(client)
    # checkpoint on alpha: waits 0.2, 3, 0.05 (finished) and 0.7 (running)
    labels = dict(kind="checkpoint", host="alpha")
    assert value(s, "cryo_job_queue_wait_seconds_count", **labels) == 4
    assert value(s, "cryo_job_queue_wait_seconds_sum", **labels) == pytest.approx(3.95, abs=1e-3)
    assert value(s, "cryo_job_queue_wait_seconds_bucket", le="0.25", **labels) == 2
    assert value(s, "cryo_job_queue_wait_seconds_bucket", le="1.0", **labels) == 3
    assert value(s, "cryo_job_queue_wait_seconds_bucket", le="+Inf", **labels) == 4
    assert value(s, "cryo_job_queue_wait_seconds_count", kind="checkpoint", host="beta") == 0  # queued, not started


def test_migration_downtime_comes_from_the_jobs_results(client, rows):
    s = scrape(client)
    labels = dict(host="alpha", target_host="beta", outcome="succeeded")
    assert value(s, "cryo_migration_downtime_seconds_count", **labels) == 2
    assert value(s, "cryo_migration_downtime_seconds_sum", **labels) == pytest.approx(4.05)
    assert value(s, "cryo_migration_downtime_seconds_bucket", le="1.0", **labels) == 1
    assert value(s, "cryo_migration_downtime_seconds_bucket", le="5.0", **labels) == 2
    assert ("cryo_migration_downtime_seconds_count",
            tuple(sorted(dict(host="alpha", target_host="beta", outcome="failed").items()))) not in s


def test_host_status_and_checkpoint_bytes_per_host(client, rows):
    from snapshots.models import Host

    Host.objects.filter(name="beta").update(last_seen=timezone.now() - timedelta(hours=1), drained=True)
    make_host("gamma", status=Host.Status.DEGRADED, free_bytes=123_456)
    s = scrape(client)
    assert value(s, "cryo_host_status", host="alpha", status="online") == 1
    assert value(s, "cryo_host_status", host="beta", status="online") == 0
    assert value(s, "cryo_host_status", host="beta", status="offline") == 1  # its heartbeat is an hour old
    assert value(s, "cryo_host_status", host="gamma", status="degraded") == 1
    assert value(s, "cryo_host_drained", host="beta") == 1
    assert value(s, "cryo_host_free_bytes", host="gamma") == 123_456
    # alpha: db-1-frozen (17,000,000) and a-1 (1,000); beta: b-1 (17,000,000); the deleted one does not count.
    assert value(s, "cryo_checkpoint_bytes", host="alpha") == 17_001_000
    assert value(s, "cryo_checkpoints", host="alpha") == 2
    assert value(s, "cryo_checkpoint_bytes", host="beta") == 17_000_000
    assert value(s, "cryo_checkpoints", host="beta") == 1
    assert value(s, "cryo_checkpoint_archive_bytes", host="alpha") == 400


def test_a_scrape_costs_the_same_queries_whatever_the_number_of_rows(client, rows):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            scrape(client)
        return len(captured)

    before = queries()
    grow(rows, containers=30, jobs=60)
    for i in range(5):
        make_container(make_host(f"more-{i}"), f"c-{i}")
    assert queries() == before == 5


def test_the_grafana_dashboard_only_plots_metrics_the_endpoint_serves(client, rows):
    import json
    import re

    from django.conf import settings

    from snapshots.models import Host

    Host.objects.filter(name="alpha").update(free_bytes=10**9)
    dashboard = json.loads((settings.BASE_DIR / "deploy" / "grafana" / "cryo-dashboard.json").read_text())
    plotted = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"\bcryo_[a-z_]+", target["expr"])}
    served = {name for name, _labels in scrape(client)}
    assert plotted and plotted <= served, plotted - served
