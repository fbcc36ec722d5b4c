"""Single sign-on against a real OpenID Connect provider (oidc-provider, started by the test on 127.0.0.1): a person
signs in through the provider's own login form; Cryo creates or finds their account by the provider's subject,
sets their teams from the groups claim, maps the admin group to Cryo's admin role and audits it all. Tried as an
attacker would: a wrong password, a provider account named like a local one, a group named like Cryo's admin
group, a replayed or forged callback."""
import pytest
from django.contrib.auth.models import User

from snapshots.models import AuditEvent, ExternalIdentity
from snapshots.services import access
from snapshots.services.access import ADMIN_GROUP

from ..harness.oidc import sign_in, start_provider
from .conftest import make_host

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def provider(live_server, settings, tmp_path):
    started = start_provider(f"{live_server.url}/oidc/callback/", tmp_path / "accounts.json")
    for name, value in started.settings().items():
        setattr(settings, name, value)
    settings.CRYO_OIDC_ADMIN_GROUP = "platform-admins"
    yield started
    started.stop()


def teams(user):
    return sorted(user.groups.values_list("name", flat=True))


def rows(action, **where):
    return list(AuditEvent.objects.filter(action=action, **where).order_by("seq"))


def test_a_person_signs_in_through_the_provider_with_their_teams(live_server, provider, people):
    people.grant(make_host("alpha"))  # team-a operates alpha
    provider.add("sub-0001", "idp-password-1", preferred_username="sam", groups=["team-a", "team-x"])
    browser, page = sign_in(live_server.url, provider, "sub-0001", "idp-password-1")
    assert page.status_code == 200 and page.url == f"{live_server.url}/jobs/", page.url
    assert "sam" in page.text and '<span class="role">Operator</span>' in page.text
    sam = User.objects.get(username="sam")
    assert teams(sam) == ["team-a", "team-x"] and not access.is_admin(sam) and not sam.has_usable_password()
    assert ExternalIdentity.objects.get(user=sam).subject == "sub-0001"
    login = rows("auth.login", outcome="succeeded")[-1]
    assert (login.actor_name, login.details["method"], login.source) == ("sam", "oidc", "127.0.0.1")
    created = rows("account.groups", details__user="sam")[-1]
    assert created.actor_name == f"sso:{provider.issuer.split('//')[1]}" and created.details["added"] == [
        "team-a", "team-x"]


def test_the_admin_group_of_the_provider_makes_a_cryo_admin_and_losing_it_undoes_it(live_server, provider, people):
    provider.add("sub-0002", "idp-password-2", preferred_username="ann", groups=["platform-admins", "team-a"])
    sign_in(live_server.url, provider, "sub-0002", "idp-password-2")
    ann = User.objects.get(username="ann")
    assert access.is_admin(ann) and teams(ann) == [ADMIN_GROUP, "team-a"]
    assert rows("account.admin", details__user="ann")[-1].details[ADMIN_GROUP] == [False, True]

    provider.add("sub-0002", "idp-password-2", preferred_username="ann", groups=["team-b"])
    browser, page = sign_in(live_server.url, provider, "sub-0002", "idp-password-2")
    assert page.url == f"{live_server.url}/jobs/"
    ann = User.objects.get(username="ann")  # the same account, found by its subject
    assert not access.is_admin(ann) and teams(ann) == ["team-b"] and User.objects.filter(username="ann").count() == 1
    assert rows("account.admin", details__user="ann")[-1].details[ADMIN_GROUP] == [True, False]


def test_a_group_named_like_cryos_admin_group_does_not_make_an_admin(live_server, provider, people):
    provider.add("sub-0003", "idp-password-3", preferred_username="mallory", groups=[ADMIN_GROUP, "team-a"])
    sign_in(live_server.url, provider, "sub-0003", "idp-password-3")
    mallory = User.objects.get(username="mallory")
    assert not access.is_admin(mallory) and teams(mallory) == ["team-a"]


def test_a_provider_account_named_like_a_local_account_cannot_take_it_over(live_server, provider, people):
    provider.add("sub-0004", "idp-password-4", preferred_username="ada", email="ada@example.test",
                 groups=["platform-admins"])
    before = (list(people.ada.groups.values_list("name", flat=True)), people.ada.password)
    browser, page = sign_in(live_server.url, provider, "sub-0004", "idp-password-4")
    assert page.url.startswith(f"{live_server.url}/login/?sso=failed")
    assert "_auth_user_id" not in {c.name for c in browser.cookies} and browser.get(
        f"{live_server.url}/jobs/", allow_redirects=False).status_code == 302
    people.ada.refresh_from_db()
    assert (list(people.ada.groups.values_list("name", flat=True)), people.ada.password) == before
    assert not ExternalIdentity.objects.exists() and User.objects.filter(username="ada").count() == 1
    failed = rows("auth.login", outcome="failed")[-1]
    assert "belongs to another account" in failed.details["reason"] and failed.actor_name == "ada"


def test_a_wrong_password_at_the_provider_signs_nobody_in(live_server, provider, people):
    provider.add("sub-0005", "idp-password-5", preferred_username="zoe", groups=["team-a"])
    browser, page = sign_in(live_server.url, provider, "sub-0005", "not-the-password")
    assert page.status_code == 401 and page.url.startswith(provider.issuer)
    assert not User.objects.filter(username="zoe").exists()
    assert browser.get(f"{live_server.url}/jobs/", allow_redirects=False).status_code == 302


def test_a_replayed_callback_signs_nobody_in(live_server, provider, people):
    provider.add("sub-0006", "idp-password-6", preferred_username="rex", groups=["team-a"])
    browser, page = sign_in(live_server.url, provider, "sub-0006", "idp-password-6")
    callback = next(r.headers["Location"] for r in page.history if "/oidc/callback/" in r.headers.get("Location", ""))
    logins = len(rows("auth.login", outcome="succeeded"))
    import requests

    thief = requests.Session()
    stolen = thief.get(callback if callback.startswith("http") else f"{live_server.url}{callback}", timeout=20)
    assert stolen.url.startswith(f"{live_server.url}/login/")
    assert thief.get(f"{live_server.url}/jobs/", allow_redirects=False).status_code == 302
    assert len(rows("auth.login", outcome="succeeded")) == logins


def test_a_forged_callback_signs_nobody_in_and_changes_nothing(live_server, provider, people):
    import requests

    users = User.objects.count()
    forged = requests.get(f"{live_server.url}/oidc/callback/", params={"code": "forged", "state": "forged"},
                          timeout=10)
    assert forged.url.startswith(f"{live_server.url}/login/") and User.objects.count() == users


def test_single_sign_on_is_off_unless_configured(client, settings):
    settings.CRYO_OIDC_ENABLED = False
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
    assert b"single sign-on" not in client.get("/login/").content


def test_a_single_sign_on_session_needs_no_second_cryo_factor(live_server, provider, people, settings):
    settings.CRYO_REQUIRE_SECOND_FACTOR = True
    provider.add("sub-0007", "idp-password-7", preferred_username="kim", groups=["team-a"])
    browser, page = sign_in(live_server.url, provider, "sub-0007", "idp-password-7")
    assert page.url == f"{live_server.url}/jobs/" and page.status_code == 200
