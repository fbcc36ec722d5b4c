"""A limit on refused requests: whoever collects CRYO_REFUSAL_LIMIT refusals (400, 401, 403, 404, 405, 409, 422,
429) within CRYO_REFUSAL_WINDOW seconds is answered 429 until the window ends, without the request reaching a
view, so probing, guessing tokens or hammering a busy container costs one cache read per request.

Counted per client address, per signed-in person and per bearer token (its digest), in Django's cache (shared
between web processes with CRYO_CACHE_URL). The first throttled request of each window is audited; the host
agents' own API (their refusals are audited where they happen), static files and metrics are left alone."""
import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import render

from snapshots.services import Origin, audit

REFUSED = {400, 401, 403, 404, 405, 409, 422, 429}
EXEMPT = ("/agent/", "/static/", "/metrics")


def identities(request):
    """Who is asking, as far as the request says before any view runs."""
    keys = [f"addr:{getattr(request, 'client_address', '') or request.META.get('REMOTE_ADDR', '')}"]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        keys.append(f"user:{user.pk}")
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:7].lower() == "bearer ":
        keys.append("token:" + hashlib.sha256(header[7:].strip().encode()).hexdigest()[:32])
    return keys


def _window():
    return int(time.time() // settings.CRYO_REFUSAL_WINDOW)


def _key(identity, window):
    return f"cryo:refused:{window}:{identity}"


def count(identity):
    return cache.get(_key(identity, _window()), 0)


def note_refusal(keys):
    window = _window()
    for identity in keys:
        key = _key(identity, window)
        if not cache.add(key, 1, timeout=settings.CRYO_REFUSAL_WINDOW * 2):
            try:
                cache.incr(key)
            except ValueError:  # expired between the two calls
                cache.add(key, 1, timeout=settings.CRYO_REFUSAL_WINDOW * 2)


class RefusalLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(EXEMPT):
            return self.get_response(request)
        keys = identities(request)
        over = [k for k in keys if count(k) >= settings.CRYO_REFUSAL_LIMIT]
        if over:
            return self.throttled(request, over)
        response = self.get_response(request)
        if response.status_code in REFUSED:
            user = getattr(request, "user", None)  # the API signs its token's owner in as it answers
            if user is not None and user.is_authenticated and f"user:{user.pk}" not in keys:
                keys.append(f"user:{user.pk}")
            note_refusal(keys)
        return response

    def throttled(self, request, over):
        seconds = settings.CRYO_REFUSAL_WINDOW - int(time.time()) % settings.CRYO_REFUSAL_WINDOW
        message = (f"too many refused requests ({settings.CRYO_REFUSAL_LIMIT} within {settings.CRYO_REFUSAL_WINDOW} s)"
                   f"; try again in {seconds} s")
        window = _window()
        if cache.add(f"cryo:throttled:{window}:{over[0]}", 1, timeout=settings.CRYO_REFUSAL_WINDOW * 2):
            user = getattr(request, "user", None)
            with transaction.atomic():
                audit.record(actor=user if user is not None and user.is_authenticated else None,
                             actor_label=None if user is not None and user.is_authenticated else "anonymous",
                             action="request.throttled", outcome="refused", origin=Origin.web(request),
                             details={"reason": message, "by": over[0].split(":", 1)[0],
                                      "path": request.path[:200], "method": request.method})
        if request.path.startswith("/api/"):
            response = JsonResponse({"error": message}, status=429)
        else:
            response = render(request, "errors/429.html", {"reason": message}, status=429)
        response["Retry-After"] = str(seconds)
        return response
