"""Managing a team's notifications: who may, and the audited changes. A team's members who operate at least one
host (through the team) manage its notifications; admins manage every team's."""
from django.contrib.auth.models import Group
from django.db import transaction

from snapshots.services import access, audit

from .models import TeamEmail, Webhook, new_secret


def can_manage(user, team):
    if access.is_admin(user):
        return True
    if not access.can_view(user):
        return False
    return team.user_set.filter(pk=user.pk).exists() and team.operated_hosts.exists()


def manageable_teams(user):
    teams = Group.objects.exclude(name=access.ADMIN_GROUP).order_by("name")
    if access.is_admin(user):
        return teams
    return teams.filter(user=user, operated_hosts__isnull=False).distinct()


def require_manage(user, team, action, origin):
    if not can_manage(user, team):
        access.deny(user, action, origin, why=f"{audit.actor_name(user)} may not manage the notifications of team "
                                             f"{team.name}: only its operators and admins may")


def _record(actor, action, origin, team, details):
    audit.record(actor=actor, action=action, outcome="succeeded", origin=origin, details={"team": team.name, **details})


def add_webhook(actor, team, *, url, every_job, secret, origin):
    require_manage(actor, team, "notifications.webhook.add", origin)
    with transaction.atomic():
        hook = Webhook(team=team, url=url, every_job=every_job, secret=secret or new_secret(), created_by=actor)
        hook.full_clean()
        hook.save()
        _record(actor, "notifications.webhook.add", origin, team, {"url": url, "every_job": every_job})
    return hook


def delete_webhook(actor, hook, *, origin):
    require_manage(actor, hook.team, "notifications.webhook.delete", origin)
    with transaction.atomic():
        _record(actor, "notifications.webhook.delete", origin, hook.team, {"url": hook.url})
        hook.delete()


def set_email(actor, team, *, active, every_job, recipients, origin):
    require_manage(actor, team, "notifications.email", origin)
    with transaction.atomic():
        row, _ = TeamEmail.objects.update_or_create(
            team=team, defaults={"active": active, "every_job": every_job, "recipients": recipients})
        _record(actor, "notifications.email", origin, team,
                {"active": active, "every_job": every_job, "recipients": recipients})
    return row
