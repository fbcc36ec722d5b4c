"""Job events pushed to pages (GET /events/), and the dashboard served as in production: gunicorn with uvicorn's
worker class, where event streams hold no thread and the pages, the admin and static files work as before."""
import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client


from ..harness.jobs import expire
from ..harness.web import WebServer


def test_the_stream_refuses_a_visitor_who_is_not_signed_in(client):
    assert client.get("/events/").status_code == 401


def test_served_by_wsgi_the_stream_answers_204_and_the_page_keeps_polling(as_vic):
    assert as_vic.get("/events/").status_code == 204


# -- served as in production -------------------------------------------------------------------------
pytestmark_live = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(broker):
    web = WebServer(workers=1).start()
    yield web
    web.stop()


def session_of(user):
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def get(server, path, session=None, timeout=10):
    request = urllib.request.Request(server.url + path)
    if session:
        request.add_header("Cookie", f"sessionid={session}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace"), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace"), dict(exc.headers)


def post(server, path, session, timeout=10):
    """A form POST with the session and the CSRF token a browser would send."""
    token = "t" * 32
    request = urllib.request.Request(server.url + path, data=f"csrfmiddlewaretoken={token}".encode(), method="POST",
                                     headers={"Cookie": f"sessionid={session}; csrftoken={token}",
                                              "Content-Type": "application/x-www-form-urlencoded",
                                              "Referer": server.url + "/audit/"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace"), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace"), dict(exc.headers)


class Stream:
    """An SSE client: reads `event:`/`data:` messages from an open /events/ response."""

    def __init__(self, server, session, timeout=10):
        request = urllib.request.Request(server.url + "/events/", headers={"Cookie": f"sessionid={session}",
                                                                           "Accept": "text/event-stream"})
        self.response = urllib.request.urlopen(request, timeout=timeout)
        self.first = self.response.readline().decode()

    def next_event(self):
        name = None
        while True:
            line = self.response.readline().decode()
            if not line:
                raise AssertionError("the stream ended")
            if line.startswith("event: "):
                name = line[7:].strip()
            elif line.startswith("data: ") and name:
                return name, json.loads(line[6:])

    def close(self):
        self.response.close()


@pytestmark_live
def test_pages_the_admin_and_static_files_are_served(server, fleet):
    fleet.people.ada.is_staff = True
    fleet.people.ada.save(update_fields=["is_staff"])
    ada = session_of(fleet.people.ada)
    assert get(server, "/login/")[0] == 200
    status, body, headers = get(server, "/static/vendor/htmx/htmx-ext-sse.min.js")
    assert status == 200 and 'defineExtension("sse"' in body
    assert get(server, "/static/cryo/cryo.css")[0] == 200
    status, body, _ = get(server, "/", ada)
    assert status == 200 and "alpha" in body
    status, body, _ = get(server, f"/containers/{fleet.web.pk}/", ada)
    assert status == 200 and 'sse-connect="/events/"' in body
    status, body, _ = get(server, "/admin/", ada)
    assert status == 200 and "Site administration" in body
    status, body, _ = get(server, "/admin/")
    assert status == 200 and 'name="password"' in body  # the admin signs in through Cryo's sign-in


@pytestmark_live
def test_a_job_requested_and_failed_the_way_a_worker_fails_it_reaches_an_open_stream(server, fleet):
    stream = Stream(server, session_of(fleet.people.vic))
    try:
        assert stream.first.startswith("retry: ")
        job = fleet.checkpoint_job(name="pushed-1")
        name, event = stream.next_event()
        assert name == "job" and event["job"] == str(job.id)
        assert event["state"] == "queued" and event["container"] == fleet.web.pk
        expire(job)
        name, event = stream.next_event()
        assert (name, event["job"], event["state"], event["host"]) == ("job", str(job.id), "failed", "alpha")
    finally:
        stream.close()


@pytestmark_live
def test_the_stream_refuses_a_visitor_who_is_not_signed_in_under_asgi_too(server, fleet):
    assert get(server, "/events/")[0] == 401


@pytestmark_live
def test_many_open_streams_do_not_keep_pages_from_being_served(server, fleet):
    """Twelve open pages: more than the old server's 8 threads (2 workers x 4 threads), here with one process."""
    session = session_of(fleet.people.vic)
    streams = [Stream(server, session) for _ in range(12)]
    try:
        t0 = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: get(server, "/jobs/", session, timeout=10)[0], range(8)))
        assert answers == [200] * 8 and time.monotonic() - t0 < 10
        job = fleet.checkpoint_job(name="to-all")
        for stream in streams:
            assert stream.next_event()[1]["job"] == str(job.id)
    finally:
        for stream in streams:
            stream.close()


@pytestmark_live
def test_the_audit_export_streams_under_asgi_without_reading_everything_first(server, fleet):
    from snapshots.models import AuditEvent

    AuditEvent.objects.bulk_create(AuditEvent(actor_name="ada", action="checkpoint", outcome="succeeded",
                                              host_name="alpha", container_name=f"c-{i}") for i in range(3000))
    status, body, headers = post(server, "/audit/export.csv", session_of(fleet.people.vic), timeout=30)
    assert status == 200 and headers.get("Transfer-Encoding") == "chunked"
    assert sum(1 for line in body.splitlines() if ",checkpoint,succeeded,alpha,,c-" in line) == 3000
    assert "must consume synchronous iterators" not in server.log_tail(400)  # Django's warning when it reads all


@pytestmark_live
def test_past_its_limit_of_open_streams_a_server_answers_503_and_the_pages_poll(broker, fleet):
    web = WebServer(workers=1, extra_env={"CRYO_EVENTS_MAX_STREAMS": 2}).start()
    session = session_of(fleet.people.vic)
    streams = [Stream(web, session) for _ in range(2)]
    try:
        status, body, _ = get(web, "/events/", session)
        assert status == 503 and "polls instead" in body
        assert get(web, "/jobs/", session)[0] == 200
    finally:
        for stream in streams:
            stream.close()
        web.stop()
