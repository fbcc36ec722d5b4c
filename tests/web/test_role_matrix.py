"""The role matrix, generated from what the dashboard serves: every route of the URL configuration (the site, the
Django admin, the host agents' API, metrics, the people's JSON API with each of its operations read from the
ninja router) and every command of the `cryo` CLI, tried by each persona. A route or a command without an entry
below fails `test_every_route_and_command_has_an_entry`, so a new endpoint cannot be forgotten.

Personas: an admin (Ada), the operator of host alpha (Otto, team-a), the operator of host beta (Bea, team-b), a
viewer (Vic), and three API tokens of the admin: read-scoped, operate-scoped and expired; and anonymous. In the
browser's pages the token personas send only their Authorization header (a token is not a browser session); in
the API and the CLI the four people use an operate token of their own.

Each cell asserts the answer (allowed, or refused the expected way) and the audit rows it left: an allowed action
leaves its requested/succeeded row by that person, a refusal of a signed-in person's action a "denied" row by that
person, an expired token a "refused" use of it, and anonymous requests none. Every cell runs in a savepoint that
is rolled back, so each starts from the same rows. The cells are written to var/test/role-matrix.tsv."""
import io
import json
import re
from functools import partial
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.utils import timezone

from dashboard.api.api import api as people_api
from snapshots.cli import commands, main as cli
from snapshots.cli.transport import CliError
from snapshots.models import ApiToken, AuditEvent, HostCredential, Job
from snapshots.models.credentials import digest

from .test_api_tokens import ClientTransport
from .test_get_never_writes import Site

pytestmark = pytest.mark.django_db

PEOPLE = ["admin", "op_a", "op_b", "viewer"]
TOKENS = ["read_token", "operate_token", "expired_token"]
PERSONAS = PEOPLE + TOKENS + ["anonymous"]

# What a persona gets: allowed; denied (403 and a "denied" row by them); quiet (refused, no row: a GET is not an
# attempt); login (sent to sign in, no row); unauth (401, no row); expired (401 and a "refused" use of the token).
# staff: the Django admin's own answer (some of its pages refuse even a superuser), never its sign-in page.
ALLOWED, DENIED, QUIET, LOGIN, UNAUTH, EXPIRED = "allowed", "denied", "quiet", "login", "unauth", "expired"
# signed out: sent to sign in, with a sign-out row for a session; no-op: answered, and nothing written.
STAFF, SIGNED_OUT, NOOP = "staff", "signed out", "no-op"


def _web(allowed=(), denied=(), quiet=(), others=LOGIN):
    """Pages: the four people as listed; token personas and anonymous have no session."""
    table = {p: others for p in PERSONAS}
    table.update({p: ALLOWED for p in allowed})
    table.update({p: DENIED for p in denied})
    table.update({p: QUIET for p in quiet})
    return table


def _api(allowed, denied=()):
    table = {p: DENIED for p in PERSONAS}
    table.update({p: ALLOWED for p in allowed})
    table.update({p: DENIED for p in denied})
    table.update(expired_token=EXPIRED, anonymous=UNAUTH)
    return table


RULES = {
    "public": {p: ALLOWED for p in PERSONAS},
    "signed_in": _web(allowed=PEOPLE),
    "operate_alpha": _web(allowed=["admin", "op_a"], denied=["op_b", "viewer"]),
    "operate_both": _web(allowed=["admin"], denied=["op_a", "op_b", "viewer"]),
    "admin_post": _web(allowed=["admin"], denied=["op_a", "op_b", "viewer"]),
    "admin_get": _web(allowed=["admin"], quiet=["op_a", "op_b", "viewer"]),
    "team_a_get": _web(allowed=["admin", "op_a"], quiet=["op_b", "viewer"]),
    "team_a_post": _web(allowed=["admin", "op_a"], denied=["op_b", "viewer"]),
    "events": _web(allowed=PEOPLE, others=UNAUTH),
    "django_admin": {p: LOGIN for p in PERSONAS} | {"admin": STAFF},
    "to_login": {p: LOGIN for p in PERSONAS},
    "sign_out": {p: SIGNED_OUT for p in PERSONAS},
    "admin_sign_out": {p: NOOP for p in PERSONAS} | {"admin": SIGNED_OUT},
    "nobody": {p: QUIET for p in PERSONAS},
    "api_public": {p: ALLOWED for p in PERSONAS},
    "api_read": _api(allowed=PEOPLE + ["read_token", "operate_token"]),
    "api_self": _api(allowed=PEOPLE + ["operate_token"]),
    "api_operate_alpha": _api(allowed=["admin", "op_a", "operate_token"]),
    "api_operate_both": _api(allowed=["admin", "operate_token"]),
    "api_admin": _api(allowed=["admin", "operate_token"]),
}


