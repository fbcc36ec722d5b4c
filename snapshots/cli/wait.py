"""Follow a job to its end, showing its progress, by long polling the API (an answer as soon as it changes)."""
import time

from .transport import CliError

POLL = 20  # seconds one long poll may wait on the server


def wait_for(api, job, out, *, timeout=None, quiet=False):
    started = time.monotonic()
    seen = ""
    while True:
        if job.get("version") != seen or not seen:
            if not quiet:
                phase = f" ({job['phase']})" if job.get("phase") and job["state"] == "running" else ""
                out.write(f"[{time.monotonic() - started:6.1f}s] job {job['id'][:8]} {job['state']}{phase}\n")
            seen = job.get("version") or "?"
        if job["state"] in ("succeeded", "failed"):
            break
        left = POLL if timeout is None else min(POLL, timeout - (time.monotonic() - started))
        if left <= 0:
            raise CliError(f"job {job['id']} still {job['state']} after {timeout} s; it keeps going "
                           f"(see `cryo job {job['id'][:8]}`)")
        job = api.call("GET", f"/jobs/{job['id']}", {"wait": round(left, 2), "seen": seen})
    if job["state"] == "failed":
        raise CliError(f"job {job['id']} failed: {job['error']}")
    return job
