"""Sign-in, sign-out and password change: Django's own views with Cryo's templates, and a second step for people
who set up an authenticator app: after the password, the current code, before the session is signed in.

Failed passwords and codes count towards django-axes' lockout and are audited (snapshots.account_audit)."""
import time

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp.models import Device

from .second_factor import CodeForm

PENDING = "cryo_pending_sign_in"
PENDING_SECONDS = 300


def confirmed_device(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


class SignInView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        device = confirmed_device(user)
        if device is None:
            return super().form_valid(form)
        # The password was right; the session is signed in only once the code is too.
        self.request.session[PENDING] = {
            "user": user.pk, "backend": user.backend, "device": device.persistent_id, "at": int(time.time()),
            "next": self.get_success_url(),
        }
        return redirect("login-code")

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "sso": settings.CRYO_OIDC_ENABLED,
                "sso_failed": self.request.GET.get("sso") == "failed"}


login = SignInView.as_view()
logout = auth_views.LogoutView.as_view()
# Atomic: a password change whose audit row cannot be written does not happen.
password_change = transaction.atomic(auth_views.PasswordChangeView.as_view(
    template_name="accounts/password_change.html", success_url=reverse_lazy("password_change_done")
))
password_change_done = auth_views.PasswordChangeDoneView.as_view(template_name="accounts/password_change_done.html")


def _pending(request):
    """The user and device of a sign-in waiting for its code, or (None, None) if there is none or it expired."""
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None, None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    device = Device.from_persistent_id(pending["device"])
    if user is None or device is None or device.user_id != user.pk or not device.confirmed:
        request.session.pop(PENDING, None)
        return None, None
    return user, device


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_code(request):
    user, device = _pending(request)
    if user is None:
        return redirect("login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        credentials = {"username": user.get_username()}
        if not AxesProxyHandler.is_allowed(request, credentials):
            request.session.pop(PENDING, None)
            return locked_out(request, None, credentials)
        if device.verify_token(form.cleaned_data["code"]):
            pending = request.session.pop(PENDING)
            user.otp_device = device  # django-otp marks the session verified as it signs in
            request.cryo_second_factor = "totp"
            user.backend = pending["backend"]
            auth_login(request, user)
            return redirect(pending["next"])
        user_login_failed.send(sender=__name__, request=request,
                               credentials={**credentials, "cryo_reason": "wrong authenticator code"})
        if getattr(request, "axes_locked_out", False):
            request.session.pop(PENDING, None)
            return locked_out(request, None, credentials)
        form.add_error("code", "That code is not right, or came too soon after a wrong one. Enter the current code.")
    return render(request, "accounts/login_code.html", {"form": form}, status=422 if form.errors else 200)


def locked_out(request, response, credentials, *args, **kwargs):
    """django-axes' lockout answer (AXES_LOCKOUT_CALLABLE): the sign-in page, saying why, with 429."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    form = auth_views.AuthenticationForm(request)
    context = {"form": form, "locked_out": True, "minutes": minutes, "sso": settings.CRYO_OIDC_ENABLED}
    return render(request, "accounts/login.html", context, status=429)
