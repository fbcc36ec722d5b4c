"""API tokens have a lifetime and a scope: made, listed and revoked on the account page, through the API and the
CLI; a read token cannot act; an expired or revoked one is refused. Every change and refusal is on record."""
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from snapshots.cli import main as cli
from snapshots.cli.transport import CliError, _message
from snapshots.models import ApiToken, AuditEvent, Job

pytestmark = pytest.mark.django_db


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post(client, url, data, token):
    return client.post(url, json.dumps(data), content_type="application/json", **bearer(token))


CHECKPOINT = {"kind": "checkpoint", "host": "alpha", "container": "web-1"}


class ClientTransport:
    """The CLI's transport over Django's test client: the same API code answers, with a bearer token."""

    def __init__(self, client, token):
        self.client, self.token = client, token

    def call(self, method, path, params=None, body=None):
        auth = bearer(self.token) if self.token else {}
        params = {k: v for k, v in (params or {}).items() if v not in (None, False)}
        if method == "GET":
            response = self.client.get(f"/api/v1{path}", params, **auth)
        else:
            response = self.client.generic(method, f"/api/v1{path}", json.dumps(body or {}),
                                           content_type="application/json", **auth)
        if response.status_code >= 400:
            raise CliError(_message(response.content, response.status_code), response.status_code)
        return response.json()


def run_cli(client, token, *argv):
    out = io.StringIO()
    options = vars(cli.parser().parse_args(list(argv)))
    options.pop("traceback"), options.pop("url")
    cli.run(ClientTransport(client, token), options, out=out)
    return out.getvalue()


# -- the page ----------------------------------------------------------------------------------------
def test_the_account_page_makes_a_token_shows_it_once_and_lists_it(client, people):
    client.force_login(people.vic)
    response = client.post("/account/tokens/", {"name": "backup script", "scope": "read", "days": 30})
    assert response.status_code == 201
    row = ApiToken.objects.get(user=people.vic)
    secret = response.context["token"]
    assert secret.startswith("cryo_" + row.prefix) and secret.encode() in response.content
    assert (row.scope, row.name) == ("read", "backup script")
    assert timedelta(days=29, hours=23) < row.expires_at - timezone.now() <= timedelta(days=30)
    page = client.get("/account/")
    assert row.prefix.encode() in page.content and secret.encode() not in page.content
    event = AuditEvent.objects.get(action="api_token.create")
    assert (event.actor_name, event.details["scope"], event.details["token"]) == ("vic", "read", row.prefix)


def test_a_token_lives_ninety_days_unless_chosen_otherwise(people):
    row, _ = ApiToken.issue(people.vic, "default")
    assert timedelta(days=89, hours=23) < row.expires_at - timezone.now() <= timedelta(days=90)


@pytest.mark.parametrize("data", [
    {"name": "x", "scope": "read", "days": 0}, {"name": "x", "scope": "read", "days": 366},
    {"name": "x", "scope": "admin", "days": 5}, {"name": "", "scope": "read", "days": 5},
])
def test_the_page_refuses_a_bad_token_request_and_makes_nothing(client, people, data):
    client.force_login(people.vic)
    response = client.post("/account/tokens/", data, follow=True)
    assert b"Token not made" in response.content
    assert not ApiToken.objects.exists() and not AuditEvent.objects.filter(action="api_token.create").exists()


def test_a_person_revokes_their_token_on_the_page(client, people):
    row, secret = ApiToken.issue(people.otto, "ci")
    client.force_login(people.otto)
    assert client.post(f"/account/tokens/{row.pk}/revoke/").status_code == 302
    row.refresh_from_db()
    assert row.revoked_at is not None and row.state == "revoked"
    assert AuditEvent.objects.get(action="api_token.revoke").details["token"] == row.prefix
    assert client.get("/api/v1/hosts", **bearer(secret)).status_code == 401


def test_nobody_revokes_another_persons_token(client, people):
    row, secret = ApiToken.issue(people.otto, "ci")
    client.force_login(people.vic)
    assert client.post(f"/account/tokens/{row.pk}/revoke/").status_code == 403
    row.refresh_from_db()
    assert row.revoked_at is None
    denied = AuditEvent.objects.get(outcome="denied")
    assert (denied.actor_name, denied.action) == ("vic", "api_token.revoke")
    assert client.get("/api/v1/hosts", **bearer(secret)).status_code == 200


# -- scopes, expiry, revocation -------------------------------------------------------------------------
def test_a_read_token_reads_but_cannot_act(client, fleet, people):
    _, secret = ApiToken.issue(people.ada, "dashboards", scope="read")
    assert client.get("/api/v1/hosts", **bearer(secret)).status_code == 200
    response = post(client, "/api/v1/jobs", CHECKPOINT, secret)
    assert response.status_code == 403 and "read-only" in response.json()["error"]
    assert not Job.objects.exists()
    denied = AuditEvent.objects.get(outcome="denied")
    assert (denied.actor_name, denied.action) == ("ada", "api_token.scope")


