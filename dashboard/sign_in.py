"""What a signed-in session may do, checked on every request: sessions end when idle or too old, and a local
account with a second factor (or every local account, with CRYO_REQUIRE_SECOND_FACTOR) must have proven it.

Idle time counts requests a person made: the pages' own polling sends X-Cryo-Poll and does not keep a session
alive. Signing in through single sign-on leaves the second factor to the identity provider."""
import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, logout
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect
from django_otp import user_has_device

SEEN, STARTED, CHECKED = "cryo_seen", "cryo_started", "cryo_second_factor_checked"
CHECK_INTERVAL = 60
POLL_HEADER = "X-Cryo-Poll"
SSO_BACKENDS = {"dashboard.sso.CryoOIDCBackend"}
# Where a person who still has to set up a second factor may go.
ENROLMENT_PATHS = ("/account/", "/logout/", "/static/")


def signed_in_with_sso(request):
    return request.session.get(BACKEND_SESSION_KEY) in SSO_BACKENDS


def start(request):
    now = int(time.time())
    request.session[SEEN] = request.session[STARTED] = now


def on_sign_in(sender, request, user, **kwargs):
    """A session that signs in starts its idle and age clocks now; one that signed in without the second factor
    its account has is checked (and ended) at its next request."""
    if request is not None and hasattr(request, "session"):
        start(request)
        proven = getattr(user, "otp_device", None) is not None
        unchecked = not proven and user_has_device(user, confirmed=True)
        request.session[CHECKED] = 0 if unchecked else int(time.time())


def _to_sign_in(request, text):
    url = f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}"
    if request.htmx:
        return HttpResponseClientRedirect(url)
    messages.info(request, text)
    return redirect(url)


def _end(request, reason, text):
    request.cryo_logout_reason = reason
    logout(request)  # audited as auth.logout with the reason
    return _to_sign_in(request, text)


class SessionLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            seen = request.session.get(SEEN)
            started = request.session.get(STARTED)
            idle = settings.CRYO_SESSION_IDLE_TIMEOUT
            if seen is None or started is None:
                start(request)
            elif now - seen > idle:
                return _end(request, f"idle for more than {idle // 60} minutes",
                            f"You were signed out after {idle // 60} minutes without activity.")
            elif now - started > settings.CRYO_SESSION_MAX_AGE:
                return _end(request, "session too old", "Your session ended; sign in again.")
            elif not request.headers.get(POLL_HEADER) and now - seen >= min(60, max(1, idle // 30)):
                request.session[SEEN] = now  # saved at most about once a minute, not on every request
        return self.get_response(request)


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not user.is_verified() and not signed_in_with_sso(request) \
                and not request.path.startswith("/api/") and self._time_to_check(request):
            if user_has_device(user, confirmed=True):
                # The session began before the second factor was set up (or without it): it must sign in again.
                return _end(request, "second factor not proven", "Sign in again with your authenticator code.")
            if settings.CRYO_REQUIRE_SECOND_FACTOR and not request.path.startswith(ENROLMENT_PATHS):
                if request.htmx:
                    return HttpResponseClientRedirect(reverse("account"))
                messages.info(request, "Set up two-factor sign-in to continue.")
                return redirect("account")
            request.session[CHECKED] = int(time.time())
        return self.get_response(request)

    @staticmethod
    def _time_to_check(request):
        """A session without a second factor looks for one set up since at most once a minute (not a query on
        every request): a session older than the set-up ends within that minute."""
        if settings.CRYO_REQUIRE_SECOND_FACTOR:
            return True
        return int(time.time()) - request.session.get(CHECKED, 0) >= CHECK_INTERVAL
