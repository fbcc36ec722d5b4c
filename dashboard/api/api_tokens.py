"""A person's own API tokens: list, make (shown once) and revoke. A read token can list them only."""
from ninja import Status

from snapshots.services import tokens

from .api import api, origin
from .schemas import ApiTokenIn


@api.get("/tokens", url_name="api-tokens")
def token_list(request):
    return [tokens.token_dict(row) for row in tokens.tokens_of(request.user)]


@api.post("/tokens", response={201: dict}, url_name="api-token-create")
def token_create(request, payload: ApiTokenIn):
    row, token = tokens.create_token(request.user, name=payload.name, scope=payload.scope, days=payload.days,
                                     origin=origin(request), via=getattr(request, "cryo_token", None))
    return Status(201, {**tokens.token_dict(row), "token": token})


@api.post("/tokens/{token}/revoke", url_name="api-token-revoke")
def token_revoke(request, token: str):
    found = tokens.find_own(request.user, token, origin(request))
    return tokens.token_dict(tokens.revoke_token(request.user, found, origin=origin(request)))
