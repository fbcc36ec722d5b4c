"""The account page: who I am, my teams and role, and two-factor sign-in with an authenticator app (TOTP,
django-otp). Setting it up takes two posts: one makes a new secret (shown once, as a QR code), the next proves a
code from the app and turns it on. Turning it off needs a current code. Each change is audited."""
import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from dashboard.sign_in import signed_in_with_sso
from snapshots.services import Origin, access, audit, tokens

from .access import viewer_required
from .api_tokens import TokenForm
from .render import render_page


class CodeForm(forms.Form):
    code = forms.CharField(label="Code from your authenticator app", min_length=6, max_length=8,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                         "autofocus": True}))

    def clean_code(self):
        code = self.cleaned_data["code"].replace(" ", "")
        if not code.isdigit():
            raise forms.ValidationError("Enter the digits your app shows.")
        return code


def _devices(user):
    devices = TOTPDevice.objects.filter(user=user)
    return devices.filter(confirmed=True).first(), devices.filter(confirmed=False).first()


def _record(request, outcome, change):
    with transaction.atomic():
        audit.record(actor=request.user, action="account.second_factor", outcome=outcome, origin=Origin.web(request),
                     details={"user": request.user.get_username(), "change": change})


@require_GET
@never_cache
@viewer_required
def account(request):
    device, setting_up = _devices(request.user)
    context = {
        "role": access.role_name(request.user),
        "teams": sorted(request.user.groups.values_list("name", flat=True)),
        "sso": signed_in_with_sso(request),
        "device": device,
        "setting_up": setting_up,
        "required": settings.CRYO_REQUIRE_SECOND_FACTOR,
        "form": CodeForm(),
        "tokens": tokens.tokens_of(request.user),
        "token_form": TokenForm(),
    }
    if setting_up is not None:
        context["qr_svg"] = segno.make(setting_up.config_url, error="m").svg_inline(scale=4, dark="#16213a")
        context["secret"] = setting_up.config_url.split("secret=", 1)[1].split("&", 1)[0]
    return render_page(request, "accounts/account.html", context)


@require_POST
@viewer_required
def start(request):
    """A new secret, not yet in use: the person proves it with a code next."""
    device, _ = _devices(request.user)
    if device is not None:
        messages.error(request, "Two-factor sign-in is already on.")
        return redirect("account")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
        TOTPDevice.objects.create(user=request.user, name="authenticator app", confirmed=False)
    return redirect("account")


@sensitive_post_parameters("code")
@require_POST
@viewer_required
@transaction.atomic
def confirm(request):
    _, setting_up = _devices(request.user)
    form = CodeForm(request.POST)
    if setting_up is None:
        return redirect("account")
    if form.is_valid() and setting_up.verify_token(form.cleaned_data["code"]):
        setting_up.confirmed = True
        setting_up.save(update_fields=["confirmed"])
        otp_login(request, setting_up)  # this session has just proven it; the person's other sessions have not
        _record(request, "succeeded", "turned on")
        messages.success(request, "Two-factor sign-in is on: sign-ins now ask for a code from your app.")
    else:
        messages.error(request, "That code is not right. Enter the code your app shows now.")
    return redirect("account")


@sensitive_post_parameters("code")
@require_POST
@viewer_required
@transaction.atomic
def remove(request):
    device, _ = _devices(request.user)
    if device is None:
        return redirect("account")
    if settings.CRYO_REQUIRE_SECOND_FACTOR:
        _record(request, "denied", "turn off refused: two-factor sign-in is required")
        messages.error(request, "Two-factor sign-in is required here; an admin can reset it for you.")
        return redirect("account")
    form = CodeForm(request.POST)
    if not (form.is_valid() and device.verify_token(form.cleaned_data["code"])):
        _record(request, "denied", "turn off refused: wrong code")
        messages.error(request, "That code is not right; two-factor sign-in stays on.")
        return redirect("account")
    device.delete()
    _record(request, "succeeded", "turned off")
    messages.success(request, "Two-factor sign-in is off.")
    return redirect("account")
