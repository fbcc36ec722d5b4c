"""The account page's API tokens: make one (its secret shown once, on the answer to the POST, never stored in a
message or a session) and revoke one of your own. The services check and audit."""
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxValueValidator
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from snapshots.errors import AccessDenied, InvalidRequest
from snapshots.models import ApiToken
from snapshots.services import Origin, tokens

from .access import viewer_required


class TokenForm(forms.Form):
    name = forms.CharField(label="What it is for", max_length=100)
    scope = forms.ChoiceField(label="Scope", choices=[("read", "Read: look only"),
                                                      ("operate", "Operate: act as you may")], initial="read")
    days = forms.IntegerField(label="Works for (days)", min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        days = self.fields["days"]
        days.validators.append(MaxValueValidator(settings.CRYO_API_TOKEN_MAX_DAYS))
        days.widget.attrs["max"] = settings.CRYO_API_TOKEN_MAX_DAYS
        days.initial = settings.CRYO_API_TOKEN_DAYS


@never_cache
@require_POST
@viewer_required
def create(request):
    form = TokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Token not made: " + "; ".join(f"{field}: {' '.join(errors)}" for field, errors in
                                                               form.errors.items()))
        return redirect("account")
    try:
        row, token = tokens.create_token(request.user, name=form.cleaned_data["name"], scope=form.cleaned_data["scope"],
                                         days=form.cleaned_data["days"], origin=Origin.web(request))
    except InvalidRequest as exc:
        messages.error(request, f"Token not made: {exc.message}")
        return redirect("account")
    return render(request, "accounts/token_created.html", {"row": row, "token": token}, status=201)


@require_POST
@viewer_required
def revoke(request, pk):
    found = ApiToken.objects.select_related("user").filter(pk=pk).first()
    if found is None:
        messages.error(request, "No such token.")
        return redirect("account")
    try:
        tokens.revoke_token(request.user, found, origin=Origin.web(request))
    except AccessDenied as exc:
        raise PermissionDenied(exc.message) from None
    messages.success(request, f"Token {found.prefix}… ({found.name}) revoked: it no longer works.")
    return redirect("account")
