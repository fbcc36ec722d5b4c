"""Push, not poll: an open page shows a job's change as soon as it is made, and costs no requests while nothing
changes. The dashboard is served as in production (gunicorn with uvicorn's worker class); the job changes the way
the worker API changes it for an agent, through snapshots.jobs.transitions."""
import time
from unittest import mock

import pytest
from playwright.sync_api import expect

from snapshots import services
from snapshots.services import Origin

from ..harness import jobs
from ..harness.web import WebServer
from ..web.conftest import make_container, make_host
from .conftest import sign_in, wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(broker):
    web = WebServer(workers=1).start()
    yield web
    web.stop()


@pytest.fixture
def live_page(browser, server):
    context = browser.new_context(base_url=server.url, viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.requests = []
    page.on("request", lambda r: page.requests.append((time.monotonic(), r.method, r.url, r.resource_type)))
    yield page
    context.close()


@pytest.fixture
def queued(people):
    host = people.grant(make_host("push"))
    container = make_container(host, "push-web")
    with mock.patch("snapshots.jobs.outbox.publish"):
        job = services.checkpoint(people.otto, container, name="pushed", origin=Origin(source="10.0.0.9"))
    return host, container, job


def requests_since(page, t0):
    return [r for r in page.requests if r[0] >= t0]


def wait_for_stream(page):
    wait_for_js(page, "window.cryoLive === true")
    page.wait_for_timeout(300)  # let the catch-up request of a freshly opened stream land


def test_an_open_job_page_shows_each_change_pushed_without_polling(live_page, people, queued):
    page = live_page
    host, _container, job = queued
    sign_in(page, "vic", "vic-password-1")
    page.goto(f"/jobs/{job.id}/")
    expect(page.locator("#job-state")).to_have_text("Queued")
    wait_for_stream(page)

    idle = time.monotonic()
    page.wait_for_timeout(3_000)
    assert requests_since(page, idle) == [], "an open page costs no requests while nothing changes"

    jobs.claim(job)
    t0 = time.monotonic()
    jobs.phase(job, "checkpoint")
    expect(page.locator("#job-live")).to_contain_text("checkpoint · running for", timeout=5_000)
    jobs.phase(job, "checkpoint", seconds=0.5)
    jobs.succeed(job, {"size_bytes": 1234})
    expect(page.locator("#job-state")).to_have_text("Succeeded", timeout=5_000)
    made = [r for r in requests_since(page, t0) if f"/jobs/{job.id}/" in r[2]]
    # One request per pushed change (two phase writes and the end; the last ones may coalesce), never a
    # poll a second: the page would have polled at least once a second otherwise.
    assert 1 <= len(made) <= 3, made

    after = time.monotonic()
    page.wait_for_timeout(2_000)
    assert requests_since(page, after) == [], "a finished job's page goes quiet"


def test_a_job_requested_elsewhere_appears_on_an_open_container_page_and_finishes_there(live_page, people):
    page = live_page
    host = people.grant(make_host("push"))
    container = make_container(host, "push-web")
    sign_in(page, "vic", "vic-password-1")
    page.goto(f"/containers/{container.pk}/")
    expect(page.get_by_text("No jobs for this container yet.")).to_be_visible()
    wait_for_stream(page)

    with mock.patch("snapshots.jobs.outbox.publish"):  # requested from the CLI, say
        job = services.checkpoint(people.otto, container, name="from-cli", origin=Origin.cli())
    row = page.locator(f"#job-{job.id}")
    expect(row).to_have_attribute("data-state", "queued", timeout=5_000)
    jobs.expire(job)
    expect(row).to_have_attribute("data-state", "failed", timeout=5_000)
    expect(row).to_contain_text("expired: no agent of host push took the job")


def test_a_row_of_the_jobs_list_follows_its_job_without_polling(live_page, people, queued):
    page = live_page
    host, _container, job = queued
    sign_in(page, "vic", "vic-password-1")
    page.goto("/jobs/")
    row = page.locator(f"#job-{job.id}")
    expect(row).to_have_attribute("data-state", "queued")
    wait_for_stream(page)
    t0 = time.monotonic()
    jobs.claim(job)
    jobs.phase(job, "checkpoint")
    expect(row).to_have_attribute("data-state", "running", timeout=5_000)
    expect(row).to_contain_text("checkpoint")
    jobs.succeed(job)
    expect(row).to_have_attribute("data-state", "succeeded", timeout=5_000)
    rows = [r for r in requests_since(page, t0) if r[2].endswith(f"/jobs/{job.id}/row/")]
    assert 1 <= len(rows) <= 3, rows


def test_a_page_whose_stream_was_cut_catches_up_on_what_it_missed_once_the_server_is_back(live_page, server, queued):
    page = live_page
    _host, _container, job = queued
    sign_in(page, "vic", "vic-password-1")
    page.goto(f"/jobs/{job.id}/")
    wait_for_stream(page)
    server.stop()  # a restart of the web server: the stream is cut, and the change below is published to nobody
    jobs.expire(job)
    server.start()
    expect(page.locator("#job-state")).to_have_text("Failed", timeout=20_000)
    # The SSE extension retries with a doubling delay (0.5, 1, 2 … 64 s): the longer the restart took, the later the
    # stream is back; the page polls meanwhile, so nothing is missed.
    wait_for_js(page, "window.cryoLive === true", timeout=70)


def test_served_without_push_the_job_page_still_follows_the_job_by_polling(browser, people, queued):
    """Served by WSGI, the stream is answered with 204: the page gives it up and polls every second."""
    _host, _container, job = queued
    wsgi = WebServer(workers=1, asgi=False).start()
    context = browser.new_context(base_url=wsgi.url)
    try:
        page = context.new_page()
        sign_in(page, "vic", "vic-password-1")
        page.goto(f"/jobs/{job.id}/")
        expect(page.locator("#job-state")).to_have_text("Queued")
        jobs.expire(job)
        expect(page.locator("#job-state")).to_have_text("Failed", timeout=5_000)
        assert page.evaluate("window.cryoLive") is False
    finally:
        context.close()
        wsgi.stop()
