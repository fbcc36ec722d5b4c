"""Under the Content-Security-Policy, the pages still work in Chromium: htmx requests, swaps and notifications,
the delete dialog, the audit filter, the account page's QR code and the Django admin's widgets, with no CSP
violation reported. A script the policy forbids is reported, which shows the watch works."""
import pytest
from playwright.sync_api import expect

from snapshots.models import Job

from ..web.conftest import make_host
from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.engine, pytest.mark.django_db(transaction=True)]


WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def watched(page):
    page.add_init_script(WATCH)
    console = []
    page.on("console", lambda msg: console.append(msg.text) if "Content Security Policy" in msg.text else None)

    def violations():
        return page.evaluate("window.__cspViolations") + console

    return page, violations


def test_pages_and_htmx_actions_work_under_the_policy(watched, people, host_a, counter_a):
    page, violations = watched
    _engine_container, container = counter_a
    sign_in(page, "otto", "otto-password-1")
    response = page.goto("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]

    page.goto(f"/containers/{container.pk}/")
    page.get_by_label("Checkpoint name").fill("csp-1")
    page.get_by_label("Leave running").check()
    with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true"):
        page.get_by_role("button", name="Checkpoint").click()
    expect(page.locator("#notices")).to_contain_text(f"Requested: checkpoint test-a/{container.name} checkpoint csp-1")
    job = Job.objects.get(checkpoint_name="csp-1")

    page.goto(f"/jobs/{job.id}/")  # its live part follows the job, pushed or polled, with no eval
    expect(page.locator("#job-state")).to_have_text("Succeeded", timeout=60_000)

    page.goto(f"/containers/{container.pk}/")
    page.get_by_role("link", name="Delete checkpoint csp-1").click()
    expect(page.locator("#container-dialog")).to_contain_text("csp-1")
    assert page.url.endswith(f"/containers/{container.pk}/")  # a dialog swapped in by htmx, not a new page

    page.get_by_role("link", name="Audit log", exact=True).click()
    page.get_by_label("Actor").fill("otto")
    with page.expect_response(lambda r: "/audit/" in r.url and r.request.headers.get("hx-request") == "true"):
        page.get_by_label("Actor").press("Enter")
    expect(page.locator("tr.audit-row").first).to_contain_text("otto")
    with page.expect_download() as download:
        page.get_by_role("button", name="CSV").click()  # a POST form, with its CSRF token
    assert "otto" in open(download.value.path(), encoding="utf-8").read()

    page.goto("/account/")
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page.locator(".qr svg")).to_be_visible()
    assert violations() == []


def test_the_admin_works_under_the_policy(watched, people, fleet_for_admin):
    page, violations = watched
    sign_in(page, "ada", "ada-password-1")
    page.goto(f"/admin/snapshots/host/{fleet_for_admin.pk}/change/")
    expect(page.locator("#id_operator_groups_from")).to_be_visible()  # the filter_horizontal widget built by JS
    page.goto("/admin/auth/user/")
    expect(page.get_by_role("link", name="otto")).to_be_visible()
    assert violations() == []


def test_a_forbidden_inline_script_is_reported(watched, people):
    page, violations = watched
    page.goto("/login/")
    try:
        page.add_script_tag(content="window.__ran = true;")
    except Exception:  # noqa: B902 - Playwright may report the blocked script as an error; the watch is checked next
        pass
    assert page.evaluate("window.__ran === undefined")
    assert any(v.startswith("script-src") for v in violations())


@pytest.fixture
def fleet_for_admin(people):
    people.ada.is_staff = people.ada.is_superuser = True
    people.ada.save()
    return people.grant(make_host("admin-host"))
