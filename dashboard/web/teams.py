"""A team's notifications: its webhooks with their delivery logs, and its e-mail notices."""
from django.contrib import messages
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from notifications import services
from notifications.models import TeamEmail, Webhook
from snapshots.errors import AccessDenied
from snapshots.services import Origin

from .access import viewer_required
from .team_forms import EmailForm, WebhookForm

DELIVERY_LOG = 50


def _team_for_manager(request, pk, action):
    """The team, if the person may manage its notifications; else 403 (audited as denied for a POST: a GET never
    writes, so a look at a page one may not see is simply refused)."""
    team = get_object_or_404(Group, pk=pk)
    if request.method == "GET":
        if not services.can_manage(request.user, team):
            raise PermissionDenied(f"only the operators of team {team.name} and admins may see its notifications")
        return team
    try:
        services.require_manage(request.user, team, action, Origin.web(request))
    except AccessDenied as exc:
        raise PermissionDenied(exc.message) from None
    return team


@require_GET
@viewer_required
def teams(request):
    return render(request, "teams/list.html", {"teams": services.manageable_teams(request.user)})


def _page(request, team, *, webhook_form=None, email_form=None, status=200):
    email = TeamEmail.objects.filter(team=team).first()
    context = {
        "team": team,
        "webhooks": list(Webhook.objects.filter(team=team).order_by("url")),
        "hosts": list(team.operated_hosts.order_by("name").values_list("name", flat=True)),
        "webhook_form": webhook_form or WebhookForm(),
        "email_form": email_form or EmailForm(initial={
            "active": email.active if email else False, "every_job": email.every_job if email else False,
            "recipients": email.recipients if email else ""}),
        "email": email,
    }
    return render(request, "teams/notifications.html", context, status=status)


@require_GET
@viewer_required
def team(request, pk):
    return _page(request, _team_for_manager(request, pk, "notifications.view"))


@require_POST
@viewer_required
def add_webhook(request, pk):
    team = _team_for_manager(request, pk, "notifications.webhook.add")
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            services.add_webhook(request.user, team, origin=Origin.web(request), **form.cleaned_data)
        except ValidationError as exc:
            form.add_error("url", exc)
        else:
            messages.success(request, f"Webhook added: {form.cleaned_data['url']}")
            return redirect("team", pk=team.pk)
    return _page(request, team, webhook_form=form, status=422)


@require_POST
@viewer_required
def delete_webhook(request, pk, hook):
    team = _team_for_manager(request, pk, "notifications.webhook.delete")
    webhook = get_object_or_404(Webhook, pk=hook, team=team)
    services.delete_webhook(request.user, webhook, origin=Origin.web(request))
    messages.success(request, f"Webhook deleted: {webhook.url}")
    return redirect("team", pk=team.pk)


@require_POST
@viewer_required
def set_email(request, pk):
    team = _team_for_manager(request, pk, "notifications.email")
    form = EmailForm(request.POST)
    if not form.is_valid():
        return _page(request, team, email_form=form, status=422)
    services.set_email(request.user, team, origin=Origin.web(request), **form.cleaned_data)
    messages.success(request, "E-mail notices saved")
    return redirect("team", pk=team.pk)


@require_GET
@viewer_required
def deliveries(request, pk, hook):
    team = _team_for_manager(request, pk, "notifications.view")
    webhook = get_object_or_404(Webhook, pk=hook, team=team)
    log = list(webhook.deliveries.select_related("job", "job__host").order_by("-created_at", "-id")[:DELIVERY_LOG])
    return render(request, "teams/deliveries.html", {"team": team, "webhook": webhook, "deliveries": log,
                                                      "limit": DELIVERY_LOG})
