"""The API's one entry helper: a bearer token names the person; domain errors become JSON with an HTTP status."""
import json
from functools import wraps

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from snapshots.errors import AccessDenied, Busy, CryoError, InvalidRequest
from snapshots.models import ApiToken
from snapshots.services import Origin

STATUS = {InvalidRequest: 400, AccessDenied: 403, Busy: 409}


class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def error(status, message):
    return JsonResponse({"error": message}, status=status)


def origin(request):
    return Origin(source=f"api:{request.META.get('REMOTE_ADDR', '')}", request_id=getattr(request, "request_id", ""))


def body(request):
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise ApiError(400, "the request body is not JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return data


def api_view(*methods):
    """Token auth (Authorization: Bearer cryo_...), allowed methods, and errors as JSON. No cookies, so no CSRF."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method not in methods:
                return error(405, f"use {' or '.join(methods)}")
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            user = ApiToken.authenticate(token.strip()) if scheme.lower() == "bearer" else None
            if user is None:
                response = error(401, "a valid API token is required: Authorization: Bearer <token> "
                                      "(create one with `python manage.py cryo api-token --as USERNAME`)")
                response["WWW-Authenticate"] = 'Bearer realm="cryo"'
                return response
            request.user = user
            try:
                return view(request, *args, **kwargs)
            except ApiError as exc:
                return error(exc.status, exc.message)
            except CryoError as exc:
                return error(next((s for kind, s in STATUS.items() if isinstance(exc, kind)), 400), exc.message)

        return wrapped

    return decorate
