"""How the CLI reaches the API: over HTTP with a personal token (from anywhere), or, for `manage.py cryo --as`, in
the dashboard's own process as a local admin. Either way the same API code answers."""
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ..errors import CryoError

CHECKOUT_VAR = Path(__file__).resolve().parents[2] / "var"


class CliError(CryoError):
    """What the API said no to (or why it could not be asked): one line for people."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def _default(name, variable):
    """CRYO_URL / CRYO_TOKEN(_FILE), else what `make run` wrote into this checkout's var/ for its admin."""
    if os.environ.get(variable):
        return os.environ[variable].strip()
    if os.environ.get(f"{variable}_FILE"):
        return Path(os.environ[f"{variable}_FILE"]).read_text(encoding="utf-8").strip()
    path = Path(os.environ.get("CRYO_VAR_DIR") or CHECKOUT_VAR) / name
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


class HttpTransport:
    def __init__(self, url=None, token=None, timeout=40):
        self.url = (url or _default("url", "CRYO_URL") or "http://127.0.0.1:8000").rstrip("/")
        self.token = token or _default("admin-token", "CRYO_TOKEN")
        self.timeout = timeout
        if not self.token:
            raise CliError("no API token: set CRYO_TOKEN (a personal token from `manage.py cryo api-token --as "
                           "USER` or your account page) and CRYO_URL (the dashboard's address)")

    def call(self, method, path, params=None, body=None):
        query = f"?{urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v not in (None, False)})}"
        request = urllib.request.Request(
            f"{self.url}/api/v1{path}{query if query != '?' else ''}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
                     "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise CliError(_message(exc.read(), exc.code), exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CliError(f"cannot reach Cryo at {self.url}: {reason}") from None


class LocalTransport:
    """The API called in this process for a local admin (`manage.py cryo --as USER`); audited as `cli:<os user>`."""

    def __init__(self, user, origin):
        self.user, self.origin = user, origin

    def call(self, method, path, params=None, body=None):
        from django.test import RequestFactory
        from django.urls import resolve

        factory = RequestFactory()
        url = f"/api/v1{path}"
        params = {k: v for k, v in (params or {}).items() if v not in (None, False)}
        if method == "GET":
            request = factory.get(url, params)
        else:
            request = factory.generic(method, url, json.dumps(body or {}), content_type="application/json")
        request.cryo_local_actor, request.cryo_local_origin = self.user, self.origin
        match = resolve(url)
        response = match.func(request, *match.args, **match.kwargs)
        data = response.content or b"null"
        if response.status_code >= 400:
            raise CliError(_message(data, response.status_code), response.status_code)
        return json.loads(data)


def _message(raw, status):
    try:
        return str(json.loads(raw).get("error") or raw.decode()[:300])
    except (ValueError, AttributeError):
        return f"the API answered {status}"
