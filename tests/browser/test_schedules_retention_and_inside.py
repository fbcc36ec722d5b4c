"""Otto puts a schedule on a real counter in the page: it takes checkpoints as ordinary jobs in his name through the
schedule; a retention policy, previewed first, then prunes the older one; the newest checkpoint's inside page
shows the counter's own process, read from its CRIU images."""
import pytest
from playwright.sync_api import expect

from snapshots.models import Checkpoint, Job, RetentionPolicy, Schedule

from ..harness.processes import wait_until
from .conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.engine, pytest.mark.django_db(transaction=True)]


def scheduled_checkpoints(row):
    return list(Checkpoint.objects.filter(container=row, status="present", created_by_name__startswith="schedule ")
                .order_by("created_at"))


def test_a_schedule_made_in_the_page_checkpoints_and_retention_prunes_the_older_one(page, people, host_a,
                                                                                      counter_a):
    engine_container, row = counter_a
    sign_in(page, "otto", "otto-password-1")
    page.goto(f"/containers/{row.pk}/")
    schedules = page.locator("#container-schedules")
    schedules.get_by_label("Or every").fill("4s")
    expect(schedules.get_by_label("Keep running")).to_be_checked()
    schedules.get_by_role("button", name="Add schedule").click()
    expect(page.locator("#notices")).to_contain_text("Scheduled: schedule")
    schedule = Schedule.objects.get(container=row)
    expect(schedules).to_contain_text("every 4s")

    # Two scheduled checkpoints, each an ordinary job requested by the schedule for Otto.
    wait_until(lambda: len(scheduled_checkpoints(row)) >= 2, 120,
                       "two scheduled checkpoints")
    schedules.get_by_role("button", name=f"Pause schedule {schedule.pk}").click()
    expect(schedules.get_by_role("button", name=f"Resume schedule {schedule.pk}")).to_be_visible()
    wait_until(lambda: not Job.objects.filter(container=row, state__in=Job.ENQUEUED_STATES).exists(), 120,
               "the last scheduled job to end")
    jobs = Job.objects.filter(container=row, kind=Job.Kind.CHECKPOINT)
    assert {j.requested_by_name for j in jobs} == {f"schedule {schedule.pk} (otto)"}
    assert all(j.requested_by == people.otto and j.params["leave_running"] for j in jobs)
    kept = scheduled_checkpoints(row)
    newest, older = kept[-1], kept[:-1]
    page.goto(f"/containers/{row.pk}/")
    expect(page.locator("#container-live")).to_contain_text(newest.name)
    screenshot(page, "container-schedules")

    # Retention: keep the last one. The preview names the older ones (and not the newest) before anything is saved.
    page.get_by_role("link", name=f"Retention of {row.name}'s checkpoints").click()
    form = page.locator("#retention-form")
    expect(form.get_by_label("Host")).to_have_value(host_a.name)
    expect(form.get_by_label("Container", exact=True)).to_have_value(row.name)
    form.get_by_label("Keep the last").fill("1")
    form.get_by_role("button", name="Preview").click()
    preview = page.locator("#retention-preview")
    for checkpoint in older:
        expect(preview).to_contain_text(checkpoint.name)
    expect(preview).not_to_contain_text(newest.name)
    assert not RetentionPolicy.objects.exists(), "a preview saves nothing"
    screenshot(page, "retention-preview")
    form.get_by_role("button", name="Save policy").click()
    policy = RetentionPolicy.objects.get()

    wait_until(lambda: all(Checkpoint.objects.get(pk=c.pk).status == "deleted" for c in older), 120,
               "the older scheduled checkpoints to be pruned")
    assert Checkpoint.objects.get(pk=newest.pk).status == "present"
    prunes = Job.objects.filter(container=row, kind=Job.Kind.DELETE_CHECKPOINT)
    assert {j.checkpoint_name for j in prunes} == {c.name for c in older}
    assert {j.requested_by_name for j in prunes} == {f"retention {policy.pk} (otto)"}
    assert all(j.state == Job.State.SUCCEEDED for j in prunes)


def test_the_inside_page_of_a_real_checkpoint_shows_the_counters_process(page, people, host_a, counter_a):
    engine_container, row = counter_a
    sign_in(page, "otto", "otto-password-1")
    page.goto(f"/containers/{row.pk}/")
    page.get_by_label("Checkpoint name").fill("inside-1")
    page.get_by_label("Leave running").check()
    page.get_by_role("button", name="Checkpoint").click()
    wait_until(lambda: Checkpoint.objects.filter(container=row, name="inside-1", status="present").exists(), 120,
               "the checkpoint")
    page.goto(f"/containers/{row.pk}/checkpoints/inside-1/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Inside inside-1")
    processes = page.locator("#held-processes")
    engine_container.reload()
    command = " ".join([engine_container.attrs["Path"], *engine_container.attrs["Args"]])
    expect(processes).to_contain_text(command)  # /counter 16 200, read from the dumped pages
    expect(processes.locator("tbody tr").first).to_contain_text("counter")
    expect(page.locator("#held-criu")).to_contain_text("4.2")
    held = Checkpoint.objects.get(container=row, name="inside-1").contents
    assert held["processes"][0]["pid"] == 1 and held["processes"][0]["cmdline"] == command
    assert held["memory"]["pages"] > 16 * 256, "the counter's 16 MiB were dumped"
    assert any(m["mountpoint"] == "/" for m in held["mounts"]), held["mounts"][:5]
    assert any(f["what"] == "/dev/null" or f["type"] == "PIPE" for f in held["files"]), held["files"][:5]
    if held["stats"]:  # CRIU's stats-dump, where the engine keeps CRIU's work directory
        assert held["stats"]["frozen_time"] > 0
    else:
        expect(page.locator("#held-timing")).to_contain_text("not kept")
    screenshot(page, "inside-a-checkpoint")
