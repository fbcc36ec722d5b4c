"""Vic, a viewer, sees no action buttons; a forged POST is refused with 403 and audited as denied."""
import pytest
from playwright.sync_api import expect

from snapshots.models import AuditEvent, Job

from .conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.engine, pytest.mark.django_db(transaction=True)]


def test_a_viewer_sees_no_action_buttons_and_a_direct_post_gets_403_and_is_audited(page, people, host_a, counter_a):
    _engine_container, row = counter_a
    page.goto("/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    screenshot(page, "sign-in")
    sign_in(page, "vic", "vic-password-1")
    page.goto(f"/containers/{row.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(row.name)
    for name in ("Checkpoint", "Restore", "Delete"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_role("link", name="Delete")).to_have_count(0)
    screenshot(page, "container-as-viewer")

    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"/containers/{row.pk}/checkpoint/", form={"name": "sneaky-1"},
        headers={"X-CSRFToken": token, "Referer": page.url},
    )
    assert response.status == 403
    assert "vic may not checkpoint" in response.text()
    assert not Job.objects.exists()
    denied = AuditEvent.objects.get(outcome="denied")
    assert (denied.actor_name, denied.action, denied.host_name, denied.container_name) == (
        "vic", "checkpoint", host_a.name, row.name)
    page.goto("/audit/?outcome=denied")
    expect(page.locator("tr.audit-row.denied")).to_contain_text("vic")