@dataclass
class Entry:
    rule: str
    method: str = "GET"
    build: object = None  # (ctx, persona) -> (url, data); default: the route filled by the GET walk's values
    audited: bool = True  # an allowed POST leaves a row by its actor


def _c(attr, suffix):
    return lambda ctx, p: (f"/containers/{getattr(ctx.fleet, attr).pk}/{suffix}", {})


def _post(url, data=None):
    return lambda ctx, p: (url, data or {})


def _own_token(ctx, p):
    return ctx.spare[p].pk


SITE = {
    "": Entry("signed_in"),
    "login/": Entry("public"),
    "logout/": Entry("sign_out", "POST"),
    "login/code/": Entry("to_login"),  # the second step of a sign-in: nothing to do without its first
    "password/": Entry("signed_in"),
    "password/done/": Entry("signed_in"),
    "account/": Entry("signed_in"),
    "account/second-factor/": Entry("signed_in", "POST", audited=False),
    "account/second-factor/confirm/": Entry("signed_in", "POST", audited=False),
    "account/second-factor/remove/": Entry("signed_in", "POST", audited=False),
    "account/tokens/": Entry("signed_in", "POST", _post("/account/tokens/", {"name": "m", "scope": "read",
                                                                             "days": 7})),
    "account/tokens/<int:pk>/revoke/": Entry("signed_in", "POST",
                                             lambda ctx, p: (f"/account/tokens/{_own_token(ctx, p)}/revoke/", {})),
    "oidc/authenticate/": Entry("nobody"),  # single sign-on is off here: not found
    "oidc/callback/": Entry("nobody"),
    "add-host/": Entry("admin_get"),
    "hosts/<str:name>/": Entry("signed_in"),
    "hosts/<str:name>/join-token/": Entry("admin_post", "POST", _post("/hosts/alpha/join-token/")),
    "hosts/<str:name>/rotate/": Entry("admin_post", "POST", _post("/hosts/alpha/rotate/")),
    "hosts/<str:name>/revoke/": Entry("admin_post", "POST", _post("/hosts/alpha/revoke/")),
    "hosts/<str:name>/sync/": Entry("operate_alpha", "POST", _post("/hosts/alpha/sync/")),
    "hosts/<str:name>/drain/": Entry("admin_post", "POST", _post("/hosts/alpha/drain/")),
    "hosts/<str:name>/enable/": Entry("admin_post", "POST", _post("/hosts/alpha/enable/")),
    "hosts/<str:name>/remove/": Entry("admin_post", "POST", _post("/hosts/alpha/remove/")),
    "containers/<int:pk>/": Entry("signed_in"),
    "containers/<int:pk>/clone/": Entry("operate_alpha", "POST", lambda ctx, p: (
        f"/containers/{ctx.fleet.db.pk}/clone/", {"checkpoint": "db-1-frozen", "to": "alpha", "name": "db-copy"})),
    "containers/<int:pk>/migrate/": Entry("operate_both", "POST", lambda ctx, p: (
        f"/containers/{ctx.fleet.web.pk}/migrate/", {"to": "beta", "checked": "beta"})),
    "containers/<int:pk>/checkpoint/": Entry("operate_alpha", "POST", lambda ctx, p: (
        f"/containers/{ctx.fleet.web.pk}/checkpoint/", {"name": "matrix-1"})),
    "containers/<int:pk>/restore/": Entry("operate_alpha", "POST", lambda ctx, p: (
        f"/containers/{ctx.fleet.db.pk}/restore/", {"checkpoint": "db-1-frozen"})),
    "containers/<int:pk>/checkpoints/<str:name>/delete/": Entry("operate_alpha", "POST", lambda ctx, p: (
        f"/containers/{ctx.fleet.db.pk}/checkpoints/db-1-frozen/delete/", {})),
    "containers/<int:pk>/schedules/": Entry("operate_alpha", "POST", lambda ctx, p: (
        f"/containers/{ctx.fleet.db.pk}/schedules/", {"every": "1h", "leave_running": "on"})),
    "schedules/": Entry("signed_in"),
    # A fleet-wide schedule is an admin's, whoever operates a host.
    "schedules/add/": Entry("admin_post", "POST", _post("/schedules/add/", {"selector": "fleet", "every": "1h"})),
    "schedules/<int:pk>/": Entry("signed_in", build=lambda ctx, p: (f"/schedules/{ctx.site.schedule.pk}/", {})),
    "schedules/<int:pk>/edit/": Entry("operate_alpha", "POST", lambda ctx, p: (
        f"/schedules/{ctx.site.schedule.pk}/edit/", {"every": "2h"})),
    "schedules/<int:pk>/pause/": Entry("operate_alpha", "POST", lambda ctx, p: (
        f"/schedules/{ctx.site.schedule.pk}/pause/", {})),
    "schedules/<int:pk>/resume/": Entry("operate_alpha", "POST", lambda ctx, p: (
        f"/schedules/{ctx.site.schedule.pk}/resume/", {})),
    "schedules/<int:pk>/delete/": Entry("operate_alpha", "POST", lambda ctx, p: (
        f"/schedules/{ctx.site.schedule.pk}/delete/", {})),
    "containers/<int:pk>/checkpoints/<str:name>/": Entry("signed_in", build=_c("db", "checkpoints/db-1-frozen/")),
    "containers/<int:pk>/checkpoints/<str:name>/pin/": Entry("operate_alpha", "POST", lambda ctx, p: (
        f"/containers/{ctx.fleet.db.pk}/checkpoints/db-1-frozen/pin/", {"pinned": "1"})),
    "retention/": Entry("signed_in"),
    "retention/preview/": Entry("signed_in", build=_post("/retention/preview/", {
        "selector": "container", "host": "alpha", "container": "db-1", "keep_last": "0"})),
    # A fleet-wide retention policy is an admin's too.
    "retention/add/": Entry("admin_post", "POST", _post("/retention/add/", {"selector": "fleet", "keep_last": "5"})),
    "retention/<int:pk>/delete/": Entry("operate_alpha", "POST", lambda ctx, p: (
        f"/retention/{ctx.site.retention.pk}/delete/", {})),
    "jobs/": Entry("signed_in"),
    "jobs/<uuid:job_id>/": Entry("signed_in"),
    "jobs/<uuid:job_id>/row/": Entry("signed_in"),
    "events/": Entry("events"),
    "audit/": Entry("signed_in"),
    "audit/export.csv": Entry("signed_in", "POST", _post("/audit/export.csv")),
    "audit/export.json": Entry("signed_in", "POST", _post("/audit/export.json")),
    "search/": Entry("signed_in"),
    "teams/": Entry("signed_in"),
    "teams/<int:pk>/": Entry("team_a_get", build=lambda ctx, p: (f"/teams/{ctx.team_a.pk}/", {})),
    "teams/<int:pk>/webhooks/": Entry("team_a_post", "POST", lambda ctx, p: (
        f"/teams/{ctx.team_a.pk}/webhooks/", {"url": "https://hooks.example.test/new", "every_job": ""})),
    "teams/<int:pk>/webhooks/<int:hook>/": Entry("team_a_get", build=lambda ctx, p: (
        f"/teams/{ctx.team_a.pk}/webhooks/{ctx.site.hook.pk}/", {})),
    "teams/<int:pk>/webhooks/<int:hook>/delete/": Entry("team_a_post", "POST", lambda ctx, p: (
        f"/teams/{ctx.team_a.pk}/webhooks/{ctx.site.hook.pk}/delete/", {})),
    "teams/<int:pk>/email/": Entry("team_a_post", "POST", lambda ctx, p: (
        f"/teams/{ctx.team_a.pk}/email/", {"recipients": "ops@example.test", "active": "on"})),
    "metrics": Entry("nobody"),
    "api/v1/docs": Entry("api_public"),
    "api/v1/openapi.json": Entry("api_public"),
    "api/v1/": Entry("nobody"),
    "agent/v1/openapi.json": Entry("public"),  # the agents' API describes itself to anyone; it acts for no one
}
# Families of routes that one rule covers whole, each route still a row of the matrix.
FAMILIES = {
    "admin/": Entry("django_admin"),  # Django's admin: staff only (the admin here is staff); the rest to its sign-in
    "agent/v1/": Entry("nobody", "POST"),  # the host agents' API: a host credential, never a person's
}
FAMILY_EXCEPTIONS = {"admin/login/": Entry("to_login"), "admin/logout/": Entry("admin_sign_out", "POST")}

