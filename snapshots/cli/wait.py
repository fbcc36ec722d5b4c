"""Follow a job to its end, showing its progress, by long polling the API (an answer as soon as it changes)."""
import time

from .transport import CliError

POLL = 20  # seconds one long poll may wait on the server
PATIENCE = 300  # seconds the dashboard may be unavailable before a waiting CLI gives up (the job goes on)


def wait_for(api, job, out, *, timeout=None, quiet=False):
    started = time.monotonic()
    seen = ""
    unavailable_since = None
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
        try:
            job = api.call("GET", f"/jobs/{job['id']}", {"wait": round(left, 2), "seen": seen})
            unavailable_since = None
        except CliError as exc:
            if exc.status is not None and exc.status < 500:
                raise
            now = time.monotonic()
            if unavailable_since is None:
                unavailable_since = now
                if not quiet:
                    out.write(f"[{now - started:6.1f}s] the dashboard is unavailable ({exc}); waiting for it\n")
            if now - unavailable_since > PATIENCE:
                raise CliError(f"the dashboard was unavailable for {PATIENCE} s; job {job['id']} goes on "
                               f"(see `cryo job {job['id'][:8]}` later)") from None
            time.sleep(1)
    if job["state"] == "failed":
        raise CliError(f"job {job['id']} failed: {job['error']}")
    return job
