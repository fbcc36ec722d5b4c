"""The edges of single sign-on that the provider test cannot reach: ID tokens that a real provider would never
issue to us (another audience, another issuer, expired, another algorithm, unsigned) are refused; odd groups
claims give no more than they say. The whole sign-in runs against a real provider in tests/web."""
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import Group, User
from django.core.exceptions import SuspiciousOperation

from dashboard.sso import CryoOIDCBackend
from snapshots.services.access import ADMIN_GROUP

ISSUER = "https://idp.example.test"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def backend(settings):
    settings.CRYO_OIDC_ENABLED = True
    settings.CRYO_OIDC_ISSUER = ISSUER
    settings.OIDC_RP_CLIENT_ID = "cryo"
    settings.OIDC_RP_CLIENT_SECRET = "secret"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{ISSUER}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{ISSUER}/me"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{ISSUER}/jwks"
    settings.CRYO_OIDC_ADMIN_GROUP = "platform-admins"
    return CryoOIDCBackend()


def token(key=KEY, algorithm="RS256", **claims):
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": "cryo", "sub": "s-1", "iat": now, "exp": now + 300, "nonce": "n", **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm=algorithm)


def public(key=KEY):
    return key.public_key()


def test_a_token_from_our_provider_for_us_is_accepted(backend):
    assert backend.get_payload_data(token(), public())["sub"] == "s-1"


@pytest.mark.parametrize("forged", [
    {"aud": "another-client"},
    {"iss": "https://evil.example.test"},
    {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
    {"sub": None},
    {"exp": None},
])
def test_a_token_with_wrong_claims_is_refused(backend, forged):
    with pytest.raises(SuspiciousOperation):
        backend.get_payload_data(token(**forged), public())


def test_a_token_signed_by_another_key_is_refused(backend):
    with pytest.raises(SuspiciousOperation):
        backend.get_payload_data(token(key=OTHER_KEY), public())


def test_an_unsigned_or_hmac_token_is_refused(backend):
    unsigned = jwt.encode({"iss": ISSUER, "aud": "cryo", "sub": "s-1", "exp": time.time() + 60}, None,
                          algorithm="none")
    hmac = jwt.encode({"iss": ISSUER, "aud": "cryo", "sub": "s-1", "exp": time.time() + 60}, "a-shared-secret-" * 3,
                      algorithm="HS256")
    for forged in (unsigned, hmac):
        with pytest.raises(SuspiciousOperation, match="signed with"):
            backend.get_payload_data(forged, public())


@pytest.mark.django_db
@pytest.mark.parametrize("claim, teams", [
    (["team-a", "platform-admins"], ["cryo-admins", "team-a"]),
    ("team-a", ["team-a"]),
    ([ADMIN_GROUP], []),
    (["x" * 151, {"name": "team-z"}, None, "", "team-b"], ["team-b"]),
    (None, []),
])
def test_the_groups_claim_sets_exactly_the_teams_it_names(backend, settings, claim, teams):
    user = User.objects.create_user("sso-person")
    user.groups.add(Group.objects.create(name="stale-team"))
    backend._sync_groups(user, {"groups": claim})
    assert sorted(user.groups.values_list("name", flat=True)) == teams