CHECKPOINT = {"kind": "checkpoint", "host": "alpha", "container": "web-1", "name": "matrix-1"}
API = {
    ("/tokens", "GET"): Entry("api_read"),
    ("/tokens", "POST"): Entry("api_self", "POST", _post("/tokens", {"name": "m", "scope": "read", "days": 7})),
    ("/tokens/{token}/revoke", "POST"): Entry("api_self", "POST", lambda ctx, p: (
        f"/tokens/{_own_token(ctx, p)}/revoke", {})),
    ("/hosts", "GET"): Entry("api_read"),
    ("/hosts", "POST"): Entry("api_admin", "POST", _post("/hosts", {"name": "delta"})),
    ("/hosts/{host}/join-token", "POST"): Entry("api_admin", "POST", _post("/hosts/alpha/join-token", {})),
    ("/hosts/{host}/rotate", "POST"): Entry("api_admin", "POST", _post("/hosts/alpha/rotate")),
    ("/hosts/{host}/revoke", "POST"): Entry("api_admin", "POST", _post("/hosts/alpha/revoke")),
    ("/hosts/{host}/drain", "POST"): Entry("api_admin", "POST", _post("/hosts/alpha/drain")),
    ("/hosts/{host}/enable", "POST"): Entry("api_admin", "POST", _post("/hosts/alpha/enable")),
    ("/hosts/{host}/remove", "POST"): Entry("api_admin", "POST", _post("/hosts/alpha/remove")),
    ("/containers", "GET"): Entry("api_read", build=_post("/containers")),
    ("/hosts/{host}/containers", "GET"): Entry("api_read", build=_post("/hosts/alpha/containers")),
    ("/hosts/{host}/containers/{container}/checkpoints", "GET"): Entry(
        "api_read", build=_post("/hosts/alpha/containers/db-1/checkpoints")),
    ("/hosts/{host}/containers/{container}/preflight", "GET"): Entry(
        "api_read", build=_post("/hosts/alpha/containers/web-1/preflight?to=beta")),
    ("/jobs", "GET"): Entry("api_read", build=_post("/jobs")),
    ("/jobs", "POST"): Entry("api_operate_alpha", "POST", _post("/jobs", CHECKPOINT)),
    ("/jobs/{job_id}", "GET"): Entry("api_read", build=lambda ctx, p: (f"/jobs/{ctx.site.done.pk}", {})),
    ("/hosts/{host}/containers/{container}/checkpoints/{checkpoint}/contents", "GET"): Entry(
        "api_read", build=_post("/hosts/alpha/containers/db-1/checkpoints/db-1-frozen/contents")),
    ("/hosts/{host}/containers/{container}/checkpoints/{checkpoint}/pin", "POST"): Entry(
        "api_operate_alpha", "POST", _post("/hosts/alpha/containers/db-1/checkpoints/db-1-frozen/pin",
                                           {"pinned": True})),
    ("/schedules", "GET"): Entry("api_read"),
    ("/schedules", "POST"): Entry("api_admin", "POST", _post("/schedules", {"selector": "fleet",
                                                                           "interval_seconds": 3600})),
    ("/schedules/{schedule_id}", "GET"): Entry("api_read", build=lambda ctx, p: (
        f"/schedules/{ctx.site.schedule.pk}", {})),
    ("/schedules/{schedule_id}/edit", "POST"): Entry("api_operate_alpha", "POST", lambda ctx, p: (
        f"/schedules/{ctx.site.schedule.pk}/edit", {"interval_seconds": 7200})),
    ("/schedules/{schedule_id}/pause", "POST"): Entry("api_operate_alpha", "POST", lambda ctx, p: (
        f"/schedules/{ctx.site.schedule.pk}/pause", {})),
    ("/schedules/{schedule_id}/resume", "POST"): Entry("api_operate_alpha", "POST", lambda ctx, p: (
        f"/schedules/{ctx.site.schedule.pk}/resume", {})),
    ("/schedules/{schedule_id}/delete", "POST"): Entry("api_operate_alpha", "POST", lambda ctx, p: (
        f"/schedules/{ctx.site.schedule.pk}/delete", {})),
}

