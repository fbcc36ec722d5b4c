"""Pictures: jobs per day on a host page, checkpoint size and duration over time on a container page, each drawn
as SVG with its table of numbers, in a fixed number of queries."""
from datetime import timedelta

from django.utils import timezone

from snapshots.models import Checkpoint, Job

from .conftest import count_queries, grow, make_checkpoint


def test_a_host_page_draws_jobs_per_day_by_outcome_with_the_numbers_in_a_table(as_vic, fleet):
    now = timezone.now()
    for i, state in enumerate(["succeeded", "succeeded", "failed", "succeeded"]):
        Job.objects.create(kind="checkpoint", state=state, host=fleet.alpha, created_at=now - timedelta(days=i // 2))
    Job.objects.create(kind="checkpoint", state="running", host=fleet.alpha, created_at=now)  # not finished
    Job.objects.create(kind="checkpoint", state="failed", host=fleet.beta, created_at=now)  # another host
    content = as_vic.get("/hosts/alpha/").content.decode()
    assert '<svg viewBox="0 0 640 200" class="chart" role="img" aria-label="Jobs per day on alpha' in content
    assert 'fill="url(#hatch)"' in content and "failed (hatched" in content
    today, yesterday = timezone.localdate(), timezone.localdate() - timedelta(days=1)
    assert f'<th scope="row">{today:%a %d %b}</th><td class="num">2</td><td class="num">0</td>' in content
    assert f'<th scope="row">{yesterday:%a %d %b}</th><td class="num">1</td><td class="num">1</td>' in content
    assert f"{yesterday:%a %d %b}: 1 succeeded, 1 failed" in content  # the bar's own tooltip
    assert "1✕" in content  # the failed count is written on the bar, not only coloured


def test_a_container_page_draws_checkpoint_size_and_duration_over_time(as_vic, fleet):
    for i, (mib, ms) in enumerate([(10, 1200), (12, 1500), (30, 4100)]):
        job = Job.objects.create(kind="checkpoint", state="succeeded", host=fleet.alpha, container=fleet.web,
                                 duration_ms=ms)
        Checkpoint.objects.create(container=fleet.web, name=f"cp-{i}", exit=False, size_bytes=mib * 2**20, job=job,
                                  created_at=timezone.now() - timedelta(hours=3 - i))
    content = as_vic.get(f"/containers/{fleet.web.pk}/").content.decode()
    assert 'aria-label="Checkpoint size of web-1, oldest to newest"' in content
    assert 'aria-label="Checkpoint duration of web-1, oldest to newest"' in content
    assert content.count('class="mark"/></g>') == 6  # a marker per checkpoint in each picture
    assert "30 MiB</text>" in content and "4.1 s</text>" in content  # the newest value is written out
    assert '<th scope="row">cp-2</th>' in content and '<td class="num">30.0</td><td class="num">4.1</td>' in content


def test_the_live_refresh_of_a_container_page_does_not_redraw_the_pictures(as_vic, fleet):
    make_checkpoint(fleet.web, "cp-1")
    part = as_vic.get(f"/containers/{fleet.web.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="container-live")
    assert "Checkpoints over time" not in part.content.decode()


def test_pictures_cost_the_same_queries_whatever_the_history(as_vic, fleet):
    host_before = count_queries(as_vic, "/hosts/alpha/")
    container_before = count_queries(as_vic, f"/containers/{fleet.web.pk}/")
    grow(fleet)
    assert count_queries(as_vic, "/hosts/alpha/") == host_before
    assert count_queries(as_vic, f"/containers/{fleet.web.pk}/") == container_before
