"""Otto, an operator, checkpoints and restores a real container from the browser, watching the jobs live."""
import re

import pytest
from playwright.sync_api import expect

from snapshots.models import Checkpoint, Job

from ..harness.engine import counter_log, wait_for_ticks
from .conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.engine, pytest.mark.django_db(transaction=True)]

# Records every state a job row shows, so the test can tell it saw "running" between "queued" and the end.
WATCH_JOB_STATES = """
window.cryoSeen = [];
window.cryoPageId = Math.random();
new MutationObserver(() => {
  document.querySelectorAll("tr.job[data-state]").forEach((row) => {
    const entry = row.id + ":" + row.dataset.state;
    if (!window.cryoSeen.includes(entry)) { window.cryoSeen.push(entry); }
  });
}).observe(document.body, {subtree: true, childList: true, attributes: true});
"""


def states_seen(page, job):
    return [e.split(":", 1)[1] for e in page.evaluate("window.cryoSeen") if e.startswith(f"job-{job.id}:")]


def test_an_operator_finds_checkpoints_and_restores_a_container_without_reloading(page, people, host_a, big_counter_a):
    engine_container, row = big_counter_a
    wait_for_ticks(engine_container, 5)
    seed = counter_log(engine_container).starts[0][0]

    sign_in(page, "otto", "otto-password-1")
    page.get_by_role("searchbox", name="Find a container by name or id").fill(row.name[:12])
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="Find a container")).to_be_visible()
    screenshot(page, "search")
    page.get_by_role("link", name=row.name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(row.name)

    page.evaluate(WATCH_JOB_STATES)
    page_id = page.evaluate("window.cryoPageId")
    name_box = page.get_by_label("Checkpoint name")
    assert name_box.input_value().startswith(f"{row.name}-20"), "the name is suggested"
    name_box.fill("browser-1")
    expect(page.get_by_label("Leave running")).not_to_be_checked()
    page.get_by_role("button", name="Checkpoint").click()

    expect(page.locator("#notices")).to_contain_text("Requested: checkpoint")
    job = Job.objects.get(kind=Job.Kind.CHECKPOINT, checkpoint_name="browser-1")
    job_row = page.locator(f"#job-{job.id}")
    expect(job_row).to_have_attribute("data-state", "succeeded", timeout=120_000)
    assert "running" in states_seen(page, job), f"the row went {states_seen(page, job)}"
    expect(page.locator("#notices")).to_contain_text("Succeeded: checkpoint")
    expect(page.locator("#container-state")).to_have_text("exited", timeout=30_000)
    frozen_at = counter_log(engine_container).last_tick
    assert Checkpoint.objects.get(container=row, name="browser-1").created_by_name == "otto"
    screenshot(page, "container-after-checkpoint")

    page.get_by_label("Checkpoint to restore").select_option("browser-1")
    page.get_by_role("button", name="Restore").click()
    expect(page.locator("#notices")).to_contain_text("Requested: restore")
    restore = Job.objects.get(kind=Job.Kind.RESTORE)
    expect(page.locator(f"#job-{restore.id}")).to_have_attribute("data-state", "succeeded", timeout=120_000)
    expect(page.locator("#container-state")).to_have_text("running", timeout=30_000)
    assert page.evaluate("window.cryoPageId") == page_id, "the page was never reloaded"
    screenshot(page, "container")

    log = wait_for_ticks(engine_container, frozen_at + 5)
    assert len(log.starts) == 1, "the program did not start over"
    assert log.seeds == {seed} and log.all_memory_ok
    resumed = [n for n, _s, _ok in log.ticks if n > frozen_at]
    assert resumed[0] == frozen_at + 1, f"the count continues at {frozen_at + 1}, got {resumed[:3]}"

    page.get_by_role("link", name=f"Job {restore.short_id}: Restore").click()
    expect(page.locator("#job-state")).to_have_text("Succeeded")
    expect(page.locator("#job-live")).to_contain_text("otto")
    expect(page.locator("#job-live")).to_contain_text(re.compile(r"\d\d:\d\d:\d\d CES?T")), "in the viewer's zone"
    screenshot(page, "job")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
    expect(page.locator(f"#job-{job.id}")).to_be_visible()
    screenshot(page, "jobs")
    page.locator(f"#job-{job.id}").get_by_role("link", name=host_a.name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(host_a.name)
    screenshot(page, "host")
    page.get_by_role("link", name="Overview").first.click()
    expect(page.locator(f"#job-{restore.id}")).to_be_visible()
    screenshot(page, "overview")