def test_an_operate_token_acts_as_its_owner_may(client, fleet, people):
    _, secret = ApiToken.issue(people.otto, "ci", scope="operate")
    assert post(client, "/api/v1/jobs", CHECKPOINT, secret).status_code == 202
    assert post(client, "/api/v1/jobs", {**CHECKPOINT, "host": "beta", "container": "cache-1"},
                secret).status_code == 403


@pytest.mark.parametrize("state", ["expired", "revoked"])
def test_an_expired_or_revoked_token_is_refused_and_its_use_recorded(client, fleet, people, state):
    row, secret = ApiToken.issue(people.ada, "old", scope="operate")
    past = timezone.now() - timedelta(seconds=1)
    ApiToken.objects.filter(pk=row.pk).update(**{"expires_at" if state == "expired" else "revoked_at": past})
    for response in (client.get("/api/v1/hosts", **bearer(secret)), post(client, "/api/v1/jobs", CHECKPOINT, secret)):
        assert response.status_code == 401 and f"this API token is {state}" in response.json()["error"]
    assert not Job.objects.exists()
    row.refresh_from_db()
    assert row.last_used_at is None
    refused = list(AuditEvent.objects.filter(action="api_token.use").values_list("outcome", "actor_name", "details"))
    assert refused == [("refused", "ada", {"token": row.prefix, "reason": state})] * 2


def test_a_token_records_its_last_use(client, fleet, people):
    row, secret = ApiToken.issue(people.vic, "ci", scope="read")
    client.get("/api/v1/hosts", **bearer(secret))
    row.refresh_from_db()
    assert row.last_used_at is not None and timezone.now() - row.last_used_at < timedelta(seconds=5)


# -- the API and the CLI -------------------------------------------------------------------------------
def test_the_api_lists_makes_and_revokes_only_ones_own_tokens(client, people):
    _, ada_secret = ApiToken.issue(people.ada, "ada's", scope="operate")
    otto_row, otto_secret = ApiToken.issue(people.otto, "otto's", scope="operate")
    made = post(client, "/api/v1/tokens", {"name": "nightly", "scope": "read", "days": 7}, otto_secret)
    assert made.status_code == 201 and made.json()["token"].startswith("cryo_")
    listed = client.get("/api/v1/tokens", **bearer(otto_secret)).json()
    assert sorted(t["name"] for t in listed) == ["nightly", "otto's"] and all("token" not in t for t in listed)
    refused = post(client, f"/api/v1/tokens/{otto_row.prefix}/revoke", {}, ada_secret)
    assert refused.status_code == 403
    assert ApiToken.objects.get(pk=otto_row.pk).revoked_at is None
    assert post(client, f"/api/v1/tokens/{otto_row.pk}/revoke", {}, otto_secret).json()["state"] == "revoked"


def test_a_read_token_cannot_make_tokens(client, people):
    _, secret = ApiToken.issue(people.otto, "ro", scope="read")
    assert post(client, "/api/v1/tokens", {"name": "wider", "scope": "operate"}, secret).status_code == 403
    assert ApiToken.objects.count() == 1


@pytest.mark.parametrize("body, field", [
    ({"name": "x", "days": 0}, "days"), ({"name": "x", "days": True}, "days"), ({"name": "x", "days": "5"}, "days"),
    ({"name": "x", "scope": "root"}, "scope"), ({"name": ""}, "name"), ({"name": "x", "extra": 1}, "extra"),
])
def test_the_api_refuses_a_bad_token_request_naming_the_field(client, people, body, field):
    _, secret = ApiToken.issue(people.otto, "ci", scope="operate")
    response = post(client, "/api/v1/tokens", body, secret)
    assert response.status_code == 400 and response.json()["field"] == field
    assert ApiToken.objects.count() == 1


def test_the_cli_makes_lists_and_revokes_tokens(client, people):
    _, secret = ApiToken.issue(people.otto, "laptop", scope="operate")
    out = run_cli(client, secret, "token", "create", "nightly backup", "--days", "10")
    new = out.splitlines()[0]
    assert new.startswith("cryo_") and "(read) works until" in out
    listing = run_cli(client, secret, "token", "list")
    assert "nightly backup" in listing and "laptop" in listing and new not in listing
    prefix = ApiToken.objects.get(name="nightly backup").prefix
    assert "revoked" in run_cli(client, secret, "token", "revoke", prefix)
    assert client.get("/api/v1/hosts", **bearer(new)).status_code == 401
    actions = list(AuditEvent.objects.filter(action__startswith="api_token.").values_list("action", flat=True))
    assert sorted(actions) == ["api_token.create", "api_token.revoke", "api_token.use"]


def test_the_cli_says_what_a_read_token_cannot_do(client, people):
    _, secret = ApiToken.issue(people.otto, "ro", scope="read")
    with pytest.raises(CliError, match="read-only"):
        run_cli(client, secret, "token", "create", "wider", "--scope", "operate")
