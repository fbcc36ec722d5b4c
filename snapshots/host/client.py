"""The agent's side of the worker API: plain HTTP(S) with the host's own credential, nothing else."""
import base64
import logging
import random
import time

import requests

from ..errors import CryoError

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30
PREFIX = "/agent/v1"


class ApiError(CryoError):
    def __init__(self, status, message):
        super().__init__(f"the dashboard answered {status}: {message}")
        self.status = status
        self.reason = message


class CredentialRejected(ApiError):
    """401: the credential was revoked, or the host removed. The agent stops."""


class Unreachable(CryoError):
    """The dashboard did not answer (down, or a network fault)."""


class Client:
    def __init__(self, url, credential=None, *, verify=True):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.verify = verify
        self.session.headers["User-Agent"] = "cryo-agent/1"
        self.credential = None
        if credential:
            self.use(credential)

    def use(self, credential):
        self.credential = credential
        self.session.headers["Authorization"] = f"Bearer {credential}"

    # -- plumbing ------------------------------------------------------------------------------
    def request(self, method, path, *, json=None, timeout=READ_TIMEOUT, **kwargs):
        try:
            response = self.session.request(method, f"{self.url}{PREFIX}{path}", json=json,
                                            timeout=(CONNECT_TIMEOUT, timeout), **kwargs)
        except requests.RequestException as exc:
            raise Unreachable(f"cannot reach the dashboard at {self.url}: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code >= 400:
            try:
                message = response.json().get("error") or response.text
            except ValueError:
                message = response.text[:300]
            kind = CredentialRejected if response.status_code == 401 else ApiError
            raise kind(response.status_code, str(message)[:2000])
        return response

    def post(self, path, json=None, **kwargs):
        response = self.request("POST", path, json=json or {}, **kwargs)
        return response.json() if response.content else None

    def post_until_recorded(self, path, json, *, stop=None, give_up_after=24 * 3600):
        """An outcome must arrive: retry with backoff while the dashboard (or its database) is unavailable.

        4xx answers are final (the dashboard decided); 5xx and network faults are retried. Reports are idempotent
        on the dashboard (a conditional update on job, step and holder), so a retry after a lost answer is safe.
        """
        delay, started = 0.5, time.monotonic()
        while True:
            try:
                return self.post(path, json)
            except ApiError as exc:
                if exc.status < 500:
                    raise
                problem = str(exc)
            except Unreachable as exc:
                problem = str(exc)
            if time.monotonic() - started > give_up_after or (stop is not None and stop.is_set()):
                raise Unreachable(f"gave up reporting to {path} after {int(time.monotonic() - started)} s: {problem}")
            log.warning("cannot report to %s yet (%s); again in %.1f s", path, problem, delay)
            time.sleep(delay * (0.8 + 0.4 * random.random()))
            delay = min(delay * 2, 30)

    # -- archives ------------------------------------------------------------------------------
    def upload(self, archive_id, chunks, size_hint=None):
        """Stream an archive to the dashboard (chunked); the answer carries the digest the dashboard recorded.
        `size_hint` (bytes before compression) lets a store too small refuse before anything is sent."""
        headers = {"Content-Type": "application/octet-stream"}
        if size_hint:
            headers["X-Cryo-Size"] = str(int(size_hint))
        response = self.request("PUT", f"/archives/{archive_id}", data=chunks, timeout=600, headers=headers)
        return response.json()

    def download(self, job_id, archive_id):
        """The archive's bytes as they come (the writer may still be writing); a broken stream raises."""
        response = self.request("GET", f"/jobs/{job_id}/archives/{archive_id}", stream=True, timeout=600)
        return response

    def write_key(self, archive_id):
        """The data key to seal an archive this host writes (None: the dashboard stores it unsealed)."""
        return _key(self.request("GET", f"/archives/{archive_id}/key").json())

    def read_key(self, job_id, archive_id):
        """The data key to open an archive the current step of this host's job reads (None: it is not sealed)."""
        return _key(self.request("GET", f"/jobs/{job_id}/archives/{archive_id}/key").json())

    def digest(self, job_id, archive_id):
        return self.request("GET", f"/jobs/{job_id}/archives/{archive_id}/digest").json()


def _key(answer):
    encoded = answer.get("key")
    return base64.b64decode(encoded) if encoded else None