CLI = {
    "hosts": ("api_read", ["hosts"]),
    "host": ("api_admin", ["host", "token", "alpha"]),
    "containers": ("api_read", ["containers", "--host", "alpha"]),
    "checkpoints": ("api_read", ["checkpoints", "alpha", "db-1"]),
    "jobs": ("api_read", ["jobs"]),
    "job": ("api_read", lambda ctx: ["job", str(ctx.site.done.pk)]),
    "checkpoint": ("api_operate_alpha", ["checkpoint", "alpha", "web-1", "--name", "matrix-1", "--no-wait"]),
    "restore": ("api_operate_alpha", ["restore", "alpha", "db-1", "db-1-frozen", "--no-wait"]),
    "delete-checkpoint": ("api_operate_alpha", ["delete-checkpoint", "alpha", "db-1", "db-1-frozen", "--no-wait"]),
    "sync": ("api_operate_alpha", ["sync", "alpha", "--no-wait"]),
    "export": ("api_operate_alpha", ["export", "alpha", "db-1", "db-1-frozen", "--no-wait"]),
    "clone": ("api_operate_alpha", ["clone", "alpha", "db-1", "db-1-frozen", "--name", "db-copy", "--no-wait"]),
    "migrate": ("api_operate_both", ["migrate", "alpha", "web-1", "--to", "beta", "--no-wait"]),
    "preflight": ("api_read", ["preflight", "alpha", "web-1", "--to", "beta"]),
    "token": ("api_self", ["token", "create", "matrix"]),
    "drain": ("api_admin", ["drain", "alpha"]),
    "enable": ("api_admin", ["enable", "alpha"]),
    "remove": ("api_admin", ["remove", "alpha"]),
    "inspect": ("api_read", ["inspect", "alpha", "db-1", "db-1-frozen"]),
    "pin": ("api_operate_alpha", ["pin", "alpha", "db-1", "db-1-frozen"]),
    "unpin": ("api_operate_alpha", ["unpin", "alpha", "db-1", "db-1-frozen"]),
    "schedule": ("api_operate_alpha", ["schedule", "add", "alpha", "web-1", "--every", "1h"]),
}


