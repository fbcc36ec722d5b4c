"""Push benchmark: how soon an open page shows a job's change, by push (Server-Sent Events under gunicorn with
uvicorn's worker class) and by polling (the WSGI server of before, where pages poll every second), measured in
Debian's Chromium through Playwright against live servers; the requests an idle open page makes in 30 s; and the
server time of pages over HTTP under both serving models, also with 50 event streams open.

The job changes the way the worker API changes it for an agent: claimed, then snapshots.jobs.transitions'
report_phase and complete. The change is timed from just before the transition (which commits and publishes) to
the moment a MutationObserver in the page sees the new state. The page's Content-Security-Policy refuses eval, so
waits in the page are evaluate loops. Needs Redis on loopback and /usr/bin/chromium; uses a SQLite file under
var/bench/.

Knobs (environment): CRYO_BENCH_PUSH_TRIALS (default 20), CRYO_BENCH_PUSH_IDLE_SECONDS (default 30).
"""
import base64
import os
import random
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
sys.path.insert(0, str(ROOT))

TRIALS = int(os.environ.get("CRYO_BENCH_PUSH_TRIALS", "20"))
IDLE_SECONDS = int(os.environ.get("CRYO_BENCH_PUSH_IDLE_SECONDS", "30"))
HTTP_REPEAT = 50
OPEN_STREAMS = 50
TARGET_MS = 200
CHROMIUM = "/usr/bin/chromium"

# In the page: the time (epoch ms) at which #job-state first shows each state.
WATCH = """
window.cryoShown = {};
new MutationObserver(() => {
  const badge = document.querySelector("#job-state");
  if (badge && !(badge.textContent in window.cryoShown)) {
    window.cryoShown[badge.textContent] = performance.timeOrigin + performance.now();
  }
}).observe(document.body, {subtree: true, childList: true, characterData: true});
"""


def _setup_django():
    VAR.mkdir(parents=True, exist_ok=True)
    db = VAR / "push.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.environ.setdefault("CRYO_BROKER_URL", "redis://127.0.0.1:6379/14")
    os.environ.update({
        "DATABASE_URL": f"sqlite:///{db}", "CRYO_SECRET_KEY": "bench",
        "CRYO_STORE_KEK": base64.b64encode(os.urandom(32)).decode(), "CRYO_VAR_DIR": str(VAR),
        "CRYO_ALLOWED_HOSTS": "127.0.0.1,localhost", "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "CRYO_LOG_LEVEL": "WARNING", "DJANGO_ALLOW_ASYNC_UNSAFE": "true",  # Playwright's loop shares this thread
    })
    import django

    django.setup()
    from django.core.management import call_command

    (VAR / "staticfiles").mkdir(exist_ok=True)
    call_command("migrate", verbosity=0)


def _fleet():
    from django.contrib.auth.models import Group, User
    from django.test import Client
    from django.utils import timezone

    from snapshots.models import Container, Host

    team = Group.objects.create(name="bench-team")
    user = User.objects.create_user("bench-otto", "", "bench-otto-password")
    user.groups.add(team)
    # Seen "tomorrow": the bench runs no control process, and the host must stay online while it plays its agent.
    host = Host.objects.create(name="bench-push", status=Host.Status.ONLINE, consumer_ok=True, experimental=True,
                               last_seen=timezone.now() + timezone.timedelta(days=1), criu_ok=True,
                               docker_version="27.5.1", api_version="1.47")
    host.operator_groups.add(team)
    container = Container.objects.create(host=host, name="bench-web", engine_id="b" * 64, state="running")
    client = Client()
    client.force_login(user)
    return user, host, container, client.cookies["sessionid"].value


AGENT = "bench:1:push"


def _queued_job(user, container, n):
    from snapshots import services
    from snapshots.services import Origin

    with mock.patch("snapshots.jobs.outbox.publish"):  # no agent: the bench plays the agent's part
        return services.checkpoint(user, container, name=f"bench-{n}", origin=Origin(source="127.0.0.1"))


def _claim(job):
    from snapshots.jobs import transitions

    job.refresh_from_db()
    transitions.claim(job.id, job.step_host, AGENT)
    job.refresh_from_db()
    return job


def _phase(job, name, seconds=None):
    from snapshots.jobs import transitions

    transitions.report_phase(job.id, job.step_host, AGENT, job.step, name, seconds=seconds)


def _succeed(job):
    from snapshots.jobs import transitions

    transitions.complete(job.id, job.step_host, AGENT, job.step, {})


