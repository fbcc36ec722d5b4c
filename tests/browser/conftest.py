"""Browser tests: Debian's Chromium driven by Playwright against the dashboard as gunicorn serves it, with real
agents and the real engine."""
import os
import time
from pathlib import Path

import pytest
from django.conf import settings

from ..conftest import running_counter
from ..harness.engine import in_ci

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make in between are safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing; run deploy/browser.sh (apt-get install chromium)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, dashboard):
    context = browser.new_context(
        base_url=dashboard.url, viewport={"width": 1360, "height": 900}, timezone_id="Europe/Berlin",
        locale="en-GB", accept_downloads=True,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, username, password):
    page.goto("/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    return page


def wait_for_js(page, expression, timeout=15):
    """Wait until a JavaScript expression is true in the page. Playwright's wait_for_function compiles its predicate
    in the page, which the dashboard's Content-Security-Policy (no eval) refuses; evaluate is not subject to it."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"{expression} was still false after {timeout} s")
        page.wait_for_timeout(50)


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def big_counter_a(daemon_a, host_a):
    """A counter holding 192 MiB, so that its checkpoint runs long enough to be watched while it runs."""
    with running_counter(daemon_a, host_a, mib=192) as pair:
        yield pair
