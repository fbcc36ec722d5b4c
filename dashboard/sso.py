"""Single sign-on with OpenID Connect (mozilla-django-oidc, authorization code flow with PKCE), beside local accounts.

- The ID token is checked for its signature, its issuer (CRYO_OIDC_ISSUER), its audience (our client id) and its
  expiry; the nonce and state by mozilla-django-oidc.
- A person is found by the provider's (issuer, subject), never by e-mail or user name: a provider account whose
  user name is already a local account's is refused (audited), so single sign-on cannot take over local accounts.
- At every sign-in the groups claim sets the person's teams (Django groups); the value CRYO_OIDC_ADMIN_GROUP makes
  them a Cryo admin (the cryo-admins group), and only that value does: a claim that names "cryo-admins" otherwise
  is ignored. Each change is audited as done by the provider.
"""
import logging
from urllib.parse import urlsplit

import jwt
import requests
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import Http404
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from snapshots import audit_context
from snapshots.models import ExternalIdentity
from snapshots.services.access import ADMIN_GROUP

log = logging.getLogger(__name__)
GROUP_NAME_MAX = 150


def provider_label():
    return f"sso:{urlsplit(settings.CRYO_OIDC_ISSUER).netloc or settings.CRYO_OIDC_ISSUER}"


def _refuse(request, username, reason):
    """Tell the audit row of the failed sign-in (written by Django's user_login_failed signal) who and why."""
    if request is not None:
        request.cryo_sign_in_failure = (username, reason)
    raise SuspiciousOperation(reason)


class CryoOIDCBackend(OIDCAuthenticationBackend):
    def authenticate(self, request, **kwargs):
        if not settings.CRYO_OIDC_ENABLED:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except (SuspiciousOperation, requests.RequestException, ValueError) as exc:
            # Refused (forged or foreign token, unreachable provider): no session, and Django's user_login_failed
            # signal writes the audit row with this reason.
            log.warning("single sign-on refused: %s", exc)
            if request is not None and not getattr(request, "cryo_sign_in_failure", None):
                request.cryo_sign_in_failure = ("", f"single sign-on refused: {exc}")
            return None

    def get_payload_data(self, token, key):
        alg = jwt.get_unverified_header(token).get("alg")
        if alg != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(f"the ID token is signed with {alg!r}, not {self.OIDC_RP_SIGN_ALGO}")
        try:
            return jwt.decode(
                token, key, algorithms=[self.OIDC_RP_SIGN_ALGO], audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.CRYO_OIDC_ISSUER, options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"the ID token was refused: {exc}") from None

    def verify_claims(self, claims):
        return bool(claims.get("sub")) and bool(claims.get(settings.CRYO_OIDC_USERNAME_CLAIM))

    def filter_users_by_claims(self, claims):
        return self.UserModel.objects.filter(external_identities__issuer=settings.CRYO_OIDC_ISSUER,
                                             external_identities__subject=claims["sub"])

    def get_username(self, claims):
        return str(claims[settings.CRYO_OIDC_USERNAME_CLAIM])[:150]

    def create_user(self, claims):
        username = self.get_username(claims)
        if self.UserModel.objects.filter(username=username).exists():
            _refuse(self.request, username, f"the user name {username} belongs to another account; an admin must "
                                            "rename one of them before it can sign in with single sign-on")
        with transaction.atomic(), audit_context.acting_as(provider_label()):
            user = self.UserModel.objects.create_user(username, email=claims.get("email", ""))
            ExternalIdentity.objects.create(user=user, issuer=settings.CRYO_OIDC_ISSUER, subject=claims["sub"])
            self._sync_groups(user, claims)
        return user

    def update_user(self, user, claims):
        with transaction.atomic(), audit_context.acting_as(provider_label()):
            email = claims.get("email", "")
            if email and email != user.email:
                user.email = email
                user.save(update_fields=["email"])
            self._sync_groups(user, claims)
        return user

    def _sync_groups(self, user, claims):
        names = claims.get(settings.CRYO_OIDC_GROUPS_CLAIM) or []
        if isinstance(names, str):
            names = [names]
        names = {str(n) for n in names if isinstance(n, (str, int)) and 0 < len(str(n)) <= GROUP_NAME_MAX}
        admin = settings.CRYO_OIDC_ADMIN_GROUP in names
        teams = names - {settings.CRYO_OIDC_ADMIN_GROUP, ADMIN_GROUP}
        wanted = [Group.objects.get_or_create(name=name)[0] for name in sorted(teams)]
        if admin:
            wanted.append(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
        current = set(user.groups.values_list("pk", flat=True))
        target = {g.pk for g in wanted}
        if current - target:
            user.groups.remove(*(current - target))
        if target - current:
            user.groups.add(*(target - current))


def _enabled(view):
    def wrapped(request, *args, **kwargs):
        if not settings.CRYO_OIDC_ENABLED:
            raise Http404("single sign-on is not configured")
        return view(request, *args, **kwargs)

    return wrapped


authenticate = _enabled(OIDCAuthenticationRequestView.as_view())
callback = _enabled(OIDCAuthenticationCallbackView.as_view())