def _drop(job):
    """A job the bench queued only to look at: it ends, so that nothing is left in flight."""
    from snapshots.jobs import transitions

    job.refresh_from_db()
    transitions.claim(job.id, job.step_host, AGENT)
    transitions.fail(job.id, job.step_host, AGENT, job.step, "bench: done", {})


def _wait_for_js(page, expression, timeout=10_000):
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{expression} still false after {timeout} ms")
        page.wait_for_timeout(5)


def _context(browser, server, session):
    context = browser.new_context(base_url=server.url)
    context.add_cookies([{"name": "sessionid", "value": session, "url": server.url}])
    context.set_default_timeout(15_000)
    return context


def _ready(page, push):
    if push:
        _wait_for_js(page, "window.cryoLive === true", 15_000)
    page.wait_for_timeout(400)  # the stream's catch-up request, or the first poll, lands


def measure_latency(browser, server, push, user, host, container, session, rng):
    """Per trial: open a queued job's page, then (at a random moment) start it and finish it like a worker."""
    running, finished = [], []
    context = _context(browser, server, session)
    page = context.new_page()
    for n in range(TRIALS):
        job = _queued_job(user, container, f"{'push' if push else 'poll'}-{n}")
        page.goto(f"/jobs/{job.id}/")
        page.evaluate(WATCH)
        _ready(page, push)
        page.wait_for_timeout(rng.uniform(0, 1000))
        t0 = time.time() * 1000
        job = _claim(job)
        _phase(job, "checkpoint")
        _wait_for_js(page, "'Running' in window.cryoShown")
        running.append(page.evaluate("window.cryoShown['Running']") - t0)
        page.wait_for_timeout(rng.uniform(0, 1000))
        _phase(job, "checkpoint", seconds=0.5)
        t1 = time.time() * 1000
        _succeed(job)
        _wait_for_js(page, "'Succeeded' in window.cryoShown")
        finished.append(page.evaluate("window.cryoShown['Succeeded']") - t1)
    context.close()
    return {"running_ms": _stats(running), "succeeded_ms": _stats(finished)}


def count_idle_requests(browser, server, push, user, container, session):
    """Requests of an open page over IDLE_SECONDS while nothing changes: a queued job's page, a container page."""
    from django.db.models import Max

    from dashboard.web.containers import SETTLE
    from snapshots.models import Job

    # A container page keeps looking for 10 s after one of its jobs ended (the worker refreshes the container's
    # row then): that is not idle yet.
    last = Job.objects.filter(container=container).aggregate(at=Max("finished_at"))["at"]
    if last:
        from django.utils import timezone

        time.sleep(max(0.0, (last + SETTLE - timezone.now()).total_seconds() + 1))
    out = {}
    job = _queued_job(user, container, f"idle-{'push' if push else 'poll'}")
    for name, url in (("job page (queued job)", f"/jobs/{job.id}/"), ("container page", f"/containers/"
                                                                                         f"{container.pk}/")):
        context = _context(browser, server, session)
        page = context.new_page()
        seen = []
        page.on("request", lambda r, seen=seen: seen.append(r.url))
        page.goto(url)
        _ready(page, push)
        before = len(seen)
        page.wait_for_timeout(IDLE_SECONDS * 1000)
        out[name] = len(seen) - before
        context.close()
    _drop(job)
    return out


