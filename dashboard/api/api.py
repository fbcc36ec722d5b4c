"""The JSON API for people and automation (v1): a personal token acts as its owner, with the owner's role, through
the same actions as the pages; `cryo` (the CLI) is a client of it. Every field is checked against its schema."""
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer

from snapshots.errors import CryoError, http_status
from snapshots.models import ApiToken
from snapshots.services import Origin, tokens


class PersonalToken(HttpBearer):
    """Authorization: Bearer cryo_...; or, inside the dashboard's own process only, the local admin of `manage.py
    cryo --as` (a request object attribute that no HTTP request can set)."""

    def __call__(self, request):
        local = getattr(request, "cryo_local_actor", None)
        if local is not None:
            request.user = local
            return local
        return super().__call__(request)

    def authenticate(self, request, token):
        """The token's owner, if the token works now and its scope allows this request. A known token that is
        revoked or expired is refused with a row on record; a read token asking for more is refused (403)."""
        row = ApiToken.find(token)
        if row is None:
            return None
        why = row.refusal()
        if why:
            tokens.refuse_use(row, origin(request), why)
            raise TokenRefused(f"this API token is {why}" if why in ("revoked", "expired") else
                               f"this API token no longer works: {why}")
        tokens.require_scope(row, row.user, request.method, request.path, origin(request))
        row.touch()
        request.user, request.cryo_token = row.user, row
        return row.user


class TokenRefused(AuthenticationError):
    """A known token that does not work (now)."""

    def __init__(self, message):
        super().__init__(401, message)


api = NinjaAPI(title="Cryo API", version="1", urls_namespace="api-v1", auth=PersonalToken(), docs_url="/docs")


def origin(request):
    local = getattr(request, "cryo_local_origin", None)
    if local is not None:
        return local
    address = getattr(request, "client_address", None) or request.META.get("REMOTE_ADDR", "")
    return Origin(source=f"api:{address}", request_id=getattr(request, "request_id", ""))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    why = exc.message if isinstance(exc, TokenRefused) else "a valid API token is required"
    response = api.create_response(
        request, {"error": f"{why}: Authorization: Bearer <token> (make one on your account page, with "
                           "`cryo token create`, or `python manage.py cryo api-token --as USERNAME`)"}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="cryo"'
    return response


@api.exception_handler(ValidationError)
def _invalid(request, exc):
    first = exc.errors[0] if exc.errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "payload", "query", "path"))
    return api.create_response(request, {"error": f"'{where or 'request'}': {first.get('msg', 'invalid')}",
                                         "field": where}, status=400)


@api.exception_handler(CryoError)
def _cryo_error(request, exc):
    return api.create_response(request, {"error": exc.message}, status=http_status(exc))


class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


@api.exception_handler(ApiError)
def _api_error(request, exc):
    return api.create_response(request, {"error": exc.message}, status=exc.status)


from . import api_tokens, hosts, jobs, schedules  # noqa: E402,F401  (the endpoints register themselves on `api`)
