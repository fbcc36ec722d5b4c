"""Ada moves a running container to another host from the browser: pre-flight, confirm, phases, downtime."""
import pytest
from playwright.sync_api import expect

from snapshots.models import Job

from ..harness.engine import wait_for_ticks
from .conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.engine, pytest.mark.multihost, pytest.mark.django_db(transaction=True)]


def test_an_admin_checks_the_preflight_and_migrates_a_container_to_the_other_host(
    page, people, host_a, host_b, counter_a, daemon_b
):
    engine_container, row = counter_a
    seed = wait_for_ticks(engine_container, 4).starts[0][0]
    sign_in(page, "ada", "ada-password-1")
    page.goto(f"/containers/{row.pk}/")

    page.get_by_label("To host").select_option("test-b")
    page.get_by_role("button", name="Check migration").click()
    preflight = page.get_by_role("table", name="Pre-flight checks for test-b")
    expect(preflight).to_contain_text("target ready")
    expect(preflight).to_contain_text("tty")
    assert not Job.objects.exists(), "nothing runs before the person confirms"
    screenshot(page, "migrate-preflight")

    page.get_by_role("button", name="Migrate", exact=True).click()
    expect(page.locator("#notices")).to_contain_text("Requested: migrate")
    job = Job.objects.get(kind=Job.Kind.MIGRATE)
    expect(page.locator(f"#job-{job.id}")).to_have_attribute("data-state", "succeeded", timeout=120_000)

    page.goto(f"/jobs/{job.id}/")
    expect(page.locator("#job-state")).to_have_text("Succeeded")
    phases = page.locator("ol.phases")
    for name in ("checkpoint", "export", "transfer", "import", "restore", "cleanup"):
        expect(phases).to_contain_text(name)
    expect(page.locator("#job-downtime")).to_contain_text("downtime")
    screenshot(page, "job-migration")

    moved = daemon_b.client.containers.get(row.name)
    log = wait_for_ticks(moved, 8)
    assert not log.starts and log.seeds == {seed} and log.all_memory_ok and log.ticks[0][0] > 1
    moved.remove(force=True)

    page.goto("/hosts/test-b/")
    expect(page.get_by_role("button", name="Drain")).to_be_visible()
    screenshot(page, "host-admin")
