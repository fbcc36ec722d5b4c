"""Personal API tokens: made, listed and revoked by their owner (page, API, CLI), every change and every refused
use audited. A token acts as its owner, narrowed by its scope: a `read` token may only read."""
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..errors import AccessDenied, InvalidRequest
from ..models import ApiToken
from . import access, audit

SCOPES = [choice for choice, _label in ApiToken.Scope.choices]


def _checked(name, scope, days):
    name = (name or "").strip()
    if not name or len(name) > 100 or any(not c.isprintable() for c in name):
        raise InvalidRequest("a token's name says what it is for: 1 to 100 printable characters")
    if scope not in SCOPES:
        raise InvalidRequest(f"a token's scope is one of {', '.join(SCOPES)}, not {str(scope)[:20]!r}")
    days = settings.CRYO_API_TOKEN_DAYS if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= settings.CRYO_API_TOKEN_MAX_DAYS:
        raise InvalidRequest(f"a token works for 1 to {settings.CRYO_API_TOKEN_MAX_DAYS} days")
    return name, scope, days


def create_token(actor, *, name, scope, days=None, origin, via=None):
    """A new token of the actor's own (returned once, in clear). Made with a token, it cannot be wider than it."""
    if not access.can_view(actor):
        raise AccessDenied("only a signed-in person may make an API token")
    name, scope, days = _checked(name, scope, days)
    if via is not None and scope == ApiToken.Scope.OPERATE and not via.can_operate:
        access.deny(actor, "api_token.create", origin, why=f"a read token ({via.prefix}…) cannot make an operate token")
    with transaction.atomic():
        row, token = ApiToken.issue(actor, name, scope=scope, days=days)
        audit.record(actor=actor, action="api_token.create", outcome="succeeded", origin=origin,
                     details={"token": row.prefix, "name": name, "scope": scope,
                              "expires_at": row.expires_at.isoformat()})
    return row, token


def tokens_of(user):
    return list(ApiToken.objects.filter(user=user).select_related("user"))


def find_own(actor, ref, origin):
    """One of the actor's tokens by its id or its prefix; another person's token is refused (audited) as unknown."""
    ref = str(ref or "").strip()
    if not ref or len(ref) > 20 or not all(c.isalnum() or c in "-_" for c in ref):
        raise InvalidRequest("name a token by its id or its prefix (as `cryo token list` shows)")
    rows = ApiToken.objects.select_related("user")
    found = rows.filter(pk=int(ref)).first() if ref.isdigit() else None
    found = found or rows.filter(prefix=ref).first()
    if found is None:
        raise InvalidRequest(f"no API token {ref!r}")
    if found.user_id != actor.pk:
        access.deny(actor, "api_token.revoke", origin,
                    why=f"{audit.actor_name(actor)} may not revoke another person's token")
    return found


def revoke_token(actor, token, *, origin):
    if token.user_id != getattr(actor, "pk", None):
        access.deny(actor, "api_token.revoke", origin,
                    why=f"{audit.actor_name(actor)} may not revoke another person's token")
    with transaction.atomic():
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if changed:
            audit.record(actor=actor, action="api_token.revoke", outcome="succeeded", origin=origin,
                         details={"token": token.prefix, "name": token.name})
    token.refresh_from_db()
    return token


def refuse_use(row, origin, why):
    """A known token that no longer works was used: on record, with its owner, then refused."""
    with transaction.atomic():
        audit.record(actor=row.user, action="api_token.use", outcome="refused", origin=origin,
                     details={"token": row.prefix, "reason": why})


def require_scope(row, user, method, path, origin):
    """A read token reads: any other request is refused (403) and audited as denied."""
    if row is not None and not row.can_operate and method not in ("GET", "HEAD", "OPTIONS"):
        access.deny(user, "api_token.scope", origin,
                    why=f"token {row.prefix}… is read-only: {method} {str(path)[:200]} needs an operate token")


def token_dict(row):
    return {"id": row.pk, "name": row.name, "prefix": row.prefix, "scope": row.scope, "state": row.state,
            "created_at": row.created_at, "expires_at": row.expires_at, "last_used_at": row.last_used_at,
            "revoked_at": row.revoked_at}


__all__ = ["create_token", "find_own", "refuse_use", "require_scope", "revoke_token", "token_dict", "tokens_of"]
