"""With JavaScript off, the pages are plain HTML links and forms: sign in, search, checkpoint, confirm a delete."""
import pytest
from playwright.sync_api import expect

from snapshots.models import Job

from ..harness.jobs import wait_for_job
from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def plain_page(browser, dashboard):
    context = browser.new_context(base_url=dashboard.url, java_script_enabled=False)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_an_operator_works_with_plain_links_and_forms(plain_page, people, host_a, counter_a):
    page = plain_page
    _engine_container, container = counter_a
    sign_in(page, "otto", "otto-password-1")
    page.get_by_role("searchbox", name="Find a container by name or id").fill(container.name)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=container.name, exact=True).click()
    page.get_by_label("Checkpoint name").fill("plain-1")
    page.get_by_label("Leave running").check()
    page.get_by_role("button", name="Checkpoint").click()
    expect(page.locator("#notices")).to_contain_text(
        f"Requested: checkpoint test-a/{container.name} checkpoint plain-1")
    assert page.url.endswith(f"/containers/{container.pk}/")
    expect(page.locator("tr.job")).to_contain_text("plain-1")
    assert wait_for_job(Job.objects.get(kind="checkpoint")).state == "succeeded"

    page.goto(f"/search/?q={container.name}")
    page.get_by_role("link", name=container.name, exact=True).click()
    page.get_by_role("link", name="Delete checkpoint plain-1").click()
    expect(page.get_by_role("heading", name="Delete checkpoint plain-1?")).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    expect(page.locator("#notices")).to_contain_text("Requested: delete checkpoint")
    assert set(Job.objects.values_list("kind", "requested_by_name")) == {
        ("checkpoint", "otto"), ("delete_checkpoint", "otto")}