def http_latency(server, session, paths, streams=0):
    """Server time seen by a client: p50/p95 of GETs of each path, optionally with SSE streams held open."""
    held = []
    stop = threading.Event()

    def hold():
        request = urllib.request.Request(server.url + "/events/", headers={"Cookie": f"sessionid={session}"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                held.append(response.status)
                while not stop.is_set():
                    if not response.readline():
                        break
        except Exception as exc:
            held.append(f"error: {exc!r}")

    threads = [threading.Thread(target=hold, daemon=True) for _ in range(streams)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(held) < streams and time.monotonic() < deadline:
        time.sleep(0.05)
    rows = {}
    for name, path in paths:
        times = []
        for i in range(HTTP_REPEAT + 3):
            request = urllib.request.Request(server.url + path, headers={"Cookie": f"sessionid={session}"})
            t0 = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
            if i >= 3:
                times.append((time.perf_counter() - t0) * 1000)
        rows[name] = _stats(times)
    stop.set()
    errors = sorted({s for s in held if s != 200})
    return {"pages": rows, "streams_open": sum(1 for s in held if s == 200), "stream_errors": errors}


def _stats(values):
    values = sorted(values)
    return {"n": len(values), "p50": round(statistics.median(values), 1),
            "p95": round(statistics.quantiles(values, n=20, method="inclusive")[18], 1),
            "max": round(values[-1], 1)}


def run():
    _setup_django()
    from playwright.sync_api import sync_playwright

    from tests.harness.web import WebServer

    user, host, container, session = _fleet()
    rng = random.Random(11)
    servers = {"push": WebServer(workers=2, asgi=True), "polling": WebServer(workers=2, asgi=False)}
    result = {"name": "push", "database": "SQLite (bench file)", "trials": TRIALS, "idle_seconds": IDLE_SECONDS,
              "target": f"a change shown within {TARGET_MS} ms by push; no requests from an idle open page",
              "servers": {"push": "gunicorn dashboard.asgi, uvicorn worker class, 2 workers",
                          "polling": "gunicorn dashboard.wsgi, 2 workers x 4 threads (before)"}}
    pages = [("job page", None), ("container page", f"/containers/{container.pk}/"), ("jobs list", "/jobs/"),
             ("overview", "/")]
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=["--no-sandbox", "--disable-gpu", "--disable-quic"])
            for mode, server in servers.items():
                server.start()
                push = mode == "push"
                print(f"{mode}: {server.command()}", flush=True)
                result[f"{mode}_latency"] = measure_latency(browser, server, push, user, host, container, session,
                                                            rng)
                print(f"  change to page: {result[f'{mode}_latency']}", flush=True)
                result[f"{mode}_idle_requests"] = count_idle_requests(browser, server, push, user, container,
                                                                      session)
                print(f"  idle requests in {IDLE_SECONDS} s: {result[f'{mode}_idle_requests']}", flush=True)
                job = _queued_job(user, container, f"http-{mode}")
                paths = [(n, p or f"/jobs/{job.id}/") for n, p in pages]
                result[f"{mode}_http"] = http_latency(server, session, paths)
                if push:
                    result["push_http_with_streams"] = http_latency(server, session, paths, streams=OPEN_STREAMS)
                print(f"  page latency over HTTP: {result[f'{mode}_http']}", flush=True)
                _drop(job)
                server.stop()
            browser.close()
    finally:
        for server in servers.values():
            server.stop()
    push_p95 = max(result["push_latency"]["running_ms"]["p95"], result["push_latency"]["succeeded_ms"]["p95"])
    result["meets_target"] = push_p95 < TARGET_MS and not any(result["push_idle_requests"].values())
    return result


def markdown(result):
    lines = [f"Time from a job's change (made through the worker API's transitions, as an agent's report does) to "
             f"the open job page showing it, in Chromium, {result['trials']} trials per mode, the change at a random "
             "moment:", "",
             "| mode | server | to \"Running\" p50 / p95 / max ms | to \"Succeeded\" p50 / p95 / max ms |",
             "|---|---|---:|---:|"]
    for mode in ("push", "polling"):
        lat = result[f"{mode}_latency"]
        lines.append(f"| {mode} | {result['servers'][mode]} | "
                     + " | ".join(f"{lat[k]['p50']} / {lat[k]['p95']} / {lat[k]['max']}"
                                  for k in ("running_ms", "succeeded_ms")) + " |")
    lines += ["", f"Requests an open page made in {result['idle_seconds']} s while nothing changed "
                  "(after it loaded and its stream opened):", "", "| page | push | polling |", "|---|---:|---:|"]
    for page in result["push_idle_requests"]:
        lines.append(f"| {page} | {result['push_idle_requests'][page]} | {result['polling_idle_requests'][page]} |")
    lines += ["", "Page latency over HTTP (client-side, p50 / p95 ms of 50 GETs, one client, signed in):", "",
              "| page | WSGI (before) | ASGI (now) | ASGI with "
              f"{result['push_http_with_streams']['streams_open']} event streams open |", "|---|---:|---:|---:|"]
    for page in result["push_http"]["pages"]:
        cells = [result[k]["pages"][page] for k in ("polling_http", "push_http", "push_http_with_streams")]
        lines.append(f"| {page} | " + " | ".join(f"{c['p50']} / {c['p95']}" for c in cells) + " |")
    lines += ["", f"Meets the target: {'yes' if result['meets_target'] else 'no'}."]
    return "\n".join(lines)


if __name__ == "__main__":
    import json

    out = run()
    print(json.dumps(out, indent=2, default=str))
    print(markdown(out))