# -- what the dashboard serves ------------------------------------------------------------------------------
def url_routes(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from url_routes(pattern, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


def api_operations():
    for _prefix, router in people_api._routers:
        for path, view in router.path_operations.items():
            for operation in view.operations:
                for method in operation.methods:
                    yield path, method


def site_entry(route):
    if route in SITE:
        return SITE[route]
    if route in FAMILY_EXCEPTIONS:
        return FAMILY_EXCEPTIONS[route]
    for prefix, entry in FAMILIES.items():
        if route.startswith(prefix) or route.startswith("^" + prefix):
            return entry
    return None


def cells():
    """Every (surface, what, persona) of the matrix, from the URL configuration, the API router and the CLI."""
    api_paths = {f"api/v1{path[1:] if path == '/' else path}".replace("{", "<").replace("}", ">")
                 for path, _m in api_operations()}
    rows = []
    for route in dict.fromkeys(url_routes()):
        if route in api_paths:
            continue  # the API's operations, one by one, below
        rows += [("site", route, p) for p in PERSONAS]
    for operation in dict.fromkeys(api_operations()):
        rows += [("api", operation, p) for p in PERSONAS]
    for spec in commands.SPECS:
        rows += [("cli", spec.name, p) for p in PERSONAS]
    return rows


CELLS = cells()


def test_every_route_and_command_has_an_entry():
    missing = [("site", r) for r in dict.fromkeys(url_routes())
               if not r.startswith("api/v1/") and site_entry(r) is None]
    missing += [("api", op) for op in dict.fromkeys(api_operations()) if op not in API]
    missing += [("cli", spec.name) for spec in commands.SPECS if spec.name not in CLI]
    assert missing == [], "give each of these a row in the role matrix (tests/web/test_role_matrix.py)"
    stale = [k for k in SITE if k not in set(url_routes())] + [k for k in API if k not in set(api_operations())]
    stale += [k for k in CLI if k not in commands.BY_NAME]
    assert stale == [], "these matrix rows name nothing the dashboard serves"
    routes = [r for r in dict.fromkeys(url_routes()) if not (r.startswith("api/v1/") and r not in SITE)]
    assert len(CELLS) == len(PERSONAS) * (len(routes) + len(API) + len(commands.SPECS))
    out = Path(django_settings.VAR_DIR) / "role-matrix.tsv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        fh.write("surface\twhat\tpersona\texpected\n")
        for surface, what, persona in CELLS:
            rule = (site_entry(what) if surface == "site" else API[what] if surface == "api" else None)
            expected = RULES[rule.rule if rule else CLI[what][0]][persona]
            fh.write(f"{surface}\t{what if isinstance(what, str) else ' '.join(what[::-1])}\t{persona}\t{expected}\n")
    print(f"role matrix: {len(CELLS)} cells ({len(PERSONAS)} personas) written to {out}")


# -- the personas and their world ---------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class World:
    def __init__(self, fleet):
        people = fleet.people
        self.fleet = fleet
        people.ada.is_staff = people.ada.is_superuser = True
        people.ada.save()
        self.team_a = people.team_a
        self.team_b, _ = Group.objects.get_or_create(name="team-b")
        self.bea = User.objects.create_user("bea", "bea@example.test", "bea-password-1")
        self.bea.groups.add(self.team_b)
        fleet.beta.operator_groups.add(self.team_b)
        HostCredential.objects.create(host=fleet.alpha, token_hash=digest("cred-alpha"), prefix="cred-alp")
        self.site = Site(fleet)
        self.users = {"admin": people.ada, "op_a": people.otto, "op_b": self.bea, "viewer": people.vic}
        for name in TOKENS:
            self.users[name] = people.ada
        self.secrets = {}
        for name, user in list(self.users.items())[:4]:
            self.secrets[name] = ApiToken.issue(user, f"{name} own", scope="operate")[1]
        self.secrets["read_token"] = ApiToken.issue(people.ada, "read", scope="read")[1]
        self.secrets["operate_token"] = ApiToken.issue(people.ada, "operate", scope="operate")[1]
        expired, self.secrets["expired_token"] = ApiToken.issue(people.ada, "expired", scope="operate")
        ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        self.spare = {p: ApiToken.issue(self.users[p], f"spare {p}", scope="read")[0] for p in PERSONAS[:-1]}
        self.spare["anonymous"] = self.spare["viewer"]

    def user(self, persona):
        return self.users.get(persona)


@pytest.fixture
def world(fleet):
    return World(fleet)


def browser(world, persona):
    client = Client()
    if persona in PEOPLE:
        client.force_login(world.user(persona))
    elif persona in TOKENS:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {world.secrets[persona]}"
    return client


def api_client(world, persona):
    client = Client()
    if persona != "anonymous":
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {world.secrets[persona]}"
    return client


# -- one cell --------------------------------------------------------------------------------------------------
class Attempt:
    def __init__(self, status, location="", error=""):
        self.status, self.location, self.error = status, location, error


def judge(world, expected, persona, attempt, new_rows, jobs_before, *, audited=True, method="POST"):
    """The answer and the rows one cell left, against what the matrix expects; a list of what is wrong."""
    wrong = []
    who = world.user(persona).get_username() if world.user(persona) else None
    status = attempt.status
    if status >= 500:
        return [f"server error {status}"]
    if expected == SIGNED_OUT:
        if not (status == 302 and "login" in attempt.location):
            wrong.append(f"expected a redirect to sign in, got {status} {attempt.location}")
        rows = [(r.action, r.actor_name) for r in new_rows]
        if rows != ([("auth.logout", who)] if persona in PEOPLE else []):
            wrong.append(f"sign-out rows {rows}")
        return wrong
    if expected == NOOP:
        rows = [(r.action, r.outcome) for r in new_rows]
        return ([f"got {status}"] if status >= 400 else []) + ([f"wrote rows {rows}"] if rows else [])
    if expected == STAFF:
        if "login" in attempt.location:
            wrong.append(f"sent to sign in ({status} {attempt.location})")
        return wrong + [f"wrote rows {[(r.action, r.outcome) for r in new_rows]}"] * bool(new_rows)
    if expected == ALLOWED:
        if status >= 400 or "login" in attempt.location:
            wrong.append(f"refused ({status} {attempt.location or attempt.error[:120]})")
        elif method == "POST" and audited:
            mine = [r for r in new_rows if r.actor_name == who and r.outcome in ("requested", "succeeded")]
            if not mine:
                wrong.append(f"allowed without an audit row ({[(r.action, r.outcome) for r in new_rows]})")
        if any(r.outcome == "denied" for r in new_rows):
            wrong.append("allowed, yet a denied row")
        return wrong
    if Job.objects.count() != jobs_before:
        wrong.append("a refused request created a job")
    if any(r.outcome in ("requested", "succeeded") for r in new_rows):
        wrong.append(f"a refused request left a success row {[(r.action, r.outcome) for r in new_rows]}")
    if expected == DENIED:
        if status != 403:
            wrong.append(f"expected 403, got {status}")
        if not [r for r in new_rows if r.outcome == "denied" and r.actor_name == who]:
            wrong.append(f"no denied row by {who}")
    elif expected == EXPIRED:
        if status != 401:
            wrong.append(f"expected 401, got {status}")
        if [(r.action, r.outcome, r.actor_name) for r in new_rows] != [("api_token.use", "refused", who)]:
            wrong.append(f"expected one refused use of the token, got {[(r.action, r.outcome) for r in new_rows]}")
    else:
        if expected == LOGIN and not (status == 302 and "login" in attempt.location):
            wrong.append(f"expected a redirect to sign in, got {status} {attempt.location}")
        if expected == UNAUTH and status != 401:
            wrong.append(f"expected 401, got {status}")
        if expected == QUIET and status < 400:
            wrong.append(f"expected a refusal, got {status}")
        if new_rows:
            wrong.append(f"a quiet refusal wrote rows {[(r.action, r.outcome) for r in new_rows]}")
    return wrong


def in_savepoint(world, persona, expected, attempt_fn, *, audited=True, method="POST"):
    with transaction.atomic():
        last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        jobs_before = Job.objects.count()
        attempt = attempt_fn()
        new_rows = list(AuditEvent.objects.filter(id__gt=last))
        wrong = judge(world, expected, persona, attempt, new_rows, jobs_before, audited=audited, method=method)
        transaction.set_rollback(True)
    return wrong


def http_attempt(client, method, url, data, *, as_json=False):
    if method == "GET":
        response = client.get(url, data)
    elif as_json:
        response = client.post(url, json.dumps(data), content_type="application/json")
    else:
        response = client.post(url, data)
    body = b"" if getattr(response, "streaming", False) else response.content
    return Attempt(response.status_code, response.get("Location", ""), body.decode(errors="replace"))


def _site_ids():
    return [r for r in dict.fromkeys(url_routes()) if not (r.startswith("api/v1/") and r not in SITE)]


@pytest.mark.parametrize("route", _site_ids())
def test_each_persona_on_each_route_of_the_site(world, route):
    entry = site_entry(route)
    url, data = (None, None) if entry.build else (world.site.url(route), {})
    failures = {}
    for persona in PERSONAS:
        if entry.build:
            url, data = entry.build(world, persona)
        expected = RULES[entry.rule][persona]
        client = browser(world, persona)
        wrong = in_savepoint(world, persona, expected, partial(http_attempt, client, entry.method, url, data),
                             audited=entry.audited, method=entry.method)
        if wrong:
            failures[persona] = (expected, wrong)
    assert failures == {}, f"{entry.method} {url}"


@pytest.mark.parametrize("operation", list(API), ids=[f"{m} {p}" for p, m in API])
def test_each_persona_on_each_operation_of_the_api(world, operation):
    path, method = operation
    entry = API[operation]
    failures = {}
    for persona in PERSONAS:
        url, data = entry.build(world, persona) if entry.build else (path, {})
        expected = RULES[entry.rule][persona]
        client = api_client(world, persona)
        wrong = in_savepoint(world, persona, expected,
                             partial(http_attempt, client, method, f"/api/v1{url}", data, as_json=True),
                             audited=entry.audited, method=method)
        if wrong:
            failures[persona] = (expected, wrong)
    assert failures == {}, f"{method} /api/v1{path}"


def cli_attempt(world, persona, argv):
    token = world.secrets.get(persona)
    options = vars(cli.parser().parse_args(argv))
    options.pop("traceback"), options.pop("url")
    try:
        cli.run(ClientTransport(Client(), token), options, out=io.StringIO())
    except CliError as exc:
        return Attempt(exc.status or 0, error=exc.message)
    return Attempt(200)


@pytest.mark.parametrize("command", [spec.name for spec in commands.SPECS])
def test_each_persona_on_each_command_of_the_cli(world, command):
    rule, argv = CLI[command]
    argv = argv(world) if callable(argv) else argv
    acts = rule != "api_read"
    failures = {}
    for persona in PERSONAS:
        expected = RULES[rule][persona]
        wrong = in_savepoint(world, persona, expected, partial(cli_attempt, world, persona, list(argv)),
                             method="POST" if acts else "GET")
        if wrong:
            failures[persona] = (expected, wrong)
    assert failures == {}, "cryo " + " ".join(argv)


def test_the_matrix_counts_its_cells():
    per_surface = {s: sum(1 for c in CELLS if c[0] == s) for s in ("site", "api", "cli")}
    assert sum(per_surface.values()) == len(CELLS)
    assert per_surface["api"] == len(PERSONAS) * len(API) and per_surface["cli"] == len(PERSONAS) * len(CLI)
    assert len(CELLS) > 1000, per_surface
    assert not re.search(r"\s", "".join(PERSONAS))
